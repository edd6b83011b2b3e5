"""YAML with the same keys as JSON: same answers (cost, status) for the same draws."""
import json, os, random, sys, yaml
sys.path.insert(0, os.path.dirname(__file__))
from gen import draw
from fuzz import differing, WORK
seed, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
d = f"{WORK}/yaml{seed}"; os.makedirs(d, exist_ok=True)
pj, py = [], []
for i in range(count):
    inst = draw(rng)
    a, b = f"{d}/y{i}.json", f"{d}/y{i}.yaml"
    json.dump(inst, open(a, "w")); yaml.safe_dump(inst, open(b, "w"))
    pj.append(a); py.append(b)
bad = differing(pj, py)
for row in bad:
    print(*row)
print(seed, "yaml vs json differ:", len(bad), "of", count)

"""YAML with the same keys as JSON: same answers (cost, status) for the same draws."""
import json, os, random, sys, yaml
sys.path.insert(0, os.path.dirname(__file__))
from gen import draw
from fuzz import solve, WORK
seed, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
d = f"{WORK}/yaml{seed}"; os.makedirs(d, exist_ok=True)
pj, py = [], []
for i in range(count):
    inst = draw(rng)
    a, b = f"{d}/y{i}.json", f"{d}/y{i}.yaml"
    json.dump(inst, open(a, "w")); yaml.safe_dump(inst, open(b, "w"))
    pj.append(a); py.append(b)
bad = 0
rj, _ = solve(pj, "fa2"); ry, _ = solve(py, "fa2")
for a, x, y in zip(pj, rj, ry):
    kx = (x["status"], x.get("cost"), x.get("objective"), json.dumps(x.get("nodes"), sort_keys=True))
    ky = (y["status"], y.get("cost"), y.get("objective"), json.dumps(y.get("nodes"), sort_keys=True))
    if kx != ky:
        bad += 1; print(a, kx[:3], ky[:3], y.get("message", "")[:200])
print(seed, "yaml vs json differ:", bad, "of", count)

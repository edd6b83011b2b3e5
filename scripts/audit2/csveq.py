"""Profiles as CSV files (relative paths, variant/accuracy columns with empty cells) vs inline
configs: same answers."""
import copy, json, os, random, sys
sys.path.insert(0, os.path.dirname(__file__))
from gen import draw
from fuzz import differing, WORK
seed, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
d = f"{WORK}/csv{seed}"; os.makedirs(f"{d}/prof", exist_ok=True)
pj, pc = [], []
for i in range(count):
    inst = draw(rng)
    c = copy.deepcopy(inst)
    for nd in c["nodes"]:
        rows = nd.pop("configs")
        cols = ["batch", "hardware", "units", "latency_ms"]
        if any("variant" in r for r in rows) or rng.random() < 0.3:
            cols.append("variant")
        if any("accuracy" in r for r in rows) or rng.random() < 0.3:
            if "variant" not in cols:
                cols.append("variant")
            cols.append("accuracy")
        rng.shuffle(cols) if rng.random() < 0.3 else None
        name = f"prof/p{i}_{nd['name']}.csv"
        with open(f"{d}/{name}", "w") as fh:
            fh.write(",".join(cols) + "\n")
            for r in rows:
                fh.write(",".join("" if r.get(k) is None else repr(r[k]) if isinstance(r[k], float) else str(r[k]) for k in cols) + "\n")
        nd["profile"] = name
    a, b = f"{d}/c{i}.json", f"{d}/c{i}_csv.json"
    json.dump(inst, open(a, "w")); json.dump(c, open(b, "w"))
    pj.append(a); pc.append(b)
bad = differing(pj, pc)
for row in bad:
    print(*row)
print(seed, "csv vs inline differ:", len(bad), "of", count)

"""Compares two experiment folders (results.jsonl) arm by arm and seed by seed: status, test accuracy and macro-F1, every round's test accuracy, tokens used, and the final rows (count and a hash of id, text, text_pair, label). Usage: python3 scripts/dev/experiment_diff.py RUNS_A/<experimentId> RUNS_B/<experimentId>"""
import json, sys, hashlib, pathlib
def load(root):
    out = {}
    for line in open(pathlib.Path(root) / "results.jsonl"):
        r = json.loads(line)
        key = (r["arm"], r["seed"])
        ds = r.get("dataset") or {}
        p = ds.get("path") or (ds.get("uri", "").replace("file://", ""))
        rows = [json.loads(l) for l in open(p)] if p and pathlib.Path(p).exists() else []
        h = hashlib.sha256(json.dumps([(x["id"], x["text"], x.get("text_pair"), x["label"]) for x in rows]).encode()).hexdigest()[:12]
        out[key] = dict(status=r["status"], test=r.get("test", {}).get("accuracy"), f1=r.get("test", {}).get("macroF1"),
                        rounds=[ro["test"]["accuracy"] for ro in r.get("rounds", [])], tokens=r.get("used", {}).get("tokens"),
                        rows=len(rows), rowsHash=h)
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
same = diff = 0
for k in sorted(set(a) | set(b)):
    x, y = a.get(k), b.get(k)
    eq = x == y
    same += eq; diff += (not eq)
    print(("SAME " if eq else "DIFF ") + f"{k[0]:20s} seed {k[1]}: " + (f"test {x['test']:.3f} rows {x['rows']} {x['rowsHash']}" if eq else f"\n   A {x}\n   B {y}"))
print(f"{same} identical, {diff} different")

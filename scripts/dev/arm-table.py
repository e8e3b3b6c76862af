"""Per-arm table of an experiment from its arm results (JSON files of ArmResult, or
`temporal workflow show --output json` dumps of the synthesisArm children).

Usage: python3 scripts/dev/arm-table.py <dir with <arm>-<seed>.json> [reference arm]
Prints mean ± sample std of test accuracy / macro-F1 (extractive QA: EM / F1) / label agreement over seeds, the paired
difference of test accuracy against the reference arm with a 95% paired t interval
(t quantiles for df 1..9 hard-coded from the t table), calls paid/reused, and per-round picks
per class. Development aid for docs/results; the product's report is activities/report.
"""

import base64
import glob
import json
import os
import statistics
import sys

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def load(path):
    d = json.load(open(path))
    if "events" in d:
        attrs = d["events"][-1]["workflowExecutionCompletedEventAttributes"]
        return json.loads(base64.b64decode(attrs["result"]["payloads"][0]["data"]))
    return d


def ms(xs):
    if len(xs) == 1:
        return f"{100 * xs[0]:.1f}%"
    return f"{100 * statistics.mean(xs):.1f} ± {100 * statistics.stdev(xs):.1f}%"


def main():
    folder = sys.argv[1]
    ref = sys.argv[2] if len(sys.argv) > 2 else "s3"
    arms = {}
    for p in sorted(glob.glob(os.path.join(folder, "*.json"))):
        r = load(p)
        arms.setdefault(r["arm"], {})[r["seed"]] = r
    # extractive QA results carry exactMatch / f1: accuracy is EM, macroF1 is F1, there are no classes
    qa = any("exactMatch" in r["test"] for a in arms.values() for r in a.values())
    acc_name, f1_name = ("test EM", "test F1") if qa else ("test acc", "macro-F1")
    print(f"| arm | n | {acc_name} | {f1_name} | Δ {acc_name.split()[1]} vs", ref, "[95% paired t] | label agreement | calls paid/reused |")
    print("|---|---|---|---|---|---|---|")
    order = sorted(arms, key=lambda a: -statistics.mean(r["test"]["accuracy"] for r in arms[a].values()))
    for a in order:
        rs = arms[a]
        seeds = sorted(rs)
        acc = [rs[s]["test"]["accuracy"] for s in seeds]
        f1 = [rs[s]["test"]["macroF1"] for s in seeds]
        agr = [rs[s]["labelAgreement"]["overall"]["rate"] for s in seeds if rs[s].get("labelAgreement")]
        common = [s for s in seeds if s in arms.get(ref, {})]
        if a == ref:
            delta = "reference"
        elif len(common) >= 2:
            ds = [rs[s]["test"]["accuracy"] - arms[ref][s]["test"]["accuracy"] for s in common]
            m, sd = statistics.mean(ds), statistics.stdev(ds)
            h = T975[len(ds) - 1] * sd / len(ds) ** 0.5
            delta = f"{100 * m:+.1f} pp [{100 * (m - h):+.1f}, {100 * (m + h):+.1f}]"
        else:
            delta = "n/a"
        paid = sum(rs[s]["used"]["paidCalls"] for s in seeds)
        reused = sum(rs[s]["used"]["reusedCalls"] for s in seeds)
        print(f"| {a} | {len(seeds)} | {ms(acc)} | {ms(f1)} | {delta} | {ms(agr) if agr else '—'} | {paid}/{reused} |")
    print()
    print(f"Per seed: {acc_name} / {f1_name}" + ("" if qa else " / agreement by origin / final label counts / picks per class per round"))
    for a in order:
        for s in sorted(arms[a]):
            r = arms[a][s]
            la = r.get("labelAgreement") or {}
            orig = {k: f"{v['agree']}/{v['count']}" for k, v in (la.get("byOrigin") or {}).items()}
            picks = [rd.get("acquisition", {}).get("byClass") for rd in r.get("rounds", []) if rd.get("acquisition")]
            counts = (r.get("dataset") or {}).get("labelCounts")
            acc, f1 = 100 * r["test"]["accuracy"], 100 * r["test"]["macroF1"]
            if qa:  # answers are not classes: no label counts, agreement or picks per class
                print(f"- {a} seed {s}: {acc:.1f} / {f1:.1f}")
                continue
            print(f"- {a} seed {s}: {acc:.1f} / {f1:.1f}; agree {orig}; labels {counts}; picks {picks}")


main()

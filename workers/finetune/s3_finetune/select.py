"""Scores and the rows handed to extrapolation, as activities/student.ts computes them.

- score_split: domain/metrics.ts scoreSplit (accuracy, macro-F1 over all labels with F1 = 0 for a
  class never gold nor predicted, as scikit-learn's default);
- rows: S3 Alg. 2 line 6 (acquisition "misclassified": the misclassified gold validation
  examples; under a cap a seeded uniform sample of them, handed over in pool order), "loss"
  (highest loss first), and GoldGen (select.all: every example; under a cap a seeded uniform
  sample). S3's sample is drawn with rng.py (domain/rng.ts ported: the TypeScript student's
  sample); GoldGen's with Python's random.Random (same distribution, other draws than TS).
- synthesis.classCap (acquisition/classCap.ts): "balanced" / "prior" per-class quotas on the picks.
Ties: score descending, then id ascending, then pool index (acquisition/types.ts byScoreThenId).
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

from .rng import Rng

PROB_FLOOR = 1e-12


def argmax(row: list[float]) -> int:
    """First index of the largest entry (domain/metrics.ts argmax)."""
    best = 0
    for i in range(1, len(row)):
        if row[i] > row[best]:
            best = i
    return best


def cross_entropy(p: list[float], y: int) -> float:
    """-ln max(p[y], 1e-12), nats (acquisition/types.ts crossEntropy)."""
    return -math.log(max(p[y], PROB_FLOOR))


def score_split(gold: list[str], pred: list[str], labels: list[str]) -> dict[str, Any]:
    """SplitMetrics {count, accuracy, macroF1, misclassified}. @raises ValueError on an empty split."""
    if len(gold) != len(pred):
        raise ValueError(f"score_split: {len(gold)} gold vs {len(pred)} predictions")
    if not gold:
        raise ValueError("score_split: empty split")
    tp: dict[str, int] = {}
    fp: dict[str, int] = {}
    fn: dict[str, int] = {}
    correct = 0
    for g, p in zip(gold, pred, strict=True):
        if g == p:
            correct += 1
            tp[g] = tp.get(g, 0) + 1
        else:
            fp[p] = fp.get(p, 0) + 1
            fn[g] = fn.get(g, 0) + 1
    f1 = 0.0
    for label in labels:
        t = tp.get(label, 0)
        denom = 2 * t + fp.get(label, 0) + fn.get(label, 0)
        f1 += 0 if denom == 0 else 2 * t / denom
    return {
        "count": len(gold),
        "accuracy": correct / len(gold),
        "macroF1": f1 / len(labels),
        "misclassified": len(gold) - correct,
    }


def _top(ids: list[str], scores: list[float | None], batch: int) -> list[dict[str, Any]]:
    picks = [{"index": i, "id": ids[i], "score": s} for i, s in enumerate(scores) if s is not None]
    # score descending, then id ascending (UTF-16 order; equal to code points for the BMP), then index
    picks.sort(key=lambda p: (-p["score"], p["id"], p["index"]))
    return picks[: max(0, batch)]


def summary(picks: list[dict[str, Any]]) -> dict[str, float] | None:
    """acquisition/summary.ts scoreSummary: count, min, median, max of the picked scores."""
    if not picks:
        return None
    s = [p["score"] for p in picks]
    return {"count": len(s), "min": min(s), "median": statistics.median(s), "max": max(s)}


def pick(
    name: str, ids: list[str], probs: list[list[float]], labels: list[int], batch: int, seed: int = 0
) -> list[dict[str, Any]]:
    """acquisition/misclassified.ts and loss.ts: picks {index, id, score} in pick order.

    misclassified: a seeded uniform sample of the misclassified items (ids sorted, then
    Rng(seed, "misclassified") shuffles them, the port of domain/rng.ts, so the sample is the
    TypeScript side's; the first B kept), score = loss; loss: highest loss first."""
    if name == "misclassified":
        wrong = sorted(
            (i for i, (p, y) in enumerate(zip(probs, labels, strict=True)) if argmax(p) != y),
            key=lambda i: (ids[i], i),
        )
        order = Rng(seed, "misclassified").sample(wrong, max(0, batch))
        return [{"index": i, "id": ids[i], "score": cross_entropy(probs[i], labels[i])} for i in order]
    if name == "loss":
        scores = [cross_entropy(p, y) for p, y in zip(probs, labels, strict=True)]
    else:
        raise ValueError(f"acquisition {name!r} is not computed by the finetune worker")
    return _top(ids, scores, batch)


def class_quotas(rule: str, batch: int, prior: list[float]) -> list[int]:
    """acquisition/classCap.ts classQuotas: the most picks each class may take in a batch of B."""
    k = len(prior)
    b = max(0, batch)
    if rule == "none":
        return [b] * k
    if rule == "balanced":
        return [math.ceil(b / k)] * k
    total = sum(prior)
    shares = [p / total for p in prior] if total > 0 else [1 / k] * k
    return [math.ceil(round(b * s * 1e9) / 1e9) for s in shares]


def take_within_quotas(
    ranked: list[dict[str, Any]], classes: list[int], batch: int, quotas: list[int]
) -> list[dict[str, Any]]:
    """acquisition/classCap.ts takeWithinQuotas: picks in ranked order, a class skipped once at its quota."""
    used = [0] * len(quotas)
    out: list[dict[str, Any]] = []
    for p in ranked:
        if len(out) >= batch:
            break
        c = classes[p["index"]]
        if used[c] >= quotas[c]:
            continue
        used[c] += 1
        out.append(p)
    return out


def rows_for(
    *,
    name: str,
    validation: list[dict[str, Any]],
    probs: list[list[float]],
    labels: list[str],
    cap: int | None,
    select_all: bool,
    seed: int,
    round_: int,
    class_cap: str = "none",
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The MisclassifiedRow list of round-<q>/picked.jsonl and the AcquisitionRecord
    (None for GoldGen), as activities/student.ts builds them for pool "gold-validation"."""
    gold = [labels.index(x["label"]) for x in validation]

    def example(x: dict[str, Any]) -> dict[str, Any]:
        keys = ("id", "text", "text_pair", "label", "truncatedFrom")
        return {k: x[k] for k in keys if k in x}

    def row(i: int) -> dict[str, Any]:
        return {
            "index": i,
            "loss": cross_entropy(probs[i], gold[i]),
            "predicted": labels[argmax(probs[i])],
            "example": example(validation[i]),
        }

    if select_all:
        idx = list(range(len(validation)))
        if cap is not None and len(idx) > cap:
            idx = sorted(random.Random(f"goldgen-{seed}-{round_}").sample(idx, cap))
        return [row(i) for i in idx], None
    ids = [x["id"] for x in validation]
    wrong = sum(1 for p, y in zip(probs, gold, strict=True) if argmax(p) != y)
    batch = min(len(ids), cap if cap is not None else (len(ids) if name == "misclassified" else wrong))
    pick_seed = seed * 1000 + round_
    if class_cap == "none":
        picks = pick(name, ids, probs, gold, batch, pick_seed)
    else:
        prior = [float(sum(1 for g in gold if g == k)) for k in range(len(labels))]
        ranked = pick(name, ids, probs, gold, len(ids), pick_seed)
        picks = take_within_quotas(ranked, gold, batch, class_quotas(class_cap, batch, prior))
    ordered = sorted(picks, key=lambda p: p["index"]) if name == "misclassified" else picks
    rows = [{**row(p["index"]), "acquisition": name, "score": p["score"], "pool": "gold-validation"} for p in ordered]
    by_class = {label: 0 for label in labels}
    for p in picks:
        by_class[labels[gold[p["index"]]]] += 1
    record: dict[str, Any] = {
        "name": name,
        "pool": "gold-validation",
        "candidates": len(ids),
        "picked": summary(picks),
        "byClass": by_class,
    }
    if class_cap != "none":
        record["classCap"] = class_cap
    return rows, record

"""SQuAD v1.1 Exact Match and F1, as the official evaluate-v1.1.py computes them, and the span check
of SQuAD-style rows. domain/squad.ts is the same in TypeScript; both are checked against the shared
fixtures tests/fixtures/student-contract/squad-metrics.json and qa-spans.json.

- normalize_answer: lower-case, drop string.punctuation, replace the words a / an / the by a space
  (re's Unicode word boundaries), collapse whitespace (str.split()).
- EM: normalised prediction == a normalised gold answer; F1: token-level F1 of the normalised
  whitespace tokens; each the maximum over the question's gold answers.
- score_qa averages over questions as fractions in [0, 1] (the official script prints percentages).
- answer_start counts code points (Python string indices), as Hugging Face datasets do.

Pure: no torch, no Temporal.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .rng import Rng

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalize_answer: lower-case, no punctuation, no articles, single spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def exact_match(prediction: str, gold: str) -> bool:
    """SQuAD v1.1 exact_match_score of one prediction against one gold answer."""
    return normalize_answer(prediction) == normalize_answer(gold)


def f1_score(prediction: str, gold: str) -> float:
    """SQuAD v1.1 f1_score: token F1 in [0, 1] (0 when no token is shared)."""
    p = normalize_answer(prediction).split()
    g = normalize_answer(gold).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0.0
    precision = same / len(p)
    recall = same / len(g)
    return (2 * precision * recall) / (precision + recall)


def qa_score(prediction: str, golds: Sequence[str]) -> tuple[int, float]:
    """(EM in {0, 1}, F1) of one question: the maximum over its gold answers.
    @raises ValueError when golds is empty."""
    if not golds:
        raise ValueError("qa_score: a question needs at least one gold answer")
    em = int(any(exact_match(prediction, g) for g in golds))
    return em, max(f1_score(prediction, g) for g in golds)


def score_qa(predictions: Sequence[str], golds: Sequence[Sequence[str]]) -> dict[str, Any]:
    """{count, exactMatch, f1, wrong}: means over questions in [0, 1]; wrong counts EM = 0 questions.
    @raises ValueError when the lengths differ or there is no question."""
    if len(predictions) != len(golds):
        raise ValueError(f"score_qa: {len(predictions)} predictions vs {len(golds)} questions")
    if not predictions:
        raise ValueError("score_qa: empty split")
    scores = [qa_score(p, g) for p, g in zip(predictions, golds, strict=True)]
    n = len(scores)
    em = sum(s[0] for s in scores)
    return {"count": n, "exactMatch": em / n, "f1": sum(s[1] for s in scores) / n, "wrong": n - em}


def _quote(s: str, limit: int = 60) -> str:
    return json.dumps(s[:limit] + "…" if len(s) > limit else s, ensure_ascii=False)


def span_problem(row: dict[str, Any], i: int) -> str | None:
    """Why answer i of a row is not its context's span at answer_start, else None (domain/squad.ts
    spanProblem, the same message)."""
    text, start, context = row["answers"]["text"][i], row["answers"]["answer_start"][i], row["context"]
    if start + len(text) > len(context):
        return (
            f"id {_quote(row['id'])}: answer {_quote(text)} at answer_start {start} runs past the end of its "
            f"context ({len(context)} characters)"
        )
    found = context[start : start + len(text)]
    if found == text:
        return None
    at: list[int] = []
    j = context.find(text)
    while j >= 0 and len(at) < 4:
        at.append(j)
        j = context.find(text, j + 1)
    if at:
        where = f"; the answer occurs at {', '.join(map(str, at[:3]))}{', …' if len(at) > 3 else ''}"
    else:
        where = "; the answer does not occur in the context"
    return (
        f"id {_quote(row['id'])}: answer {_quote(text)} is not the context at answer_start {start}: "
        f"the context has {_quote(found)} there{where}"
    )


def check_qa_row(row: Any) -> list[str]:
    """The problems of one SQuAD-style row ({id, context, question, answers: {text[], answer_start[]}}):
    missing or mistyped fields, as many texts as offsets, and every answer the span of its context at
    its answer_start (span_problem). [] when the row is good. The messages of the span checks are
    those of domain/squad.ts QaRowSchema."""
    if not isinstance(row, dict):
        return ["a QA row is a JSON object"]
    problems = [
        f"{k}: a non-empty string is required"
        for k in ("id", "context", "question")
        if not isinstance(row.get(k), str) or not row.get(k)
    ]
    answers = row.get("answers")
    if not isinstance(answers, dict):
        return [*problems, "answers: an object {text: string[], answer_start: int[]} is required"]
    texts, starts = answers.get("text"), answers.get("answer_start")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        problems.append("answers.text: a non-empty list of non-empty strings is required")
    if (
        not isinstance(starts, list)
        or not starts
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in starts)
    ):
        problems.append("answers.answer_start: a non-empty list of integers >= 0 is required")
    if problems:
        return problems
    if len(texts) != len(starts):
        return [f"id {_quote(row['id'])}: {len(texts)} answer texts but {len(starts)} answer_start offsets"]
    return [p for p in (span_problem(row, i) for i in range(len(texts))) if p is not None]


def split_by_context(
    rows: Sequence[dict[str, Any]], seed: int, shares: dict[str, float], stream: str = "qa-context-split"
) -> dict[str, list[dict[str, Any]]]:
    """data/qa.ts splitByContext in Python, the same split for the same (rows, seed, shares, stream): the
    distinct contexts shuffled by rng.Rng (domain/rng.ts ported), each in turn with all its questions
    to the split furthest below its target question count (ties: the split named first).
    @raises ValueError when a share is negative or not finite, or all are 0."""
    for k, v in shares.items():
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"split_by_context: share {k} must be a finite number >= 0, got {v}")
    total = sum(shares.values())
    if not total > 0:
        raise ValueError("split_by_context: the shares are all 0")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["context"], []).append(r)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in shares}
    names = list(shares)

    def deficit(k: str) -> float:
        return (shares[k] / total) * len(rows) - len(out[k])

    for g in Rng(seed, stream).shuffle(list(groups.values())):
        best = names[0]
        for k in names:
            if deficit(k) > deficit(best):
                best = k
        out[best].extend(g)
    return out

"""SQuAD v1.1 EM / F1 and the span check of QA rows (s3_finetune/squad.py) against the shared fixtures
tests/fixtures/student-contract/squad-metrics.json and qa-spans.json, which domain/squad.ts checks too
(tests/unit/squad.test.ts)."""

import pytest

from s3_finetune.squad import (
    check_qa_row,
    exact_match,
    f1_score,
    normalize_answer,
    qa_score,
    score_qa,
    split_by_context,
)

from .conftest import load_fixture


def test_every_case_of_the_shared_metrics_fixture():
    fx = load_fixture("squad-metrics.json")
    assert len(fx["cases"]) >= 20
    for c in fx["cases"]:
        em, f1 = qa_score(c["prediction"], c["golds"])
        assert em == c["exactMatch"], c["why"]
        assert f1 == pytest.approx(c["f1"], abs=1e-12), c["why"]


def test_mean_over_questions_as_fractions():
    fx = load_fixture("squad-metrics.json")
    got = score_qa([c["prediction"] for c in fx["cases"]], [c["golds"] for c in fx["cases"]])
    want = fx["total"]
    assert (got["count"], got["wrong"]) == (want["count"], want["wrong"])
    assert got["exactMatch"] == pytest.approx(want["exactMatch"], abs=1e-12)
    assert got["f1"] == pytest.approx(want["f1"], abs=1e-12)


def test_normalisation_and_errors():
    assert normalize_answer('  The  "Town" Moor, an area!\t') == "town moor area"
    assert exact_match("the", "an") and f1_score("the", "an") == 0.0
    with pytest.raises(ValueError):
        qa_score("x", [])
    with pytest.raises(ValueError):
        score_qa([], [])


def test_span_problems_of_the_shared_fixture():
    fx = load_fixture("qa-spans.json")
    for c in fx["cases"]:
        assert check_qa_row(c["row"]) == c["problems"], c["why"]


def test_row_shape_problems():
    assert check_qa_row([]) == ["a QA row is a JSON object"]
    bad = check_qa_row({"id": "q", "context": "abc", "question": "", "answers": {"text": [], "answer_start": [True]}})
    assert bad == [
        "question: a non-empty string is required",
        "answers.text: a non-empty list of non-empty strings is required",
        "answers.answer_start: a non-empty list of integers >= 0 is required",
    ]


def test_split_by_context_equals_the_typescript_split():
    fx = load_fixture("qa-split.json")
    for c in fx["cases"]:
        got = split_by_context(fx["rows"], c["seed"], c["shares"])
        assert {k: [r["id"] for r in v] for k, v in got.items()} == c["expected"], c
    with pytest.raises(ValueError):
        split_by_context(fx["rows"], 1, {"a": 0})

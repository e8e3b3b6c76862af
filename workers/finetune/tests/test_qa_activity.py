"""trainAndEvaluate for task.kind "qa" (qa_activity.py) on a tiny random BERT: two steps through
evaluate(), the Evaluation shape against the contract, EM / F1 as the split metrics, the picks of each
acquisition function."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from s3_finetune.activity import evaluate
from s3_finetune.contract import write_jsonl
from s3_finetune.qa_activity import qa_picks
from s3_finetune.store import folder_uri

from .conftest import load_fixture
from .test_contract import schema
from .test_qa import place_rows, qa_model  # noqa: F401 (the fixture)


def example(r: dict) -> dict:
    """A QA row as the TypeScript side writes it (tasks/qa.ts)."""
    return {
        "id": r["id"],
        "text": r["context"],
        "text_pair": r["question"],
        "label": r["answers"]["text"][0],
        "answers": r["answers"],
    }


@pytest.fixture
def qa_payload(tmp_path, qa_model):  # noqa: F811
    p = copy.deepcopy(load_fixture("train-input.json"))
    run = str(tmp_path / "run")
    label_of = lambda r: r["label"]  # noqa: E731
    rows = [example(r) for r in place_rows(16)]
    p["config"]["task"] = {**p["config"]["task"], "kind": "qa", "labels": ["answer"], "labelWords": {}}
    p["config"]["student"]["finetune"]["model"] = qa_model
    p["config"]["student"]["finetune"]["maxLength"] = 64
    p["task"]["runDir"] = run
    p["task"]["runUri"] = folder_uri(run)
    p["task"]["validation"] = write_jsonl(f"{run}/gold/validation.jsonl", rows[:6], label_of)
    p["task"]["test"] = write_jsonl(f"{run}/gold/test.jsonl", rows[6:10], label_of)
    p["task"]["contexts"] = None
    p["train"] = [write_jsonl(f"{run}/synthetic/seed.jsonl", rows[10:], label_of)]
    return p


def test_two_steps_give_an_evaluation_with_em_and_f1(qa_payload):
    out = evaluate(qa_payload, max_steps=2)
    jsonschema.validate(out, schema("evaluation"))
    assert out["fit"]["iterations"] == 2 and out["trainSize"] == 6
    # the windows one epoch trains on (one per short context here), for s per epoch per 1,000 features
    assert out["fit"]["finetune"]["trainFeatures"] == out["fit"]["features"] >= 6
    for split, n in (("validation", 6), ("test", 4)):
        m = out[split]
        assert m["count"] == n and m["accuracy"] == m["exactMatch"] and m["macroF1"] == m["f1"]
        assert m["misclassified"] == round(n * (1 - m["exactMatch"]))
    with open(out["misclassified"]["path"]) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    assert len(rows) == min(out["validation"]["misclassified"], 3)  # synthesis.maxPerRound 3
    for r in rows:
        jsonschema.validate(r, schema("misclassified-row"))
        assert r["acquisition"] == "misclassified" and r["example"]["answers"]["text"] == [r["example"]["label"]]


def test_acquisition_functions_of_span_predictions():
    preds = [
        {"id": "a", "exactMatch": 0, "loss": 1.0, "confidence": 0.9},
        {"id": "b", "exactMatch": 1, "loss": 3.0, "confidence": 0.2},
        {"id": "c", "exactMatch": 0, "loss": 2.0, "confidence": 0.5},
    ]
    assert [p["id"] for p in qa_picks("loss", preds, 2, 0)] == ["b", "c"]
    assert [p["id"] for p in qa_picks("least-confidence", preds, 2, 0)] == ["b", "c"]
    mis = qa_picks("misclassified", preds, 5, 0)
    assert sorted(p["id"] for p in mis) == ["a", "c"] and {p["score"] for p in mis} == {1.0, 2.0}
    # synthesis.qaMisclassifiedBelowF1: F1 below the threshold counts as wrong (EM 1 has F1 1)
    f1s = [{**p, "f1": f} for p, f in zip(preds, (0.6, 1.0, 0.2), strict=True)]
    assert sorted(p["id"] for p in qa_picks("misclassified", f1s, 5, 0, below_f1=0.5)) == ["c"]
    assert sorted(p["id"] for p in qa_picks("misclassified", f1s, 5, 0, below_f1=0.7)) == ["a", "c"]
    assert len(qa_picks("random", preds, 2, 7)) == 2
    assert qa_picks("random", preds, 2, 7) == qa_picks("random", preds, 2, 7)

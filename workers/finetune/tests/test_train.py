"""The finetune student on a tiny randomly initialised BERT (CPU, no download): two steps, the
Evaluation shape (checked against the contract's JSON Schema), determinism, cancellation, and
ONNX parity of the exported model."""

import asyncio
import json
import os

import jsonschema
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from s3_finetune.activity import evaluate, train_and_evaluate
from s3_finetune.contract import hyper_of, read_jsonl
from s3_finetune.export import export_onnx, onnx_proba
from s3_finetune.train import Cancelled, predict_proba, train

from .test_contract import schema


def test_two_steps_give_an_evaluation_of_the_contract_shape(payload):
    beats = []
    out = evaluate(payload, progress=beats.append, max_steps=2)
    jsonschema.validate(out, schema("evaluation"))
    assert out["fit"]["iterations"] == 2
    assert out["fit"]["finetune"]["trainFeatures"] == 16  # one window per example
    assert out["trainSize"] == 16 and out["validation"]["count"] == 12 and out["test"]["count"] == 10
    rows = read_jsonl_rows(out["misclassified"]["path"])
    assert len(rows) == min(out["validation"]["misclassified"], 3)  # synthesis.maxPerRound 3
    for r in rows:
        jsonschema.validate(r, schema("misclassified-row"))
        assert r["acquisition"] == "misclassified" and r["loss"] > 0
    steps = [b["step"] for b in beats if "step" in b]
    assert steps and max(steps) == 2
    assert os.path.exists(os.path.join(out["fit"]["finetune"]["exported"], "onnx", "model.onnx"))


def read_jsonl_rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_same_inputs_and_seed_give_the_same_metrics(payload):
    payload["config"]["student"]["finetune"]["export"] = False
    a = evaluate(payload, max_steps=4)
    b = evaluate(payload, max_steps=4)
    keys = ("validation", "test", "trainSize")
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    assert a["fit"]["loss"] == b["fit"]["loss"]
    assert read_jsonl_rows(a["misclassified"]["path"]) == read_jsonl_rows(b["misclassified"]["path"])


def test_cancellation_stops_at_the_next_step(payload):
    beats = []
    with pytest.raises(Cancelled):
        evaluate(payload, progress=beats.append, should_stop=lambda: any(b.get("step", 0) >= 1 for b in beats))
    assert max(b.get("step", 0) for b in beats) == 1


def test_onnx_and_pytorch_probabilities_agree(payload, tmp_path):
    hyper = hyper_of(payload["config"])
    labels = payload["config"]["task"]["labels"]
    rows = read_jsonl(payload["train"][0]["path"])
    test = read_jsonl(payload["task"]["test"]["path"])
    res = train(
        hyper,
        labels,
        rows,
        read_jsonl(payload["task"]["validation"]["path"]),
        workdir=str(tmp_path / "w"),
        fingerprint="x",
        max_steps=3,
    )
    folder = export_onnx(res.model, res.tokenizer, str(tmp_path / "student"), test[:2])
    # padded batches of different lengths, pairs and single texts
    inputs = test + [{"text": r["text"]} for r in test[:4]]
    pt = predict_proba(res.model, res.tokenizer, test, hyper) + predict_proba(
        res.model, res.tokenizer, inputs[10:], hyper
    )
    ox = list(onnx_proba(folder, res.tokenizer, test, hyper.max_length, hyper.max_chars)) + list(
        onnx_proba(folder, res.tokenizer, inputs[10:], hyper.max_length, hyper.max_chars)
    )
    diff = max(abs(a - b) for pr, orow in zip(pt, ox, strict=True) for a, b in zip(pr, orow, strict=True))
    print(f"ONNX vs PyTorch: max abs difference of probabilities {diff:.2e} over {len(pt)} inputs")
    assert diff < 1e-4


@pytest.mark.parametrize(
    "change, message",
    [
        ({"acquisition": "badge"}, "not computed by the finetune student"),
        ({"pool": "synthetic"}, "gold-validation pool only"),
        ({"candidatesPerPick": 2}, "candidatesPerPick"),
        ({"validationHoldout": 0.2}, "validationHoldout"),
    ],
)
def test_unsupported_settings_fail_as_non_retryable_invalid_input(payload, change, message):
    payload["config"]["synthesis"].update(change)
    with pytest.raises(ApplicationError) as e:
        asyncio.run(ActivityEnvironment().run(train_and_evaluate, payload))
    assert e.value.type == "InvalidInput" and e.value.non_retryable and message in str(e.value)


def test_a_missing_model_folder_is_invalid_input(payload, tmp_path):
    payload["config"]["student"]["finetune"]["model"] = str(tmp_path / "nothing-here")
    with pytest.raises(ApplicationError) as e:
        asyncio.run(ActivityEnvironment().run(train_and_evaluate, payload))
    assert e.value.type == "InvalidInput" and e.value.non_retryable and "S3_FINETUNE=1" in str(e.value)


def test_temporal_cancellation_stops_training_at_the_next_step(payload, monkeypatch):
    payload["config"]["student"]["finetune"].update(epochs=50, heartbeatSteps=1)
    # >= 10 s for the 200 steps on any machine, heartbeats every 0.05 s: the cancel lands mid-training
    monkeypatch.setattr("s3_finetune.train.STEP_DELAY_S", 0.05)
    monkeypatch.setattr("s3_finetune.activity.HEARTBEAT_EVERY_S", 0.05)
    env = ActivityEnvironment()
    seen = []

    def on_heartbeat(*details):
        seen.append(details[0])
        if details[0].get("step", 0) >= 1:
            env.cancel()

    env.on_heartbeat = on_heartbeat
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(env.run(train_and_evaluate, payload))
    steps = [d.get("step", 0) for d in seen]
    assert 1 <= max(steps) < 50 * 4, steps  # stopped long before the 200 steps of 50 epochs

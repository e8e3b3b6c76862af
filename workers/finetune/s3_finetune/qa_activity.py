"""trainAndEvaluate for extractive QA (task.kind "qa", tasks/qa.ts): the span student of qa.py trained on
the synthetic questions and scored on gold validation and test with SQuAD EM / F1.

Rows arrive as the TypeScript side's Examples (text = context, text_pair = question, label = the first
answer, answers = every gold span) and are read back into SQuAD rows here.
- Metrics: each split's {count, accuracy, macroF1, misclassified} holds EM, F1 and the EM-0 count, with
  exactMatch and f1 besides, so the classification shape stays as it is.
- Picks (round-<q>/picked.jsonl, PickedRow): "misclassified" = the gold validation questions with
  EM 0 (S3's appendix; with synthesis.qaMisclassifiedBelowF1, those with an F1 below it), a seeded
  sample as select.pick draws it, score = loss; "loss" = highest -log p(start) - log p(end) of the gold
  span first; "least-confidence" = highest 1 - p(start) p(end) of the predicted span first; "random" =
  a seeded sample. GoldGen (select.all) takes every question.
- Durable as the classifier (activity.py): checkpoints in round-<q>/finetune/ (checkpoint.py), their
  path in the heartbeat details; a retried attempt resumes from the last one (resume_from) when its
  fingerprint (training and validation refs, hyper-parameters, windows) is the same, and
  fit.finetune.resumedFromStep says from which step.
- Export (student.finetune.export): the kept model to ONNX in the run's student/ folder (export.py,
  outputs start_logits and end_logits), with s3-student.json {task: "qa", maxLength, docStride,
  maxAnswerLength, nBest, questionMaxTokens, round}: what `s3 predict` (scripts/predict.ts) windows and
  decodes with, as here.
"""

from __future__ import annotations

import random
import shutil
import time
from typing import Any

from . import contract
from .contract import InvalidInput, hyper_of
from .qa import QaSettings, metrics_of, predict_qa, train_qa
from .rng import Rng
from .select import summary

# acquisition functions of span predictions (config/schema.ts FINETUNE_QA_ACQUISITIONS)
QA_ACQUISITIONS = ("misclassified", "loss", "least-confidence", "random")


def qa_row(x: dict[str, Any]) -> dict[str, Any]:
    """The SQuAD row of an Example of a QA task."""
    answers = x.get("answers") or {"text": [x["label"]], "answer_start": [max(0, x["text"].find(x["label"]))]}
    return {"id": x["id"], "context": x["text"], "question": x.get("text_pair", ""), "answers": answers}


def question_clipper(model_dir: str, max_tokens: int):
    """A function that cuts a row's question to its first max_tokens tokens (by characters, at a token end)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, use_fast=True)

    def clip(row: dict[str, Any]) -> dict[str, Any]:
        q = row["question"].lstrip()
        enc = tokenizer(q, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if len(offsets) <= max_tokens:
            return row
        return {**row, "question": q[: offsets[max_tokens - 1][1]]}

    return clip


def export_qa(
    model,
    tokenizer,
    out: str,
    settings: QaSettings,
    question_max_tokens: int,
    sample: list[dict[str, Any]],
    round_: int = 0,
) -> str:
    """Exports the span student to ONNX in `out` (export.py, outputs start_logits and end_logits) with
    s3-student.json {task: "qa", maxLength, docStride, maxAnswerLength, nBest (tokens / candidates),
    questionMaxTokens, round}: what scripts/predictQa.ts windows and decodes with.
    @param sample SQuAD rows whose (question, context) trace the model
    @returns out"""
    from .export import OUTPUTS_QA, export_onnx

    meta = {
        "task": "qa",
        "maxLength": settings.max_length,
        "docStride": settings.doc_stride,
        "maxAnswerLength": settings.max_answer_length,
        "nBest": settings.n_best,
        "questionMaxTokens": question_max_tokens,
        "round": round_,
    }
    pairs = [{"text": r["question"], "text_pair": r["context"]} for r in sample]
    return export_onnx(model, tokenizer, out, pairs, meta, OUTPUTS_QA)


def split_metrics(predictions: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    m = metrics_of(predictions, rows)
    return {
        "count": m["count"],
        "accuracy": m["exactMatch"],
        "macroF1": m["f1"],
        "misclassified": m["wrong"],
        "exactMatch": m["exactMatch"],
        "f1": m["f1"],
    }


def is_wrong(p: dict[str, Any], below_f1: float | None = None) -> bool:
    """Whether a question is "misclassified": EM 0, or with synthesis.qaMisclassifiedBelowF1 an F1 below it."""
    return p["f1"] < below_f1 if below_f1 is not None else not p["exactMatch"]


def qa_picks(
    name: str, predictions: list[dict[str, Any]], batch: int, seed: int, below_f1: float | None = None
) -> list[dict[str, Any]]:
    """{index, id, score} in pick order (module doc)."""
    ids = [p["id"] for p in predictions]
    if name == "misclassified":
        wrong = sorted((i for i, p in enumerate(predictions) if is_wrong(p, below_f1)), key=lambda i: (ids[i], i))
        order = Rng(seed, "misclassified").sample(wrong, max(0, batch))
        return [{"index": i, "id": ids[i], "score": predictions[i]["loss"]} for i in order]
    if name == "random":
        order = Rng(seed, "random").sample(list(range(len(ids))), max(0, batch))
        return [{"index": i, "id": ids[i], "score": 0.0} for i in order]
    if name == "loss":
        scores = [p["loss"] for p in predictions]
    elif name == "least-confidence":
        scores = [1.0 - p["confidence"] for p in predictions]
    else:
        raise InvalidInput(f"synthesis.acquisition {name!r} is not computed for QA by the finetune student")
    order = sorted(range(len(ids)), key=lambda i: (-scores[i], ids[i]))[: max(0, batch)]
    return [{"index": i, "id": ids[i], "score": scores[i]} for i in order]


def evaluate_qa(
    payload: dict[str, Any],
    store,
    train_rows: list[dict[str, Any]],
    *,
    progress=lambda d: None,
    should_stop=lambda: False,
    resume_from: str | None = None,
    max_steps: int | None = None,
    trained: list | None = None,
) -> dict[str, Any]:
    """evaluate() for task.kind "qa" (activity.py calls it after reading the training data).
    @param payload TrainInput; @param store the run's store (store.py); @param train_rows the round's
      Examples; @param resume_from a checkpoint.pt of an earlier attempt (activity._resume_checkpoint)
    @returns Evaluation (JSON-ready)
    @raises InvalidInput on an acquisition function QA does not compute, or bad rows / model folder;
      train.Cancelled when should_stop() turns true"""
    t0 = time.perf_counter()
    config, task, round_ = payload["config"], payload["task"], int(payload["round"])
    select = payload.get("select") or {}
    synthesis = config.get("synthesis") or {}
    name = synthesis.get("acquisition", "misclassified")
    if not select.get("all") and name not in QA_ACQUISITIONS:
        raise InvalidInput(
            f"synthesis.acquisition {name!r} is not computed for QA by the finetune student; "
            f"use one of {', '.join(QA_ACQUISITIONS)}"
        )
    hyper = hyper_of(config)
    validation_x = store.read_jsonl(task["validation"])
    test_x = store.read_jsonl(task["test"])
    # windows: run_qa's stride of 128 at 384 tokens, a quarter of shorter windows; a question is cut to
    # half a window, so that every window has room for more context than the stride (the fast
    # tokenizer panics otherwise)
    settings = QaSettings(max_length=hyper.max_length, doc_stride=min(128, hyper.max_length // 4))
    question_max = hyper.max_length // 2
    clip = question_clipper(hyper.model, question_max)
    validation = [clip(qa_row(x)) for x in validation_x]
    test = [clip(qa_row(x)) for x in test_x]
    rows = [clip(qa_row(x)) for x in train_rows]
    workdir = store.local_dir(f"round-{round_}/finetune")
    fp = contract.fingerprint(
        {
            "kind": "qa",
            "train": [r["sha256"] for r in payload["train"]],
            "validation": task["validation"]["sha256"],
            "hyper": hyper.to_json(),
            "settings": [settings.max_length, settings.doc_stride, question_max],
        }
    )
    res = train_qa(
        hyper,
        rows,
        validation,
        settings=settings,
        progress=lambda d: progress({**d, "round": round_, "trainSize": len(rows)}),
        should_stop=should_stop,
        max_steps=max_steps,
        workdir=workdir,
        fingerprint=fp,
        resume_from=resume_from,
    )
    if trained is not None:
        trained.append(res)
    progress({"phase": "predict", "round": round_})
    pv = predict_qa(res.model, res.tokenizer, validation, settings, hyper.eval_batch_size)
    pt = predict_qa(res.model, res.tokenizer, test, settings, hyper.eval_batch_size)

    def example(x: dict[str, Any]) -> dict[str, Any]:
        keys = ("id", "text", "text_pair", "label", "truncatedFrom", "answers")
        return {k: x[k] for k in keys if k in x}

    def row(i: int) -> dict[str, Any]:
        return {"index": i, "loss": pv[i]["loss"], "predicted": pv[i]["predicted"], "example": example(validation_x[i])}

    caps = [c for c in (synthesis.get("maxPerRound"), select.get("limit")) if c is not None]
    cap = min(caps) if caps else None
    seed = int(config.get("seed", 42))
    record: dict[str, Any] | None = None
    if select.get("all"):
        idx = list(range(len(validation)))
        if cap is not None and len(idx) > cap:
            idx = sorted(random.Random(f"goldgen-{seed}-{round_}").sample(idx, cap))
        picked = [row(i) for i in idx]
    else:
        below_f1 = synthesis.get("qaMisclassifiedBelowF1")
        wrong = sum(1 for p in pv if is_wrong(p, below_f1))
        n = len(validation)
        batch = min(n, cap if cap is not None else (n if name in ("misclassified", "random") else wrong))
        if name == "random" and cap is None:
            batch = min(n, wrong)
        picks = qa_picks(name, pv, batch, seed * 1000 + round_, below_f1)
        ordered = sorted(picks, key=lambda p: p["index"]) if name == "misclassified" else picks
        picked = [
            {**row(p["index"]), "acquisition": name, "score": p["score"], "pool": "gold-validation"} for p in ordered
        ]
        record = {"name": name, "pool": "gold-validation", "candidates": n, "picked": summary(picks)}
    misclassified = store.put_jsonl(f"round-{round_}/picked.jsonl", picked, lambda r: r["example"]["label"])
    exported = None
    if hyper.export:
        progress({"phase": "export", "round": round_})
        exported = export_qa(
            res.model,
            res.tokenizer,
            store.local_dir("student"),
            settings,
            question_max,
            (validation or rows)[:2],
            round_,
        )
        store.publish_dir("student")  # an object store: upload the staged export folder
    shutil.rmtree(workdir, ignore_errors=True)  # checkpoints are only for retries of this round
    out: dict[str, Any] = {
        "round": round_,
        "trainSize": len(rows),
        "fit": {
            "trainSize": len(rows),
            "features": int(res.train_features),
            "iterations": res.steps,
            "loss": res.last_loss,
            "ms": sum(res.epoch_ms),
            "finetune": {
                "device": res.device,
                "mixedPrecision": res.mixed_precision,
                "preset": hyper.preset,
                "model": hyper.model,
                "epochs": res.epochs,
                "bestEpoch": res.best_epoch,
                # QA: the gold validation EM per epoch (the epoch is chosen on EM, then F1)
                "validationAccuracyPerEpoch": res.val_exact_match,
                "validationF1PerEpoch": res.val_f1,
                "epochMs": res.epoch_ms,
                "trainFeatures": int(res.train_features),
                "resumedFromStep": res.resumed_from_step,
                "exported": exported,
            },
        },
        "validation": split_metrics(pv, validation),
        "test": split_metrics(pt, test),
        "misclassified": misclassified,
        "studentMs": (time.perf_counter() - t0) * 1000,
    }
    if record is not None:
        out["acquisition"] = record
    return out


__all__ = ["QA_ACQUISITIONS", "evaluate_qa", "export_qa", "is_wrong", "qa_picks", "qa_row", "split_metrics", "contract"]

"""The trainAndEvaluate activity of the finetune student (S3 Alg. 2 lines 3-6), registered by
name on the s3-train task queue: same input and output as activities/student.ts (contract:
domain/studentContract.ts), so the workflows route `student.kind: "finetune"` here unchanged.

Durability: training runs in a thread; the activity heartbeats every 2 s with the latest
progress {phase, round, epoch, step, loss, checkpoint, ...} (updated every heartbeatSteps steps and
at each checkpoint). A retried attempt reads the last heartbeat's checkpoint path and resumes
there. Cancellation sets a flag the training loop checks before every step.
Errors: bad input (InvalidInput) and a missing model folder are non-retryable ApplicationFailures.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from . import contract
from .contract import InvalidInput, hyper_of
from .select import argmax, rows_for, score_split
from .store import run_store
from .train import Cancelled, predict_proba, train

# seconds between heartbeats (S3_FINETUNE_HEARTBEAT_S; tests use less)
HEARTBEAT_EVERY_S = float(os.environ.get("S3_FINETUNE_HEARTBEAT_S", "2"))


def _resume_checkpoint() -> str | None:
    """The checkpoint path in the previous attempt's last heartbeat, if any."""
    try:
        details = activity.info().heartbeat_details
    except RuntimeError:
        return None
    if details and isinstance(details[-1], dict):
        path = details[-1].get("checkpoint")
        return path if isinstance(path, str) else None
    return None


def evaluate(
    payload: dict[str, Any],
    *,
    progress=lambda d: None,
    should_stop=lambda: False,
    resume_from: str | None = None,
    max_steps: int | None = None,
    trained: list | None = None,
) -> dict[str, Any]:
    """The activity body without Temporal (tests call it directly).
    @param payload TrainInput; @returns Evaluation (JSON-ready)
    @raises InvalidInput on empty training data, labels outside task.labels, unsupported settings."""
    t0 = time.perf_counter()
    config, task, round_ = payload["config"], payload["task"], int(payload["round"])
    if (config.get("task") or {}).get("kind") == "qa":
        return _evaluate_qa(
            payload,
            progress=progress,
            should_stop=should_stop,
            resume_from=resume_from,
            max_steps=max_steps,
            trained=trained,
        )
    select = payload.get("select") or {}
    hyper = hyper_of(config)
    labels: list[str] = list(config["task"]["labels"])
    synthesis = config.get("synthesis") or {}
    name = synthesis.get("acquisition", "misclassified")
    if not select.get("all") and name not in contract.SUPPORTED_ACQUISITIONS:
        raise InvalidInput(
            f"synthesis.acquisition {name!r} is not computed by the finetune student; "
            f"use one of {', '.join(contract.SUPPORTED_ACQUISITIONS)} (or another student.kind)"
        )
    if synthesis.get("pool", "gold-validation") != "gold-validation" or select.get("ranked"):
        raise InvalidInput("the finetune student picks from the gold-validation pool only (no ranked selection)")
    if synthesis.get("candidatesPerPick", 1) > 1:
        raise InvalidInput(
            "synthesis.candidatesPerPick > 1 re-scores candidates with the TypeScript student; "
            "the finetune student does not support it"
        )
    if synthesis.get("validationHoldout", 0):
        raise InvalidInput("synthesis.validationHoldout is not supported by the finetune student")
    # every artifact goes through the run's store (store.py): references are read by URI with
    # their sha256 checked, outputs are written by key under the run folder (TaskRefs.runUri)
    store = run_store(task, config.get("artifacts"))
    train_rows = _train_rows(store, payload, "examples")
    validation = store.read_jsonl(task["validation"])
    test = store.read_jsonl(task["test"])
    for where, rows in (("training data", train_rows), ("gold validation", validation), ("gold test", test)):
        bad = next((x for x in rows if x["label"] not in labels), None)
        if bad is not None:
            raise InvalidInput(f"{where}: label {bad['label']!r} of {bad.get('id')!r} is not in task.labels")
    workdir = store.local_dir(f"round-{round_}/finetune")
    fp = contract.fingerprint(
        {
            "train": [r["sha256"] for r in payload["train"]],
            "labels": labels,
            "validation": task["validation"]["sha256"],
            "hyper": hyper.to_json(),
        }
    )
    res = train(
        hyper,
        labels,
        train_rows,
        validation,
        workdir=workdir,
        fingerprint=fp,
        progress=lambda d: progress({**d, "round": round_, "trainSize": len(train_rows)}),
        should_stop=should_stop,
        resume_from=resume_from,
        max_steps=max_steps,
    )
    if trained is not None:  # tests: the kept model itself
        trained.append(res)
    progress({"phase": "predict", "round": round_})
    pv = predict_proba(res.model, res.tokenizer, validation, hyper)
    pt = predict_proba(res.model, res.tokenizer, test, hyper)
    caps = [c for c in (synthesis.get("maxPerRound"), select.get("limit")) if c is not None]
    rows, record = rows_for(
        name=name,
        validation=validation,
        probs=pv,
        labels=labels,
        cap=min(caps) if caps else None,
        select_all=bool(select.get("all")),
        seed=int(config.get("seed", 42)),
        round_=round_,
        class_cap=str(synthesis.get("classCap", "none")),
    )
    misclassified = store.put_jsonl(f"round-{round_}/picked.jsonl", rows, lambda r: r["example"]["label"])
    exported = None
    if hyper.export:
        from .export import export_onnx

        progress({"phase": "export", "round": round_})
        exported = export_onnx(
            res.model,
            res.tokenizer,
            store.local_dir("student"),
            validation[:2],
            {"maxLength": hyper.max_length, "maxChars": hyper.max_chars, "round": round_},
        )
        store.publish_dir("student")  # an object store: upload the staged export folder
    shutil.rmtree(workdir, ignore_errors=True)  # checkpoints are only for retries of this attempt's round

    def split(rows: list[dict[str, Any]], probs: list[list[float]]) -> dict[str, Any]:
        return score_split([x["label"] for x in rows], [labels[argmax(p)] for p in probs], labels)

    ms = (time.perf_counter() - t0) * 1000
    out: dict[str, Any] = {
        "round": round_,
        "trainSize": len(train_rows),
        "fit": {
            "trainSize": len(train_rows),
            "features": int(res.model.config.hidden_size),
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
                "validationAccuracyPerEpoch": res.val_accuracy,
                "epochMs": res.epoch_ms,
                "trainFeatures": len(train_rows),
                "resumedFromStep": res.resumed_from_step,
                "exported": exported,
            },
        },
        "validation": split(validation, pv),
        "test": split(test, pt),
        "misclassified": misclassified,
        "studentMs": ms,
    }
    if record is not None:
        out["acquisition"] = record
    return out


def _evaluate_qa(payload: dict[str, Any], **kw) -> dict[str, Any]:
    """task.kind "qa": the span student (qa_activity.py), on the same store and training data."""
    from .qa_activity import evaluate_qa

    store = run_store(payload["task"], payload["config"].get("artifacts"))
    return evaluate_qa(payload, store, _train_rows(store, payload, "questions"), **kw)


def _train_rows(store, payload: dict[str, Any], noun: str) -> list[dict[str, Any]]:
    """The round's training rows: every reference in payload["train"], read through the run's store.
    @raises InvalidInput when there are none (every teacher output was rejected)"""
    rows: list[dict[str, Any]] = []
    for ref in payload["train"]:
        rows.extend(store.read_jsonl(ref))
    if not rows:
        raise InvalidInput(
            f"no synthetic {noun} to train on in round {int(payload['round'])}: every teacher output was rejected "
            f"(see {payload['task']['runDir']}/synthetic/*.rejected.jsonl)"
        )
    return rows


@activity.defn(name=contract.ACTIVITY_NAME)
async def train_and_evaluate(payload: dict[str, Any]) -> dict[str, Any]:
    """Temporal activity trainAndEvaluate (see module doc). Heartbeats every HEARTBEAT_EVERY_S (2 s)."""
    latest: dict[str, Any] = {"phase": "read", "round": payload.get("round")}
    stop = threading.Event()
    resume_from = _resume_checkpoint()
    if resume_from:
        latest["resumeFrom"] = resume_from

    # Temporal's attempt number (1 = first), as "activityAttempt": the TypeScript side's "attempt"
    # in heartbeat details is a teacher re-ask counter (0 = first), which the CLI shows as a retry
    attempt = activity.info().attempt
    latest["activityAttempt"] = attempt

    box = [latest]  # replaced whole by the training thread, read whole by the heartbeat loop

    def progress(d: dict[str, Any]) -> None:
        box[0] = {**d, "activityAttempt": attempt}

    task = asyncio.ensure_future(
        asyncio.to_thread(evaluate, payload, progress=progress, should_stop=stop.is_set, resume_from=resume_from)
    )
    try:
        while True:
            activity.heartbeat(box[0])
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY_S)
            if done:
                return task.result()
    except asyncio.CancelledError:
        stop.set()
        try:
            await asyncio.shield(task)
        except Cancelled:
            pass
        raise
    except InvalidInput as e:
        raise ApplicationError(str(e), type="InvalidInput", non_retryable=True) from None

"""Fine-tunes a Hugging Face sequence classifier: the finetune student (S3 Alg. 2 lines 3-5).

- Re-initialised every call (Alg. 2 line 3): the encoder is loaded afresh from the base folder and
  the classification head is initialised from the run's seed.
- AdamW (decoupled weight decay, none on biases and LayerNorm weights) with a linear warm-up over
  warmup_ratio of the steps and a linear decay to 0 (transformers.get_linear_schedule_with_warmup).
- After every epoch the model is scored on the gold validation set and the epoch with the best
  validation accuracy is kept (ties: the earlier epoch), as S3-official does: the gold validation
  set therefore chooses the epoch (it is also the set whose errors EES extrapolates).
- Deterministic on CPU: torch.manual_seed, per-epoch shuffles from torch.Generator(seed + epoch),
  torch.use_deterministic_algorithms; the same inputs and seed give the same metrics.
- CUDA when torch.cuda.is_available(), with autocast mixed precision (bf16 where supported, else
  fp16 with a gradient scaler).
- Durable (checkpoint.py, shared with the QA student): every checkpoint_steps optimizer steps (and at
  each epoch end) a checkpoint (model, optimizer, scheduler, scaler, RNG state, epoch, step, best
  epoch so far) is written atomically; `resume_from` continues from one, skipping the batches of the
  epoch already done.
- Stops at the next step when `should_stop()` is true (activity cancellation).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

from .checkpoint import Checkpointer
from .contract import Hyper, InvalidInput
from .select import argmax

# tests only: a pause after every optimizer step, so that a kill lands mid-training on any machine
STEP_DELAY_S = float(os.environ.get("S3_FINETUNE_STEP_DELAY_S", "0"))


class Cancelled(Exception):
    """Training stopped because should_stop() returned true."""


@dataclass
class TrainResult:
    """The kept model and what training did. Times in ms; loss in nats (mean over the step's batch)."""

    model: Any
    tokenizer: Any
    device: str
    epochs: int
    best_epoch: int
    best_val_accuracy: float
    steps: int
    last_loss: float
    epoch_ms: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    resumed_from_step: int = 0
    mixed_precision: str | None = None


def device_of() -> torch.device:
    """cuda when available, else cpu."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def encode(tokenizer, examples: list[dict[str, Any]], max_length: int, max_chars: int) -> dict[str, torch.Tensor]:
    """Tokenizes examples (pairs as pairs: text, text_pair; longest-first truncation), each text cut
    to max_chars characters first, padded to the batch's longest sequence."""
    texts = [x["text"][:max_chars] for x in examples]
    pairs = [x.get("text_pair") for x in examples]
    limit = min(max_length, getattr(tokenizer, "model_max_length", max_length) or max_length)
    if any(p is not None for p in pairs):
        pairs = [(p or "")[:max_chars] for p in pairs]
        return tokenizer(texts, pairs, truncation="longest_first", max_length=limit, padding=True, return_tensors="pt")
    return tokenizer(texts, truncation=True, max_length=limit, padding=True, return_tensors="pt")


def load_fresh(hyper: Hyper, labels: list[str]):
    """The base model with a new K-way head, initialised from hyper.seed, and its tokenizer.
    @raises InvalidInput when hyper.model is not a local Hugging Face model folder."""
    if not os.path.isdir(hyper.model):
        raise InvalidInput(
            f"student.finetune.model: {hyper.model} is not a folder (build the default with "
            "`S3_FINETUNE=1 bash scripts/setup.sh`, or give a local Hugging Face model folder)"
        )
    torch.manual_seed(hyper.seed)
    try:
        tokenizer = AutoTokenizer.from_pretrained(hyper.model, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            hyper.model,
            local_files_only=True,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            attn_implementation="eager",
        )
    except (OSError, ValueError) as e:
        raise InvalidInput(f"student.finetune.model {hyper.model}: not a Hugging Face model folder ({e})") from e
    return model, tokenizer


@torch.no_grad()
def predict_proba(model, tokenizer, examples: list[dict[str, Any]], hyper: Hyper, device=None) -> list[list[float]]:
    """Class probabilities (softmax of the logits, fp32), rows aligned with examples."""
    device = device or next(model.parameters()).device
    model.eval()
    out: list[list[float]] = []
    for i in range(0, len(examples), hyper.eval_batch_size):
        batch = encode(tokenizer, examples[i : i + hyper.eval_batch_size], hyper.max_length, hyper.max_chars)
        batch = {k: v.to(device) for k, v in batch.items()}
        with _autocast(device):
            logits = model(**batch).logits
        out.extend(torch.softmax(logits.float(), dim=-1).cpu().tolist())
    return out


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return torch.autocast("cpu", enabled=False)


def train(
    hyper: Hyper,
    labels: list[str],
    train_rows: list[dict[str, Any]],
    validation: list[dict[str, Any]],
    *,
    workdir: str,
    fingerprint: str,
    progress: Callable[[dict[str, Any]], None] = lambda d: None,
    should_stop: Callable[[], bool] = lambda: False,
    resume_from: str | None = None,
    max_steps: int | None = None,
) -> TrainResult:
    """Trains a fresh model on train_rows and keeps the epoch with the best validation accuracy.

    @param workdir where checkpoint.pt and best.pt are written (created)
    @param fingerprint written into checkpoints; a checkpoint with another one is not resumed
    @param progress called every hyper.heartbeat_steps steps, after each checkpoint and each epoch
      with {phase, epoch, step, loss, checkpoint, ...} (heartbeat details)
    @param resume_from a checkpoint.pt written by an earlier attempt (ignored when missing or foreign)
    @param max_steps stop after this many optimizer steps in all (tests), keeping the best epoch so far
    @raises Cancelled when should_stop() turns true (checked before every step)
    """
    os.makedirs(workdir, exist_ok=True)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = device_of()
    model, tokenizer = load_fresh(hyper, labels)
    model.to(device)
    label_idx = torch.tensor([labels.index(x["label"]) for x in train_rows])
    steps_per_epoch = (len(train_rows) + hyper.batch_size - 1) // hyper.batch_size
    total = steps_per_epoch * hyper.epochs
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
            "weight_decay": hyper.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=hyper.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(hyper.warmup_ratio * total), total)
    amp = None
    if device.type == "cuda":
        amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")

    ckpt = Checkpointer(
        workdir, fingerprint, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler, device=device
    )
    state = {
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "best_epoch": 0,
        "best_acc": -1.0,
        "loss": float("nan"),
        "epoch_ms": [],
        "val_acc": [],
    }
    best_state: dict[str, torch.Tensor] | None = None
    resumed = ckpt.resume(resume_from)
    if resumed is not None:
        state, best_state = resumed

    def details(phase: str) -> dict[str, Any]:
        return ckpt.details(phase, state, hyper.epochs, total)

    def checkpoint() -> None:
        ckpt.save(state)
        progress(details("checkpoint"))

    progress(details("fit"))
    stop_all = False
    while state["epoch"] < hyper.epochs and not stop_all:
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(
            len(train_rows), generator=torch.Generator().manual_seed(hyper.seed * 1000 + state["epoch"])
        )
        for b in range(state["batch"], steps_per_epoch):
            if should_stop():
                raise Cancelled(f"cancelled at epoch {state['epoch'] + 1}, step {state['step']}")
            idx = order[b * hyper.batch_size : (b + 1) * hyper.batch_size].tolist()
            batch = encode(tokenizer, [train_rows[i] for i in idx], hyper.max_length, hyper.max_chars)
            batch = {k: v.to(device) for k, v in batch.items()}
            with _autocast(device):
                logits = model(**batch).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), label_idx[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            state["step"] += 1
            if STEP_DELAY_S:
                time.sleep(STEP_DELAY_S)
            state["batch"] = b + 1
            state["loss"] = float(loss.detach())
            if state["step"] % hyper.checkpoint_steps == 0:
                checkpoint()
            elif state["step"] % hyper.heartbeat_steps == 0:
                progress(details("fit"))
            if max_steps is not None and state["step"] >= max_steps:
                stop_all = True
                break
        # score the epoch (a partial one when max_steps stopped it) on gold validation
        pv = predict_proba(model, tokenizer, validation, hyper, device) if validation else []
        acc = (
            (sum(argmax(p) == labels.index(x["label"]) for p, x in zip(pv, validation, strict=True)) / len(validation))
            if validation
            else 0.0
        )
        state["val_acc"].append(acc)
        state["epoch_ms"].append((time.perf_counter() - t0) * 1000)
        if acc > state["best_acc"]:
            state["best_acc"], state["best_epoch"] = acc, state["epoch"] + 1
            best_state = ckpt.keep_best()
        state["epoch"] += 1
        state["batch"] = 0
        if not stop_all and state["epoch"] < hyper.epochs:
            checkpoint()
        progress(details("epoch"))
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        model=model,
        tokenizer=tokenizer,
        device=device.type,
        epochs=state["epoch"],
        best_epoch=state["best_epoch"],
        best_val_accuracy=state["best_acc"],
        steps=state["step"],
        last_loss=state["loss"],
        epoch_ms=state["epoch_ms"],
        val_accuracy=state["val_acc"],
        resumed_from_step=ckpt.resumed_from_step,
        mixed_precision=amp,
    )

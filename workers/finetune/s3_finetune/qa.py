"""The span-extraction student of extractive QA (S3's AdversarialQA task): a Hugging Face encoder with a
fresh span head (AutoModelForQuestionAnswering), trained and read out as Hugging Face's run_qa.py does.

- Features (run_qa.py prepare_train_features / prepare_validation_features, one function here): the
  question (left-stripped) first and the context second, truncation "only_second", windows of
  max_length tokens overlapping by doc_stride tokens (return_overflowing_tokens), offsets mapped
  back to characters of the context (code points). Each window's target is the token span of the
  first gold answer, or the CLS token when the answer is not wholly inside the window.
- Training (S3 Alg. 2 line 3: a fresh model every call): the hyper-parameters of the classification
  student (contract.Hyper: epochs, batch_size, lr, warmup_ratio, weight_decay, seed; max_length),
  AdamW without decay on biases and LayerNorm, linear warm-up and decay, gradient clipping at 1,
  autocast on CUDA, seeded shuffles. The loss is run_qa's (cross-entropy of start and end, averaged),
  with padding positions masked so that a window's loss does not depend on its batch. After every
  epoch the model is scored on gold validation (when given) and the epoch with the best EM (then F1;
  ties: the earlier) is kept. Gold test never chooses anything.
- Post-processing (run_qa.py postprocess_qa_predictions, SQuAD v1.1: no null answer): over all
  windows of a question, the n_best start and n_best end logits, pairs kept only when both tokens are
  in the context, end >= start and the span has at most max_answer_length tokens; the highest
  start + end logit wins. Where run_qa.py writes the text "empty" when no pair is valid, this
  returns "" with start None.
- Per question (QaPredictionRow of domain/studentContract.ts): the predicted text and its start
  offset, SQuAD EM / F1 against the gold answers (squad.py), loss = -ln p(start) - ln p(end) of the
  gold span (softmax over the window's tokens; the window where that is lowest; a question whose
  answer fits no window scores its first window's CLS targets) for the `loss` acquisition, and
  confidence = p(start) * p(end) of the predicted span in its window (least-confidence: 1 - it).
- Durable: with a workdir, checkpoints every checkpoint_steps steps and at each epoch end, and
  resume from one (checkpoint.py, shared with the classifier); heartbeat details through `progress`.
- Export: export.py export_onnx with the outputs start_logits and end_logits (qa_activity.py).

Importable without Temporal.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

from .checkpoint import Checkpointer
from .contract import Hyper, InvalidInput
from .squad import qa_score, score_qa
from .train import _autocast, device_of


@dataclass(frozen=True)
class QaSettings:
    """run_qa.py's defaults: windows of max_length tokens overlapping by doc_stride; answers of at
    most max_answer_length tokens; n_best start and end candidates per window."""

    max_length: int = 384
    doc_stride: int = 128
    max_answer_length: int = 30
    n_best: int = 20


@dataclass
class QaFeature:
    """One window of one question. offsets[i] is the (start, end) character span of token i in the
    context, None for question and special tokens; start/end_position index tokens (CLS: the answer is
    not wholly inside this window)."""

    example_index: int
    input_ids: list[int]
    token_type_ids: list[int] | None
    offsets: list[tuple[int, int] | None]
    start_position: int
    end_position: int
    has_answer: bool
    cls_index: int


@dataclass
class QaTrainResult:
    """The kept model and what training did (times in ms, losses in nats)."""

    model: Any
    tokenizer: Any
    device: str
    epochs: int
    best_epoch: int
    steps: int
    last_loss: float
    train_features: int
    epoch_ms: list[float] = field(default_factory=list)
    val_exact_match: list[float] = field(default_factory=list)
    val_f1: list[float] = field(default_factory=list)
    mixed_precision: str | None = None
    resumed_from_step: int = 0


def load_fresh_qa(model_dir: str, seed: int):
    """The base model with a new span head (qa_outputs) initialised from seed, and its fast tokenizer.
    @raises InvalidInput when model_dir is not a local Hugging Face folder or has no fast tokenizer
    (offsets need one)."""
    if not os.path.isdir(model_dir):
        raise InvalidInput(f"student.finetune.model: {model_dir} is not a folder (a local Hugging Face model folder)")
    torch.manual_seed(seed)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        model = AutoModelForQuestionAnswering.from_pretrained(
            model_dir, local_files_only=True, attn_implementation="eager", dtype=torch.float32
        )
    except (OSError, ValueError) as e:
        raise InvalidInput(f"student.finetune.model {model_dir}: not a Hugging Face model folder ({e})") from e
    if not getattr(tokenizer, "is_fast", False):
        raise InvalidInput(f"student.finetune.model {model_dir}: QA needs a fast tokenizer (tokenizer.json)")
    return model, tokenizer


def features(tokenizer, rows: Sequence[dict[str, Any]], max_length: int, doc_stride: int) -> list[QaFeature]:
    """The windows of every question, as run_qa.py builds them (see the module doc).
    @raises InvalidInput when doc_stride leaves no room for the context (tokenizers' own error)."""
    pad_on_right = tokenizer.padding_side == "right"
    questions = [r["question"].lstrip() for r in rows]
    contexts = [r["context"] for r in rows]
    try:
        enc = tokenizer(
            questions if pad_on_right else contexts,
            contexts if pad_on_right else questions,
            truncation="only_second" if pad_on_right else "only_first",
            max_length=max_length,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
    except Exception as e:  # tokenizers raises a plain Exception when the stride does not fit
        raise InvalidInput(f"QA features (max_length {max_length}, doc_stride {doc_stride}): {e}") from e
    context_seq = 1 if pad_on_right else 0
    out: list[QaFeature] = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        input_ids = enc["input_ids"][i]
        cls_index = input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
        seq = enc.sequence_ids(i)
        ex = enc["overflow_to_sample_mapping"][i]
        answers = rows[ex]["answers"]
        start_pos = end_pos = cls_index
        has = False
        if answers["answer_start"]:
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            ts = 0
            while seq[ts] != context_seq:
                ts += 1
            te = len(input_ids) - 1
            while seq[te] != context_seq:
                te -= 1
            if offsets[ts][0] <= start_char and offsets[te][1] >= end_char:
                while ts < len(offsets) and offsets[ts][0] <= start_char:
                    ts += 1
                while offsets[te][1] >= end_char:
                    te -= 1
                start_pos, end_pos, has = ts - 1, te + 1, True
        out.append(
            QaFeature(
                example_index=ex,
                input_ids=list(input_ids),
                token_type_ids=list(enc["token_type_ids"][i]) if "token_type_ids" in enc else None,
                offsets=[tuple(o) if s == context_seq else None for o, s in zip(offsets, seq, strict=True)],
                start_position=start_pos,
                end_position=end_pos,
                has_answer=has,
                cls_index=cls_index,
            )
        )
    return out


def _batch(tokenizer, feats: Sequence[QaFeature], device) -> dict[str, torch.Tensor]:
    """Model inputs of some windows, right-padded to the longest (attention_mask 0 on padding)."""
    n = max(len(f.input_ids) for f in feats)
    pad = tokenizer.pad_token_id or 0
    ids = torch.full((len(feats), n), pad, dtype=torch.long)
    mask = torch.zeros((len(feats), n), dtype=torch.long)
    types = torch.zeros((len(feats), n), dtype=torch.long)
    for i, f in enumerate(feats):
        k = len(f.input_ids)
        ids[i, :k] = torch.tensor(f.input_ids)
        mask[i, :k] = 1
        if f.token_type_ids is not None:
            types[i, :k] = torch.tensor(f.token_type_ids)
    batch = {"input_ids": ids, "attention_mask": mask}
    if feats[0].token_type_ids is not None:
        batch["token_type_ids"] = types
    return {k: v.to(device) for k, v in batch.items()}


def _masked(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """fp32 logits with padding positions at the lowest float (no probability mass there)."""
    return logits.float().masked_fill(mask == 0, torch.finfo(torch.float32).min)


def span_loss(start_logits, end_logits, mask, start_positions, end_positions) -> torch.Tensor:
    """run_qa's training loss: mean over windows of (CE(start) + CE(end)) / 2, padding masked."""
    ls = torch.nn.functional.cross_entropy(_masked(start_logits, mask), start_positions)
    le = torch.nn.functional.cross_entropy(_masked(end_logits, mask), end_positions)
    return (ls + le) / 2


@torch.no_grad()
def window_logits(model, tokenizer, feats: Sequence[QaFeature], batch_size: int = 64, device=None):
    """(start, end) logits of every window, each a float32 array of the window's own length."""
    device = device or next(model.parameters()).device
    model.eval()
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    for i in range(0, len(feats), batch_size):
        chunk = feats[i : i + batch_size]
        batch = _batch(tokenizer, chunk, device)
        with _autocast(device):
            out = model(**batch)
        s, e = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
        for j, f in enumerate(chunk):
            starts.append(s[j, : len(f.input_ids)].copy())
            ends.append(e[j, : len(f.input_ids)].copy())
    return starts, ends


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max()
    return x - m - math.log(float(np.exp(x - m).sum()))


def postprocess(
    rows: Sequence[dict[str, Any]],
    feats: Sequence[QaFeature],
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    *,
    n_best: int = 20,
    max_answer_length: int = 30,
) -> list[dict[str, Any]]:
    """Per question (QaPredictionRow): {index, id, predicted, start, exactMatch, f1, loss, confidence}
    from the windows' logits, as run_qa.py's postprocess_qa_predictions picks the span (module doc)."""
    by_example: dict[int, list[int]] = {}
    for k, f in enumerate(feats):
        by_example.setdefault(f.example_index, []).append(k)
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        best: tuple[float, int, int, int] | None = None  # (score, window, start token, end token)
        gold_losses: list[float] = []
        for k in by_example.get(i, []):
            f, sl, el = feats[k], start_logits[k], end_logits[k]
            lps, lpe = _log_softmax(sl), _log_softmax(el)
            if f.has_answer:
                gold_losses.append(-(lps[f.start_position] + lpe[f.end_position]))
            top_s = np.argsort(sl, kind="stable")[::-1][:n_best].tolist()
            top_e = np.argsort(el, kind="stable")[::-1][:n_best].tolist()
            for s in top_s:
                for e in top_e:
                    if f.offsets[s] is None or f.offsets[e] is None:
                        continue
                    if e < s or e - s + 1 > max_answer_length:
                        continue
                    score = float(sl[s]) + float(el[e])
                    if best is None or score > best[0]:
                        best = (score, k, s, e)
        if not gold_losses and by_example.get(i):
            k = by_example[i][0]
            f = feats[k]
            gold_losses.append(-(_log_softmax(start_logits[k])[f.cls_index] + _log_softmax(end_logits[k])[f.cls_index]))
        golds = row["answers"]["text"]
        if best is None:
            text, start, confidence = "", None, 0.0
        else:
            _, k, s, e = best
            a, b = feats[k].offsets[s][0], feats[k].offsets[e][1]
            text, start = row["context"][a:b], a
            confidence = math.exp(_log_softmax(start_logits[k])[s] + _log_softmax(end_logits[k])[e])
        em, f1 = qa_score(text, golds)
        out.append(
            {
                "index": i,
                "id": row["id"],
                "predicted": text,
                "start": start,
                "exactMatch": em,
                "f1": f1,
                "loss": float(max(0.0, min(gold_losses))) if gold_losses else 0.0,
                "confidence": float(min(1.0, max(0.0, confidence))),
            }
        )
    return out


def predict_qa(
    model, tokenizer, rows: Sequence[dict[str, Any]], settings: QaSettings, batch_size: int = 64, device=None
) -> list[dict[str, Any]]:
    """The student's answer to every question, with EM / F1, loss and confidence (postprocess)."""
    feats = features(tokenizer, rows, settings.max_length, settings.doc_stride)
    s, e = window_logits(model, tokenizer, feats, batch_size, device)
    return postprocess(rows, feats, s, e, n_best=settings.n_best, max_answer_length=settings.max_answer_length)


def metrics_of(predictions: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """QaMetrics {count, exactMatch, f1, wrong} of predictions on their rows."""
    return score_qa([p["predicted"] for p in predictions], [r["answers"]["text"] for r in rows])


def train_qa(
    hyper: Hyper,
    train_rows: Sequence[dict[str, Any]],
    validation: Sequence[dict[str, Any]] = (),
    *,
    settings: QaSettings | None = None,
    progress: Callable[[dict[str, Any]], None] = lambda d: None,
    should_stop: Callable[[], bool] = lambda: False,
    max_steps: int | None = None,
    workdir: str | None = None,
    fingerprint: str = "",
    resume_from: str | None = None,
) -> QaTrainResult:
    """Trains a fresh span model on train_rows (module doc) and keeps the epoch with the best gold
    validation EM (then F1), or the last epoch without validation.
    @param settings windows and post-processing (default: QaSettings with hyper.max_length)
    @param progress heartbeat details (checkpoint.Checkpointer.details: {phase, epoch, epochs, step,
      steps, loss, checkpoint, resumedFromStep, device}) every hyper.heartbeat_steps steps, after each
      checkpoint and each epoch
    @param max_steps stop after this many optimizer steps in all (tests)
    @param workdir where checkpoint.pt (every hyper.checkpoint_steps steps and at each epoch end but
      the last) and best.pt are written; None: no checkpoints
    @param fingerprint written into checkpoints; a checkpoint with another one is not resumed
    @param resume_from a checkpoint.pt of an earlier attempt (ignored when missing or foreign): its
      state is restored and the batches already done are skipped (QaTrainResult.resumed_from_step)
    @raises InvalidInput when train_rows is empty; train.Cancelled when should_stop() turns true
      (checked before every step)"""
    from .train import STEP_DELAY_S, Cancelled

    if not train_rows:
        raise InvalidInput("QA training needs at least one question")
    settings = settings or QaSettings(max_length=hyper.max_length)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = device_of()
    model, tokenizer = load_fresh_qa(hyper.model, hyper.seed)
    model.to(device)
    feats = features(tokenizer, train_rows, settings.max_length, settings.doc_stride)
    steps_per_epoch = (len(feats) + hyper.batch_size - 1) // hyper.batch_size
    total = steps_per_epoch * hyper.epochs
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for n, p in named if not any(k in n for k in no_decay)], "weight_decay": hyper.weight_decay},
            {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
        ],
        lr=hyper.lr,
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, int(hyper.warmup_ratio * total), total)
    amp = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device.type == "cuda" else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")
    starts = torch.tensor([f.start_position for f in feats])
    ends = torch.tensor([f.end_position for f in feats])
    ckpt = Checkpointer(
        workdir, fingerprint, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler, device=device
    )
    state: dict[str, Any] = {
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "best_epoch": 0,
        "best_key": [-1.0, -1.0],  # (EM, F1) of the best epoch; (epoch, 0) without validation
        "loss": float("nan"),
        "epoch_ms": [],
        "val_em": [],
        "val_f1": [],
    }
    best_state: dict[str, torch.Tensor] | None = None
    resumed = ckpt.resume(resume_from)
    if resumed is not None:
        state, best_state = resumed

    def beat(phase: str) -> None:
        progress(ckpt.details(phase, state, hyper.epochs, total))

    beat("fit")
    stop_all = False
    while state["epoch"] < hyper.epochs and not stop_all:
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(feats), generator=torch.Generator().manual_seed(hyper.seed * 1000 + state["epoch"]))
        for b in range(state["batch"], steps_per_epoch):
            if should_stop():
                raise Cancelled(f"cancelled at epoch {state['epoch'] + 1}, step {state['step']}")
            idx = order[b * hyper.batch_size : (b + 1) * hyper.batch_size].tolist()
            batch = _batch(tokenizer, [feats[i] for i in idx], device)
            with _autocast(device):
                out = model(**batch)
            loss = span_loss(
                out.start_logits, out.end_logits, batch["attention_mask"], starts[idx].to(device), ends[idx].to(device)
            )
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
            if workdir is not None and state["step"] % hyper.checkpoint_steps == 0:
                ckpt.save(state)
                beat("checkpoint")
            elif state["step"] % hyper.heartbeat_steps == 0:
                beat("fit")
            if max_steps is not None and state["step"] >= max_steps:
                stop_all = True
                break
        # score the epoch (a partial one when max_steps stopped it) on gold validation
        if validation:
            m = metrics_of(
                predict_qa(model, tokenizer, validation, settings, hyper.eval_batch_size, device), validation
            )
            state["val_em"].append(m["exactMatch"])
            state["val_f1"].append(m["f1"])
            key = [m["exactMatch"], m["f1"]]
        else:
            key = [float(state["epoch"] + 1), 0.0]  # no validation: the last epoch
        state["epoch_ms"].append((time.perf_counter() - t0) * 1000)
        if key > state["best_key"]:
            state["best_key"], state["best_epoch"] = key, state["epoch"] + 1
            best_state = ckpt.keep_best()
        state["epoch"] += 1
        state["batch"] = 0
        if workdir is not None and not stop_all and state["epoch"] < hyper.epochs:
            ckpt.save(state)
            beat("checkpoint")
        beat("epoch")
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return QaTrainResult(
        model=model,
        tokenizer=tokenizer,
        device=device.type,
        epochs=state["epoch"],
        best_epoch=state["best_epoch"],
        steps=state["step"],
        last_loss=state["loss"],
        train_features=len(feats),
        epoch_ms=state["epoch_ms"],
        val_exact_match=state["val_em"],
        val_f1=state["val_f1"],
        mixed_precision=amp,
        resumed_from_step=ckpt.resumed_from_step,
    )

"""The JSON contract of the trainAndEvaluate activity as the Python worker reads and writes it.

The contract has one definition: the zod schemas in domain/studentContract.ts (TypeScript). They
are exported as JSON Schema to workers/finetune/contract/*.schema.json (a TypeScript test fails
when the checked-in files differ from the schemas), and the Python tests validate this worker's
inputs and outputs against those files. This module only reads the fields it needs.

Input (TrainInput): {config: S3Config, task: TaskRefs, train: DatasetRef[], round: int,
select?: {all?, limit?, ranked?}}. Output (Evaluation): {round, trainSize, fit, validation, test,
misclassified: DatasetRef, studentMs, acquisition?}; round-<q>/picked.jsonl rows are
MisclassifiedRow ({index, loss, predicted, example, acquisition?, score?, pool?}).

Extractive QA (the span student, qa.py): rows are QaRow (qa-row.schema.json; read with
read_qa_jsonl, which checks every answer span), predictions QaPredictionRow, split scores QaMetrics.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from .squad import check_qa_row

ACTIVITY_NAME = "trainAndEvaluate"
DEFAULT_TASK_QUEUE = "s3-train"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEFAULT_MODEL = os.path.join(ROOT, "models", "all-MiniLM-L6-v2-hf")
CONTRACT_DIR = os.path.join(ROOT, "workers", "finetune", "contract")

# Hyper-parameter presets named after the S3 paper's student runs (S3-official: DistilBERT, max
# length 512, best epoch kept): IMDb batch 8, lr 5e-6, 6 epochs; RTE batch 16, lr 1e-5, 20 epochs.
PRESETS: dict[str, dict[str, float | int]] = {
    "s3-imdb": {"batchSize": 8, "lr": 5e-6, "epochs": 6, "maxLength": 512},
    "s3-rte": {"batchSize": 16, "lr": 1e-5, "epochs": 20, "maxLength": 512},
}

# Acquisition functions this worker computes (those that are functions of the class
# probabilities and the gold label only); others are refused as InvalidInput.
SUPPORTED_ACQUISITIONS = ("misclassified", "loss")


class InvalidInput(ValueError):
    """Input the user must fix: becomes a non-retryable ApplicationFailure of type InvalidInput."""


@dataclass(frozen=True)
class Hyper:
    """Resolved training settings of one round (units: examples, steps, characters, tokens)."""

    model: str
    preset: str
    epochs: int
    batch_size: int
    lr: float
    max_length: int
    warmup_ratio: float
    weight_decay: float
    heartbeat_steps: int
    checkpoint_steps: int
    eval_batch_size: int
    max_chars: int
    export: bool
    seed: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def hyper_of(config: dict[str, Any]) -> Hyper:
    """Resolves student.finetune of a parsed S3Config: preset (default s3-rte for pair tasks,
    s3-imdb otherwise) overridden by explicit epochs / batchSize / lr / maxLength.
    @raises InvalidInput when student.kind is not "finetune" or the preset is unknown."""
    student = config.get("student") or {}
    if student.get("kind") != "finetune":
        raise InvalidInput(f'student.kind is {student.get("kind")!r}; the s3-train worker only trains "finetune"')
    ft = student.get("finetune") or {}
    preset = ft.get("preset") or ("s3-rte" if config["task"].get("kind") == "pair" else "s3-imdb")
    if preset not in PRESETS:
        raise InvalidInput(f"student.finetune.preset {preset!r} is not one of {', '.join(PRESETS)}")
    p = PRESETS[preset]
    model = ft.get("model") or os.environ.get("S3_FINETUNE_MODEL") or DEFAULT_MODEL
    return Hyper(
        model=os.path.abspath(model),
        preset=preset,
        epochs=int(ft.get("epochs") or p["epochs"]),
        batch_size=int(ft.get("batchSize") or p["batchSize"]),
        lr=float(ft.get("lr") or p["lr"]),
        max_length=int(ft.get("maxLength") or p["maxLength"]),
        warmup_ratio=float(ft.get("warmupRatio", 0.1)),
        weight_decay=float(ft.get("weightDecay", 0.01)),
        heartbeat_steps=int(ft.get("heartbeatSteps", 10)),
        checkpoint_steps=int(ft.get("checkpointSteps", 50)),
        eval_batch_size=int(ft.get("evalBatchSize", 64)),
        max_chars=int(student.get("maxChars", 2000)),
        export=bool(ft.get("export", True)),
        seed=int(config.get("seed", 42)),
    )


def read_jsonl(path: str) -> list[dict[str, Any]]:
    """Rows of a JSONL file (parse_jsonl). @raises InvalidInput on a missing file or bad line.
    The activity reads through the artifact store (store.py), which also checks the sha256."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError as e:
        raise InvalidInput(f"{path}: no such file (is the s3-train worker on the machine that holds runs/?)") from e
    return parse_jsonl(data, path)


def parse_jsonl(data: bytes, name: str) -> list[dict[str, Any]]:
    """Examples of JSONL bytes (blank lines skipped); `name` (the file) is named in errors.
    @raises InvalidInput on a line that is not JSON or not an example with string text and label.

    Lines end at "\n" only (an optional "\r" before it is dropped), as data/jsonl.ts reads them:
    str.splitlines() would also split inside a string at U+0085, U+2028 or U+2029, which
    JSON.stringify leaves unescaped (real e-mails contain U+0085)."""
    text = data.decode("utf-8")
    text = text.removeprefix("\ufeff")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"{name}:{i}: not JSON ({e.msg})") from e
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not isinstance(row.get("label"), str):
            raise InvalidInput(f"{name}:{i}: an example needs string fields text and label")
        rows.append(row)
    return rows


def write_jsonl(path: str, rows: list[dict[str, Any]], label_of) -> dict[str, Any]:
    """Writes rows (one JSON object a line) through the artifact store rooted at the file's folder
    (atomic, idempotent) and returns its DatasetRef {path, uri, sha256 of the bytes, count,
    labelCounts}, as store/local.ts putJsonl does."""
    from .store import LocalFolderStore  # store.py imports this module

    path = os.path.abspath(path)
    return LocalFolderStore(os.path.dirname(path)).put_jsonl(os.path.basename(path), rows, label_of)


def fingerprint(payload: dict[str, Any]) -> str:
    """SHA-256 of what decides a training run (training refs, labels, hyper-parameters): a
    checkpoint is resumed only by an attempt with the same fingerprint."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def read_qa_jsonl(path: str) -> list[dict[str, Any]]:
    """SQuAD-style QA rows of a JSONL file (parse_qa_jsonl). @raises InvalidInput on a missing file or bad row."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError as e:
        raise InvalidInput(f"{path}: no such file") from e
    return parse_qa_jsonl(data, path)


def parse_qa_jsonl(data: bytes, name: str) -> list[dict[str, Any]]:
    """QA rows ({id, context, question, answers: {text[], answer_start[]}}) of JSONL bytes, lines split
    as parse_jsonl splits them; every row checked by squad.check_qa_row (every answer the span of its
    context at answer_start, in code points) and ids unique, as data/qa.ts loadQaJsonl does.
    @raises InvalidInput naming `name`:line: not JSON, a bad row (its problems), a repeated id."""
    text = data.decode("utf-8").removeprefix("\ufeff")
    rows: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    for i, line in enumerate((x.removesuffix("\r") for x in text.split("\n")), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"{name}:{i}: not JSON ({e.msg})") from e
        problems = check_qa_row(row)
        if problems:
            raise InvalidInput(f"{name}:{i}: {'; '.join(problems)}")
        if row["id"] in first:
            raise InvalidInput(f"{name}:{i}: duplicate id {json.dumps(row['id'])} (first on line {first[row['id']]})")
        first[row["id"]] = i
        rows.append(row)
    if not rows:
        raise InvalidInput(f"{name}: no QA rows")
    return rows

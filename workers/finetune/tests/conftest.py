"""Shared fixtures: a tiny randomly initialised BERT folder (no download) and a small pair task
written as the TypeScript side writes it (JSONL examples, DatasetRefs), with the trainAndEvaluate
payload taken from the shared fixture tests/fixtures/student-contract/train-input.json."""

from __future__ import annotations

import copy
import json
import os
import random

import pytest

from s3_finetune.contract import ROOT, write_jsonl
from s3_finetune.store import folder_uri
from s3_finetune.testing import make_tiny_model

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "student-contract")
SUBJECTS = ["the man", "a woman", "the dog", "a cat", "they", "she", "he"]
VERBS = ["eats food", "runs in the park", "sleeps in the house", "is happy", "is sad"]


def pair_rows(n: int, seed: int, prefix: str) -> list[dict]:
    """Pairs whose label is decided by "not" in the second sentence (learnable by a tiny model)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        s, v = rng.choice(SUBJECTS), rng.choice(VERBS)
        neg = i % 2 == 1
        rows.append(
            {
                "id": f"{prefix}{i}",
                "text": f"{s} {v} today.",
                "text_pair": f"{s} {'was not' if neg else 'was'} there.",
                "label": "not_entailment" if neg else "entailment",
            }
        )
    return rows


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return make_tiny_model(str(tmp_path_factory.mktemp("tiny-bert")))


def load_fixture(name: str):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


@pytest.fixture
def payload(tmp_path, tiny_model) -> dict:
    """The shared fixture payload with its run folder (runDir, runUri) and references pointed at a fresh
    run folder, and the tiny model."""
    p = copy.deepcopy(load_fixture("train-input.json"))
    run = str(tmp_path / "run")
    label_of = lambda r: r["label"]  # noqa: E731
    p["task"]["runDir"] = run
    p["task"]["runUri"] = folder_uri(run)
    p["task"]["validation"] = write_jsonl(f"{run}/gold/validation.jsonl", pair_rows(12, 1, "v"), label_of)
    p["task"]["test"] = write_jsonl(f"{run}/gold/test.jsonl", pair_rows(10, 2, "t"), label_of)
    p["task"]["contexts"] = None
    p["train"] = [write_jsonl(f"{run}/synthetic/seed.jsonl", pair_rows(16, 3, "s"), label_of)]
    p["config"]["student"]["finetune"]["model"] = tiny_model
    return p

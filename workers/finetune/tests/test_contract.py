"""The trainAndEvaluate contract from the Python side: the shared fixtures validate against the
JSON Schemas generated from domain/studentContract.ts, and this worker's selection matches the
TypeScript acquisition functions on the shared acquisition fixture."""

import json
import os

import jsonschema

from s3_finetune.contract import CONTRACT_DIR, hyper_of
from s3_finetune.select import pick

from .conftest import load_fixture


def schema(name: str) -> dict:
    with open(os.path.join(CONTRACT_DIR, f"{name}.schema.json")) as f:
        return json.load(f)


def test_fixture_payload_matches_the_json_schema():
    jsonschema.validate(load_fixture("train-input.json"), schema("train-input"))


def test_fixture_payload_resolves_hyper_parameters():
    h = hyper_of(load_fixture("train-input.json")["config"])
    assert (h.preset, h.epochs, h.batch_size, h.lr, h.max_length, h.seed) == ("s3-rte", 2, 4, 0.001, 64, 7)


def test_selection_matches_the_typescript_acquisition_functions():
    fx = load_fixture("acquisition.json")
    for key, want in fx["expected"].items():
        name, batch = key.split("/")
        got = pick(name, fx["ids"], fx["probs"], fx["labels"], int(batch))
        assert [(p["index"], p["id"]) for p in got] == [(p["index"], p["id"]) for p in want], key
        assert [p["score"] for p in got] == [p["score"] for p in want], key

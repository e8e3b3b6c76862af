"""The trainAndEvaluate contract from the Python side: the shared fixtures validate against the
JSON Schemas generated from domain/studentContract.ts, and this worker's selection matches the
TypeScript acquisition functions on the shared acquisition fixture."""

import json
import os

import jsonschema
import pytest

from s3_finetune.contract import CONTRACT_DIR, InvalidInput, hyper_of, read_jsonl
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
        got = pick(name, fx["ids"], fx["probs"], fx["labels"], int(batch), seed=1)
        assert [(p["index"], p["id"]) for p in got] == [(p["index"], p["id"]) for p in want], key
        assert [p["score"] for p in got] == [p["score"] for p in want], key


def test_read_jsonl_splits_lines_at_newline_only(tmp_path):
    # JSON.stringify (data/jsonl.ts) leaves U+0085, U+2028 and U+2029 unescaped inside strings;
    # the SpamAssassin corpus has e-mails with U+0085. str.splitlines() would cut those rows.
    texts = ["a\x85b", "c\u2028d\u2029e", "f\r\ng"]
    body = "".join(json.dumps({"text": t, "label": "ham"}, ensure_ascii=False) + "\n" for t in texts)
    p = tmp_path / "rows.jsonl"
    p.write_bytes((body + "\r\n" + "{not json\n").encode())
    with pytest.raises(InvalidInput, match=r"rows\.jsonl:5: not JSON"):
        read_jsonl(str(p))
    p.write_bytes(body.encode())
    assert [r["text"] for r in read_jsonl(str(p))] == texts

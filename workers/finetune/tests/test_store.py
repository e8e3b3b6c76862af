"""The finetune worker's artifact store (s3_finetune/store.py), the Python side of store/local.ts:
file:// URIs encoded as Node encodes them (shared fixture), atomic and idempotent writes, the
sha256 of a reference checked on read, keys confined under the root, exists and list, and the
activity reading and writing through the run's store (TaskRefs.runUri)."""

import hashlib
import json
import os

import pytest

from s3_finetune.contract import InvalidInput, write_jsonl
from s3_finetune.store import (
    IntegrityError,
    LocalFolderStore,
    file_uri,
    folder_uri,
    path_of_file_uri,
    ref_uri,
    run_store,
    store_for,
)

from .conftest import load_fixture

ROWS = [
    {"id": "a", "text": "good film", "label": "positive"},
    {"id": "b", "text": "dull", "label": "negative"},
    {"id": "c", "text": "fine", "label": "positive"},
]


def test_file_uris_match_the_typescript_side():
    for case in load_fixture("file-uris.json")["cases"]:
        assert file_uri(case["path"]) == case["uri"], case["path"]
        assert path_of_file_uri(case["uri"]) == case["path"]


def test_put_jsonl_writes_the_typescript_bytes_and_reference(tmp_path):
    store = LocalFolderStore(str(tmp_path))
    ref = store.put_jsonl("r1/round-1/misclassified.jsonl", ROWS, lambda r: r["label"])
    path = os.path.join(str(tmp_path), "r1", "round-1", "misclassified.jsonl")
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in ROWS).encode()
    assert ref == {
        "path": path,
        "uri": file_uri(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "count": 3,
        "labelCounts": {"positive": 2, "negative": 1},
    }
    with open(path, "rb") as f:
        assert f.read() == data
    assert store.read_jsonl(ref) == ROWS
    assert store.read_jsonl("r1/round-1/misclassified.jsonl") == ROWS
    assert os.listdir(os.path.dirname(path)) == ["misclassified.jsonl"]  # no temporary file left


def test_rewriting_identical_bytes_is_a_no_op(tmp_path):
    store = LocalFolderStore(str(tmp_path))
    first = store.put("r/config.json", b'{"a":1}\n')
    assert first["written"] is True
    os.utime(first["path"], (1_000_000_000, 1_000_000_000))
    again = store.put("r/config.json", b'{"a":1}\n')
    assert again == {**first, "written": False}
    assert os.path.getmtime(first["path"]) == 1_000_000_000
    changed = store.put("r/config.json", b'{"a":2}\n')
    assert changed["written"] is True and store.get("r/config.json") == b'{"a":2}\n'


def test_a_changed_artifact_fails_with_the_uri_and_both_hashes(tmp_path):
    store = LocalFolderStore(str(tmp_path))
    ref = store.put_jsonl("r/rows.jsonl", ROWS, lambda r: r["label"])
    with open(ref["path"], "w") as f:
        f.write('{"id": "a", broken\n')
    with open(ref["path"], "rb") as f:
        actual = hashlib.sha256(f.read()).hexdigest()
    with pytest.raises(IntegrityError) as e:
        store.read_jsonl(ref)  # the mismatch, not the parse error of the changed bytes
    assert isinstance(e.value, InvalidInput)
    assert (e.value.uri, e.value.expected, e.value.actual) == (ref["uri"], ref["sha256"], actual)
    assert str(e.value).startswith(f"{ref['uri']}: sha256 mismatch: the reference expects {ref['sha256']}")
    assert f"hash to {actual}" in str(e.value)
    with pytest.raises(IntegrityError):
        store.get(ref)


def test_old_references_with_only_a_path_are_read_and_checked(tmp_path):
    ref = write_jsonl(str(tmp_path / "gold" / "validation.jsonl"), ROWS, lambda r: r["label"])
    old = {k: v for k, v in ref.items() if k != "uri"}
    assert ref_uri(old) == ref["uri"] == file_uri(ref["path"])
    assert LocalFolderStore(str(tmp_path / "elsewhere")).read_jsonl(old) == ROWS
    assert store_for(ref["uri"]).root == str(tmp_path / "gold")
    with pytest.raises(IntegrityError):
        LocalFolderStore(str(tmp_path)).read_jsonl({**old, "sha256": "0" * 64})
    with pytest.raises(InvalidInput, match="neither uri nor path"):
        ref_uri({})


def test_jsonl_errors_name_the_file_and_line(tmp_path):
    store = LocalFolderStore(str(tmp_path))
    store.put("r/bad.jsonl", (json.dumps(ROWS[0]) + "\n\n{not json\n").encode())
    with pytest.raises(InvalidInput, match=r"bad\.jsonl:3: not JSON"):
        store.read_jsonl("r/bad.jsonl")
    with pytest.raises(InvalidInput, match=r"missing\.jsonl: no such file"):
        store.read_jsonl("r/missing.jsonl")


def test_keys_exists_and_list(tmp_path):
    store = LocalFolderStore(str(tmp_path))
    for bad in ["", "/abs", "../up", "a/../b", "a//b", "a\\b", "./a"]:
        with pytest.raises(ValueError):
            store.uri_of(bad)
    store.put("r1/round-0/misclassified.jsonl", b"{}\n")
    store.put("r1/report.md", b"# r1\n")
    store.put("r10/report.md", b"# r10\n")
    (tmp_path / "r1" / "report.md.tmp-12-0badf00d").write_bytes(b"half")
    assert store.exists("r1/report.md") and not store.exists("r1/none.md") and not store.exists("r1/round-0")
    assert store.list("r1/") == ["r1/report.md", "r1/round-0/misclassified.jsonl"]
    assert store.list("r1") == ["r1/report.md", "r1/round-0/misclassified.jsonl", "r10/report.md"]
    assert store.list("none/") == []
    assert store.key_of(store.uri_of("r1/round-0/misclassified.jsonl")) == "r1/round-0/misclassified.jsonl"
    assert store.key_of(store.uri_of("r1/")) == "r1/"
    assert store.key_of(file_uri(str(tmp_path.parent))) is None
    assert store.root_uri == folder_uri(str(tmp_path))


def test_run_store_is_rooted_at_the_run_uri_or_the_old_run_dir(tmp_path):
    run = str(tmp_path / "runs" / "r1")
    assert run_store({"runUri": folder_uri(run), "runDir": "/elsewhere"}).root == run
    assert run_store({"runDir": run}).root == run
    assert run_store({"runUri": "s3://bucket/r1/", "runDir": run}).root_uri == "s3://bucket/r1/"
    with pytest.raises(InvalidInput, match="file:// URIs"):
        run_store({"runUri": "gs://bucket/r1/", "runDir": run})


def test_the_activity_reads_and_writes_through_the_run_store(payload, tmp_path):
    from s3_finetune.activity import evaluate

    # a training reference whose file changed after it was recorded is refused before training
    changed = {**payload, "train": [{**payload["train"][0], "sha256": "0" * 64}]}
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        evaluate(changed, max_steps=1)
    # outputs go under TaskRefs.runUri (here another folder than the old runDir)
    run = str(tmp_path / "store-run")
    payload["task"]["runUri"] = folder_uri(run)
    payload["config"]["student"]["finetune"]["export"] = False
    out = evaluate(payload, max_steps=1)
    ref = out["misclassified"]
    assert ref["uri"] == file_uri(os.path.join(run, "round-0", "picked.jsonl"))
    assert ref["path"] == path_of_file_uri(ref["uri"])
    assert LocalFolderStore(run).list("") == ["round-0/picked.jsonl"]


def test_the_fixture_references_resolve_by_uri_or_by_path():
    fx = load_fixture("train-input.json")
    task = fx["task"]
    refs = [task["validation"], task["test"], task["contexts"], *fx["train"]]
    assert any("uri" in r for r in refs) and any("uri" not in r for r in refs)  # new and old references
    for ref in refs:
        assert ref_uri(ref) == file_uri(ref["path"])
    assert run_store(task).root == "/RUN"

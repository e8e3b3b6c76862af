"""The finetune worker's object store (s3_finetune/store.py S3ObjectStore, boto3) against a REAL
S3-compatible server: versitygw (Apache-2.0), built by `S3_OBJECT_STORE=1 bash scripts/setup.sh`
into .tools/object-store/bin (or $S3_OBJECT_STORE_BIN), started here on loopback; skipped when the
binary or boto3 is missing. Same contract as the TypeScript store/s3.ts: the sha256 as object
metadata, an identical rewrite skipped, the sha256 of a reference checked on read, clear errors;
the bounded local read-through copy of reads by sha256 (S3 calls counted by botocore's
before-call events on the client: every request the client makes) and multipart uploads above a
(lowered) threshold."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from s3_finetune.contract import ROOT, InvalidInput
from s3_finetune.local_cache import LocalReadCache
from s3_finetune.store import IntegrityError, S3ObjectStore, StoreAccessError, run_store, store_for

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e workers/finetune)")

BIN = os.environ.get("S3_OBJECT_STORE_BIN") or os.path.join(ROOT, ".tools", "object-store", "bin", "versitygw")
pytestmark = pytest.mark.skipif(
    not os.path.exists(BIN),
    reason="no S3-compatible server: build versitygw with `S3_OBJECT_STORE=1 bash scripts/setup.sh`",
)

ROWS = [
    {"id": "a", "text": "good film", "label": "positive"},
    {"id": "b", "text": "dull ✓", "label": "negative"},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    root = tempfile.mkdtemp(prefix="s3-objstore-py-")
    os.makedirs(os.path.join(root, "data"))
    os.makedirs(os.path.join(root, "meta"))
    port = _free_port()
    key, secret = "s3synthtest", "s3synthtestsecret"
    proc = subprocess.Popen(
        [BIN, "--port", f"127.0.0.1:{port}", "--access", key, "--secret", secret, "--quiet", "posix"]
        + ["--sidecar", os.path.join(root, "meta"), os.path.join(root, "data")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("versitygw did not start")
            time.sleep(0.1)
    old = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = key, secret
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="py-test")
    yield {"endpoint": endpoint, "bucket": "py-test", "root": root}
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def local_copy_folder(tmp_path, monkeypatch):
    """Each test's local read-through copy in a folder of its own (not the machine's default)."""
    folder = str(tmp_path / "local-copy")
    monkeypatch.setenv("S3_STORE_LOCAL_CACHE", folder)
    monkeypatch.delenv("S3_STORE_LOCAL_CACHE_BYTES", raising=False)
    return folder


@pytest.fixture
def calls(server):
    """S3 operations the shared client of the test endpoint makes (GetObject, PutObject, …), counted."""
    counts: dict[str, int] = {}
    client = store_for(f"s3://{server['bucket']}/", {"endpoint": server["endpoint"]}).client

    def count(model, **_):
        counts[model.name] = counts.get(model.name, 0) + 1

    client.meta.events.register("before-call.s3", count, unique_id="count-calls")
    yield counts
    client.meta.events.unregister("before-call.s3", unique_id="count-calls")


def test_round_trip_idempotent_and_checked(server):
    opts = {"endpoint": server["endpoint"]}
    task = {"runDir": "/unused", "runUri": f"s3://{server['bucket']}/runs/r1/"}
    store = run_store(task, opts)
    ref = store.put_jsonl("round-1/misclassified.jsonl", ROWS, lambda r: r["label"])
    assert ref["uri"] == f"s3://{server['bucket']}/runs/r1/round-1/misclassified.jsonl"
    assert ref["count"] == 2 and ref["labelCounts"] == {"positive": 1, "negative": 1}
    data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in ROWS).encode()
    assert ref["sha256"] == hashlib.sha256(data).hexdigest()
    assert store.put("round-1/misclassified.jsonl", data)["written"] is False
    # any reader of the URI (the TypeScript side too) gets the same rows, sha256 checked
    assert store_for(ref["uri"]).read_jsonl(ref) == ROWS
    assert store.exists("round-1/misclassified.jsonl") and not store.exists("round-1/nothing.jsonl")
    assert store.list("round-1/") == ["round-1/misclassified.jsonl"]
    store.put("round-1/misclassified.jsonl", b'{"id":"z","text":"t","label":"positive"}\n')
    # the reference's bytes from this machine's local copy; without one, the changed object is refused
    assert store.read_jsonl(ref) == ROWS
    direct = S3ObjectStore(task["runUri"], opts, local_cache=False)
    with pytest.raises(IntegrityError) as e:
        direct.read_jsonl(ref)
    assert e.value.uri == ref["uri"] and e.value.expected == ref["sha256"]
    with pytest.raises(InvalidInput, match="object not found"):
        store.get("round-1/missing.jsonl")


def test_publish_dir_uploads_the_staged_folder(server, monkeypatch, tmp_path):
    monkeypatch.setenv("S3_FINETUNE_SCRATCH", str(tmp_path))
    store = run_store({"runDir": "/unused", "runUri": f"s3://{server['bucket']}/runs/r2/"}, server)
    local = store.local_dir("student")
    os.makedirs(os.path.join(local, "onnx"))
    with open(os.path.join(local, "onnx", "model.onnx"), "wb") as f:
        f.write(b"model")
    assert store.publish_dir("student") == ["student/onnx/model.onnx"]
    assert store.get("student/onnx/model.onnx") == b"model"


def test_unreachable_store_names_the_uri():
    store = store_for("s3://py-test/x/", {"endpoint": "http://127.0.0.1:9", "region": "eu-dead-1"})
    with pytest.raises(StoreAccessError, match=r"artifact store s3://py-test/x/k: cannot reach the endpoint"):
        store.get("k")


def test_the_activity_reads_and_writes_through_an_object_store(server, payload, monkeypatch, tmp_path):
    """trainAndEvaluate with the run in the bucket: references read by s3:// URI (sha256 checked),
    picked.jsonl written to the bucket, the ONNX export staged locally and uploaded."""
    from s3_finetune.activity import evaluate

    monkeypatch.setenv("S3_FINETUNE_SCRATCH", str(tmp_path / "scratch"))
    artifacts = {"uri": f"s3://{server['bucket']}/runs", "endpoint": server["endpoint"]}
    run_uri = f"s3://{server['bucket']}/runs/ft-run/"
    store = store_for(run_uri, artifacts)
    local = run_store(payload["task"])  # the fixture's local run folder: copy its artifacts to the bucket
    label_of = lambda r: r["label"]  # noqa: E731
    task = payload["task"]
    task["validation"] = store.put_jsonl("gold/validation.jsonl", local.read_jsonl(task["validation"]), label_of)
    task["test"] = store.put_jsonl("gold/test.jsonl", local.read_jsonl(task["test"]), label_of)
    payload["train"] = [store.put_jsonl("synthetic/seed.jsonl", local.read_jsonl(payload["train"][0]), label_of)]
    task["runUri"], task["runDir"] = run_uri, "/nonexistent/ft-run"
    payload["config"]["artifacts"] = artifacts
    payload["config"]["student"]["finetune"]["export"] = True
    out = evaluate(payload, max_steps=1)
    assert out["misclassified"]["uri"] == run_uri + "round-0/picked.jsonl"
    keys = store.list("")
    assert "round-0/picked.jsonl" in keys
    assert any(k.startswith("student/") and k.endswith(".onnx") for k in keys), keys
    assert not os.path.exists("/nonexistent/ft-run")


def test_missing_credentials_name_the_uri(server, monkeypatch):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    store = store_for(f"s3://{server['bucket']}/y/", {"endpoint": server["endpoint"], "region": "eu-nocreds-1"})
    with pytest.raises(
        StoreAccessError, match=r"artifact store s3://py-test/y/k: no credentials: set AWS_ACCESS_KEY_ID"
    ):
        store.get("k")


def test_second_read_by_sha256_makes_no_get_object(server, calls, local_copy_folder):
    store = store_for(f"s3://{server['bucket']}/hits/", {"endpoint": server["endpoint"]})
    ref = store.put_jsonl("gold/validation.jsonl", ROWS, lambda r: r["label"])
    assert store.read_jsonl(ref) == ROWS
    assert calls.get("GetObject") == 1
    assert os.path.isfile(os.path.join(local_copy_folder, ref["sha256"]))
    assert store.read_jsonl(ref) == ROWS
    assert store.get("gold/validation.jsonl", ref["sha256"]).decode().count("\n") == 2
    assert calls.get("GetObject") == 1, "second and third read by sha256: served locally"
    assert store.local_cache.stats["hits"] >= 2
    # without an expected sha256: always the store, nothing kept
    before = sorted(os.listdir(local_copy_folder))
    store.get("gold/validation.jsonl")
    store.get("gold/validation.jsonl")
    assert calls.get("GetObject") == 3
    assert sorted(os.listdir(local_copy_folder)) == before


def test_a_corrupted_local_copy_is_fetched_again(server, calls, local_copy_folder):
    store = store_for(f"s3://{server['bucket']}/corrupt/", {"endpoint": server["endpoint"]})
    put = store.put("a.txt", b"the right bytes")
    assert store.get({"uri": put["uri"], "sha256": put["sha256"]}) == b"the right bytes"
    copy = os.path.join(local_copy_folder, put["sha256"])
    with open(copy, "wb") as f:
        f.write(b"the wrong bytes")
    assert store.get({"uri": put["uri"], "sha256": put["sha256"]}) == b"the right bytes"
    assert calls.get("GetObject") == 2
    with open(copy, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == put["sha256"], "replaced by the verified bytes"
    assert store.get({"uri": put["uri"], "sha256": put["sha256"]}) == b"the right bytes"
    assert calls.get("GetObject") == 2


def test_eviction_keeps_the_folder_under_its_bound(server, calls, tmp_path):
    cache = LocalReadCache(str(tmp_path / "bound"), 10_000)
    store = S3ObjectStore(f"s3://{server['bucket']}/bound/", {"endpoint": server["endpoint"]}, local_cache=cache)
    puts = [store.put(f"o{i}.bin", bytes([i]) * 3000) for i in range(8)]
    for p in puts:
        store.get({"uri": p["uri"], "sha256": p["sha256"]})
        held = sum(os.path.getsize(os.path.join(cache.dir, n)) for n in os.listdir(cache.dir))
        assert held <= 10_000, held
        time.sleep(0.02)  # distinct mtimes
    assert sorted(os.listdir(cache.dir)) == sorted(p["sha256"] for p in puts[5:]), "the three most recently read"
    assert cache.stats["evicted"] == 5
    before = calls.get("GetObject")
    store.get({"uri": puts[0]["uri"], "sha256": puts[0]["sha256"]})
    assert calls.get("GetObject") == before + 1, "an evicted copy is fetched again"


def test_a_body_above_the_threshold_is_uploaded_in_parts(server, calls):
    store = S3ObjectStore(
        f"s3://{server['bucket']}/mp/",
        {"endpoint": server["endpoint"]},
        multipart_bytes=1 << 20,
        part_bytes=5 << 20,
    )
    big = hashlib.sha256(b"seed").digest() * ((11 << 20) // 32)  # 11 MiB
    put = store.put("big/model.bin", big)
    assert put["written"] is True and put["sha256"] == hashlib.sha256(big).hexdigest()
    assert calls.get("CreateMultipartUpload") == 1
    assert calls.get("UploadPart") == 3, "11 MiB in parts of 5 MiB"
    assert calls.get("CompleteMultipartUpload") == 1
    assert calls.get("PutObject") is None
    head = store.client.head_object(Bucket=server["bucket"], Key="mp/big/model.bin")
    assert head["Metadata"]["sha256"] == put["sha256"], "the sha256 metadata kept"
    assert store.get("big/model.bin", put["sha256"]) == big
    assert store.put("big/model.bin", big)["written"] is False, "same sha256 and size: no upload"
    assert calls.get("CreateMultipartUpload") == 1
    assert store.put("big/small.txt", b"under the threshold")["written"] is True
    assert calls.get("PutObject") == 1
    with pytest.raises(ValueError, match="at least 5242880 bytes"):
        S3ObjectStore(f"s3://{server['bucket']}/mp/", part_bytes=1 << 20)

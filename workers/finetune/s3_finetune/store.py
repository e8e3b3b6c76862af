"""The artifact store as the finetune worker sees it: the Python side of store/ (TypeScript).

Same contract as store/local.ts LocalFolderStore:
- artifacts are named by `file://` URIs (percent-encoded as Node's pathToFileURL does, so both
  workers write the same URI for the same file); a reference (DatasetRef) carries `uri` and, from
  a local folder, `path`; references recorded before `uri` existed carry only `path` (ref_uri);
- keys are '/'-separated and relative to the store's root (no "..", no leading "/");
- writes are atomic (temporary file in the same folder, fsync, os.replace) and idempotent
  (rewriting identical bytes leaves the file untouched);
- a read by reference checks the sha256 the reference carries (IntegrityError naming the URI,
  the expected and the actual hash).

The worker opens the run's store at TaskRefs.runUri (the run folder; old histories: runDir):
a local folder (LocalFolderStore), or S3-compatible object storage (`s3://bucket/prefix/`,
S3ObjectStore, boto3) with the endpoint / region / path style of the run's `artifacts`
configuration; credentials only from the environment (boto3's default chain). An object PUT is
atomic; the sha256 is stored as object metadata (`x-amz-meta-sha256`, as store/s3.ts does) and a
write of the same bytes is skipped. Bodies above `S3_STORE_MULTIPART_BYTES` (default 16 MiB) are
uploaded in parts (boto3's managed transfer, upload_fileobj with a TransferConfig; the object
appears when the upload completes), with the same metadata. A read that names the sha256 it expects
(a reference's) is served from the bounded local read-through copy (local_cache.py:
`S3_STORE_LOCAL_CACHE`, `S3_STORE_LOCAL_CACHE_BYTES`) when this machine already holds those bytes,
without a call to the store; reads without an expected sha256 always go to the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from . import local_cache as local_cache_module
from .contract import InvalidInput, parse_jsonl

# printable ASCII that Node's pathToFileURL (Node 20) leaves as is; every other byte is %XX
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$&'()*+,-./:;=@_")
# the temporary files of in-flight writes (never listed), as store/local.ts names them
_TMP = re.compile(r"\.tmp-\d+-[0-9a-f]{8}$")


class IntegrityError(InvalidInput):
    """An artifact whose bytes are not the ones its reference recorded (non-retryable)."""

    def __init__(self, uri: str, expected: str, actual: str):
        super().__init__(
            f"{uri}: sha256 mismatch: the reference expects {expected}, the stored bytes hash to {actual} "
            "(the artifact changed after its reference was recorded)"
        )
        self.uri, self.expected, self.actual = uri, expected, actual


def file_uri(path: str) -> str:
    """The file:// URI of a local path (made absolute), encoded as Node's pathToFileURL does."""
    raw = os.path.abspath(path).encode("utf-8")
    return "file://" + "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in raw)


def folder_uri(path: str) -> str:
    """The file:// URI of a folder, ending in "/" (a store root)."""
    uri = file_uri(path)
    return uri if uri.endswith("/") else uri + "/"


def path_of_file_uri(uri: str) -> str:
    """The local path of a file:// URI. @raises InvalidInput for another scheme."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise InvalidInput(f"{uri}: the finetune worker reads local artifacts only (file:// URIs)")
    return unquote(parts.path)


def ref_uri(ref: dict[str, Any]) -> str:
    """The URI of a reference: its uri, else the file:// URI of its path (old references)."""
    if ref.get("uri"):
        return ref["uri"]
    if ref.get("path"):
        return file_uri(ref["path"])
    raise InvalidInput("artifact reference has neither uri nor path")


def check_key(key: str) -> list[str]:
    """The parts of a relative '/'-separated key (a trailing "/" names a folder). @raises ValueError"""
    body = key[:-1] if key.endswith("/") else key
    parts = body.split("/")
    if not body or key.startswith("/") or "\\" in key or "\0" in key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid artifact key {key!r}: expected a relative '/'-separated key")
    return parts


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _holds(path: str, data: bytes, digest: str) -> bool:
    """Whether path is a file holding exactly these bytes."""
    try:
        return os.path.isfile(path) and os.path.getsize(path) == len(data) and _sha256_file(path) == digest
    except OSError:
        return False


class LocalFolderStore:
    """The artifact store on a local folder (store/local.ts LocalFolderStore)."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.root_uri = folder_uri(self.root)

    def path_of(self, key: str) -> str:
        return os.path.join(self.root, *check_key(key))

    def uri_of(self, key: str) -> str:
        path = self.path_of(key)
        return folder_uri(path) if key.endswith("/") else file_uri(path)

    def key_of(self, uri: str) -> str | None:
        try:
            rel = os.path.relpath(path_of_file_uri(uri), self.root)
        except InvalidInput:
            return None
        if rel == "." or rel.startswith(".."):
            return None
        return rel.replace(os.sep, "/") + ("/" if uri.endswith("/") else "")

    def local_dir(self, key: str) -> str:
        """A local folder of the run for what is not one artifact (training checkpoints, the ONNX
        export folder). A store without local files (issue 17) stages and uploads these."""
        return self.path_of(key)

    def publish_dir(self, key: str) -> list[str]:
        """Nothing to do: local_dir(key) is already in the store."""
        return []

    def _locate(self, target: str | dict[str, Any], sha256: str | None) -> tuple[str, str, str | None]:
        if isinstance(target, str):
            return self.path_of(target), self.uri_of(target), sha256
        uri = ref_uri(target)
        return path_of_file_uri(uri), uri, target.get("sha256") or sha256

    def put(self, key: str, data: bytes) -> dict[str, Any]:
        """Writes bytes atomically; a no-op (written: False) when the file already holds them."""
        path = self.path_of(key)
        digest = hashlib.sha256(data).hexdigest()
        out = {"uri": self.uri_of(key), "path": path, "sha256": digest, "bytes": len(data)}
        if _holds(path, data, digest):
            return {**out, "written": False}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return {**out, "written": True}

    def get(self, target: str | dict[str, Any], sha256: str | None = None) -> bytes:
        """Bytes of a key or reference; a reference's sha256 (or `sha256`) is checked.
        @raises InvalidInput when missing; IntegrityError on a sha256 mismatch."""
        path, uri, expected = self._locate(target, sha256)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError as e:
            raise InvalidInput(f"{path}: no such file (is the s3-train worker on the machine that holds runs/?)") from e
        _check_sha256(uri, expected, data)
        return data

    def put_jsonl(
        self, key: str, rows: Iterable[dict[str, Any]], label_of: Callable[[dict[str, Any]], str]
    ) -> dict[str, Any]:
        """Writes rows as JSON Lines; returns the DatasetRef {path, uri, sha256, count, labelCounts}."""
        return _put_jsonl(self, key, rows, label_of)

    def read_jsonl(self, target: str | dict[str, Any], sha256: str | None = None) -> list[dict[str, Any]]:
        """Examples of a JSONL artifact (contract.parse_jsonl), sha256 checked first."""
        path, _, _ = self._locate(target, sha256)
        return parse_jsonl(self.get(target, sha256), path)

    def exists(self, target: str | dict[str, Any]) -> bool:
        return os.path.isfile(self._locate(target, None)[0])

    def list(self, prefix: str) -> list[str]:
        """Keys under the root starting with `prefix` (a key prefix), sorted; temporary files skipped."""
        cut = prefix.rfind("/")
        base = prefix[: cut + 1] if cut >= 0 else ""
        top = self.path_of(base) if base else self.root
        keys = []
        for folder, _, files in os.walk(top):
            for name in files:
                if _TMP.search(name):
                    continue
                rel = os.path.relpath(os.path.join(folder, name), top).replace(os.sep, "/")
                if (base + rel).startswith(prefix):
                    keys.append(base + rel)
        return sorted(keys)


class StoreAccessError(RuntimeError):
    """A store that cannot be used: unreachable, no credentials, credentials refused, no bucket
    (retryable: another attempt may run on a worker that has them)."""

    def __init__(self, uri: str, message: str):
        super().__init__(f"artifact store {uri}: {message}")
        self.uri = uri


SHA256_METADATA = "sha256"
DEFAULT_MULTIPART_BYTES = 16 * 1024**2
MIN_PART_BYTES = 5 * 1024**2
_DEFAULT_PART_BYTES = 8 * 1024**2
_S3_URI = re.compile(r"^s3://([^/]+)/?(.*)$", re.IGNORECASE)
_clients: dict[tuple[Any, ...], Any] = {}
# the options a bucket was opened with in this process, for store_for(uri) without a configuration
_bucket_options: dict[str, dict[str, Any]] = {}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI. @raises InvalidInput for another URI."""
    m = _S3_URI.match(uri)
    if not m:
        raise InvalidInput(f"not an s3:// URI: {uri}")
    return m.group(1), m.group(2)


def s3_options(options: dict[str, Any] | None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """endpoint, region, forcePathStyle with the environment's defaults (as store/s3.ts s3OptionsOf)."""
    env = os.environ if env is None else env
    options = options or {}
    endpoint = options.get("endpoint") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    region = options.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    path_style = options.get("forcePathStyle")
    return {
        "endpoint": endpoint,
        "region": region,
        "forcePathStyle": (endpoint is not None) if path_style is None else bool(path_style),
    }


def _client(opts: dict[str, Any]) -> Any:
    key = (opts["endpoint"], opts["region"], opts["forcePathStyle"])
    if key not in _clients:
        import boto3  # only workers that use an object store need it
        from botocore.config import Config

        # a session of its own: credentials are resolved from the environment when the client is made
        _clients[key] = boto3.session.Session().client(
            "s3",
            endpoint_url=opts["endpoint"],
            region_name=opts["region"],
            config=Config(
                s3={"addressing_style": "path" if opts["forcePathStyle"] else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
    return _clients[key]


def _explain(err: BaseException, uri: str, endpoint: str | None) -> BaseException:
    """The error to raise for a failed call on `uri` (missing objects are handled by the caller)."""
    from botocore import exceptions as bx

    where = f"the endpoint {endpoint}" if endpoint else "AWS S3"
    if isinstance(err, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return StoreAccessError(
            uri,
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, SSO, a web identity, "
            "an instance role) in the environment of every worker; credentials are never read from the configuration",
        )
    if isinstance(err, bx.ClientError):
        code = err.response.get("Error", {}).get("Code", "")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return StoreAccessError(uri, f"the bucket does not exist at {where} (create it first)")
        if status == 403 or code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
            return StoreAccessError(uri, f"the credentials were refused by {where} ({code or 'HTTP 403'}): check them")
        return err
    if isinstance(err, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return StoreAccessError(
            uri, f"cannot reach {where} ({err}); check artifacts.endpoint, AWS_ENDPOINT_URL_S3 and the network"
        )
    return err


def _not_found(err: BaseException) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(err, ClientError):
        return False
    code = err.response.get("Error", {}).get("Code", "")
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("NoSuchKey", "NotFound", "404") or (status == 404 and code != "NoSuchBucket")


class S3ObjectStore:
    """The artifact store on S3-compatible object storage (store/s3.ts S3ObjectStore).

    `local_cache`: the local read-through copy (a LocalReadCache, or False for none; default from
    S3_STORE_LOCAL_CACHE / S3_STORE_LOCAL_CACHE_BYTES). `multipart_bytes`: bodies above it are
    uploaded in parts (default S3_STORE_MULTIPART_BYTES, else 16 MiB); `part_bytes`: the part size
    (>= 5 MiB; default 8 MiB, more when 9,000 parts would not hold the body).
    @raises InvalidInput for a URI that is not s3://; ValueError for an invalid key prefix,
    S3_STORE_LOCAL_CACHE_BYTES, S3_STORE_MULTIPART_BYTES or a part size under 5 MiB."""

    def __init__(
        self,
        uri: str,
        options: dict[str, Any] | None = None,
        *,
        local_cache: local_cache_module.LocalReadCache | bool | None = None,
        multipart_bytes: int | None = None,
        part_bytes: int | None = None,
    ):
        bucket, key = parse_s3_uri(uri)
        prefix = key.rstrip("/")
        if prefix:
            check_key(prefix)
        self.bucket = bucket
        self.prefix = prefix + "/" if prefix else ""
        self.root_uri = f"s3://{bucket}/{self.prefix}"
        names = ("endpoint", "region", "forcePathStyle")
        given = {k: v for k, v in (options or {}).items() if k in names and v is not None}
        if given:
            _bucket_options[bucket] = given
        self.options = s3_options(given or _bucket_options.get(bucket))
        if isinstance(local_cache, local_cache_module.LocalReadCache):
            self.local_cache: local_cache_module.LocalReadCache | None = local_cache
        elif local_cache is False:
            self.local_cache = None
        else:
            opts = local_cache_module.options_from_env()
            self.local_cache = local_cache_module.shared(opts["dir"], opts["max_bytes"]) if opts else None
        if multipart_bytes is None:
            raw = (os.environ.get("S3_STORE_MULTIPART_BYTES") or "").strip()
            if raw and not raw.isdigit():
                raise ValueError(f'S3_STORE_MULTIPART_BYTES must be a whole number of bytes, not "{raw}"')
            multipart_bytes = int(raw) if raw else DEFAULT_MULTIPART_BYTES
        self.multipart_bytes = multipart_bytes
        if part_bytes is not None and part_bytes < MIN_PART_BYTES:
            raise ValueError(f"a part of a multipart upload holds at least {MIN_PART_BYTES} bytes, not {part_bytes}")
        self.part_bytes = part_bytes

    @property
    def client(self) -> Any:
        """The boto3 client (created on first use; shared by stores with the same options)."""
        return _client(self.options)

    def uri_of(self, key: str) -> str:
        check_key(key)
        return self.root_uri + key

    def key_of(self, uri: str) -> str | None:
        if not uri.startswith(self.root_uri) or uri == self.root_uri:
            return None
        return uri[len(self.root_uri) :]

    def local_dir(self, key: str) -> str:
        """A local staging folder for what is not one artifact (training checkpoints, the ONNX export
        folder): under $S3_FINETUNE_SCRATCH (default <tmp>/s3-finetune); publish_dir uploads it."""
        import tempfile

        scratch = os.environ.get("S3_FINETUNE_SCRATCH") or os.path.join(tempfile.gettempdir(), "s3-finetune")
        return os.path.join(scratch, self.bucket, *check_key(self.prefix + key))

    def publish_dir(self, key: str) -> list[str]:
        """Uploads every file of local_dir(key) to `<key>/<relative path>`; returns the keys written."""
        top = self.local_dir(key)
        base = key.rstrip("/") + "/"
        keys = []
        for folder, _, files in os.walk(top):
            for name in sorted(files):
                full = os.path.join(folder, name)
                k = base + os.path.relpath(full, top).replace(os.sep, "/")
                with open(full, "rb") as f:
                    self.put(k, f.read())
                keys.append(k)
        return sorted(keys)

    def _locate(self, target: str | dict[str, Any], sha256: str | None) -> tuple[str, str, str, str | None]:
        if isinstance(target, str):
            check_key(target)
            return self.bucket, self.prefix + target, self.uri_of(target), sha256
        uri = ref_uri(target)
        bucket, key = parse_s3_uri(uri)
        return bucket, key, uri, target.get("sha256") or sha256

    def _head(self, bucket: str, key: str, uri: str) -> dict[str, Any] | None:
        try:
            h = self.client.head_object(Bucket=bucket, Key=key)
        except Exception as e:
            if _not_found(e):
                return None
            raise _explain(e, uri, self.options["endpoint"]) from e
        return {"bytes": h.get("ContentLength"), "sha256": (h.get("Metadata") or {}).get(SHA256_METADATA)}

    def put(self, key: str, data: bytes) -> dict[str, Any]:
        """One PUT, or a multipart upload above multipart_bytes (atomic either way: the object appears
        whole); a no-op (written: False) when the object already holds these bytes."""
        bucket, okey, uri, _ = self._locate(key, None)
        digest = hashlib.sha256(data).hexdigest()
        out = {"uri": uri, "path": uri, "sha256": digest, "bytes": len(data)}
        stored = self._head(bucket, okey, uri)
        if stored and stored["sha256"] == digest and stored["bytes"] == len(data):
            return {**out, "written": False}
        try:
            if len(data) > self.multipart_bytes:
                self._upload(bucket, okey, data, {SHA256_METADATA: digest})
            else:
                self.client.put_object(Bucket=bucket, Key=okey, Body=data, Metadata={SHA256_METADATA: digest})
        except Exception as e:
            cause = e.__cause__ or e.__context__ if type(e).__name__ == "S3UploadFailedError" else None
            raise _explain(cause or e, uri, self.options["endpoint"]) from e
        return {**out, "written": True}

    def _upload(self, bucket: str, key: str, data: bytes, metadata: dict[str, str]) -> None:
        """A multipart upload through boto3's managed transfer (parts of part_bytes, 4 threads)."""
        import io

        from boto3.s3.transfer import TransferConfig

        part = self.part_bytes or max(_DEFAULT_PART_BYTES, -(-len(data) // 9000))
        config = TransferConfig(multipart_threshold=self.multipart_bytes, multipart_chunksize=part, max_concurrency=4)
        self.client.upload_fileobj(io.BytesIO(data), bucket, key, ExtraArgs={"Metadata": metadata}, Config=config)

    def get(self, target: str | dict[str, Any], sha256: str | None = None) -> bytes:
        """Bytes of a key or reference; a reference's sha256 (or `sha256`) is checked. With an expected
        sha256, served from the local read-through copy when it holds those bytes (no store call),
        else the verified bytes are kept there.
        @raises InvalidInput when missing; IntegrityError on a sha256 mismatch; StoreAccessError."""
        bucket, key, uri, expected = self._locate(target, sha256)
        local = self.local_cache if local_cache_module.usable(expected) else None
        if local is not None:
            kept = local.read(expected)
            if kept is not None:
                return kept
        try:
            data = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as e:
            if _not_found(e):
                raise InvalidInput(f"{uri}: object not found") from e
            raise _explain(e, uri, self.options["endpoint"]) from e
        _check_sha256(uri, expected, data)
        if local is not None:
            local.write(expected, data)
        return data

    def put_jsonl(
        self, key: str, rows: Iterable[dict[str, Any]], label_of: Callable[[dict[str, Any]], str]
    ) -> dict[str, Any]:
        """Writes rows as JSON Lines; returns the DatasetRef {path (the URI), uri, sha256, count, labelCounts}."""
        return _put_jsonl(self, key, rows, label_of)

    def read_jsonl(self, target: str | dict[str, Any], sha256: str | None = None) -> list[dict[str, Any]]:
        """Examples of a JSONL artifact (contract.parse_jsonl), sha256 checked first."""
        return parse_jsonl(self.get(target, sha256), self._locate(target, sha256)[2])

    def exists(self, target: str | dict[str, Any]) -> bool:
        bucket, key, uri, _ = self._locate(target, None)
        return self._head(bucket, key, uri) is not None

    def list(self, prefix: str) -> list[str]:
        """Keys under the root starting with `prefix` (a key prefix), sorted."""
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            ):
                keys.extend(o["Key"][len(self.prefix) :] for o in page.get("Contents", []))
        except Exception as e:
            raise _explain(e, self.root_uri + prefix, self.options["endpoint"]) from e
        return sorted(keys)


def _check_sha256(uri: str, expected: str | None, data: bytes) -> None:
    """Raises IntegrityError when `expected` is given and the bytes' sha256 differs."""
    if expected is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise IntegrityError(uri, expected, actual)


def _put_jsonl(
    store: Any, key: str, rows: Iterable[dict[str, Any]], label_of: Callable[[dict[str, Any]], str]
) -> dict[str, Any]:
    rows = list(rows)
    data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows).encode()
    put = store.put(key, data)
    counts: dict[str, int] = {}
    for r in rows:
        counts[label_of(r)] = counts.get(label_of(r), 0) + 1
    return {"path": put["path"], "uri": put["uri"], "sha256": put["sha256"], "count": len(rows), "labelCounts": counts}


Store = LocalFolderStore | S3ObjectStore


def open_store(uri: str, options: dict[str, Any] | None = None) -> Store:
    """The store rooted at `uri`: a file:// folder URI, a local path, or s3://bucket/prefix/ (with
    `options`: the run's `artifacts` {endpoint, region, forcePathStyle})."""
    scheme = urlsplit(uri).scheme.lower()
    if scheme == "s3":
        return S3ObjectStore(uri, options)
    if scheme == "file":
        return LocalFolderStore(path_of_file_uri(uri))
    if len(scheme) <= 1:  # a bare path (or a Windows drive letter)
        return LocalFolderStore(uri)
    raise InvalidInput(f"no artifact store for {scheme}:// URIs ({uri}); use a local folder, file:// or s3://")


def store_for(uri: str, options: dict[str, Any] | None = None) -> Store:
    """The store rooted at a folder URI (ends in "/"), else at the folder holding the artifact."""
    if urlsplit(uri).scheme.lower() == "s3":
        return S3ObjectStore(uri if uri.endswith("/") else uri[: uri.rfind("/") + 1], options)
    path = path_of_file_uri(uri)
    return LocalFolderStore(path if uri.endswith("/") else os.path.dirname(path))


def run_store(task: dict[str, Any], artifacts: dict[str, Any] | None = None) -> Store:
    """The run's store: rooted at TaskRefs.runUri (old histories: runDir); `artifacts` (the run
    configuration's) gives an object store's endpoint, region and path style."""
    return store_for(task.get("runUri") or folder_uri(task["runDir"]), artifacts)

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

The worker opens the run's store at TaskRefs.runUri (the run folder; old histories: runDir).
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
        if expected is not None:
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                raise IntegrityError(uri, expected, actual)
        return data

    def put_jsonl(
        self, key: str, rows: Iterable[dict[str, Any]], label_of: Callable[[dict[str, Any]], str]
    ) -> dict[str, Any]:
        """Writes rows as JSON Lines; returns the DatasetRef {path, uri, sha256, count, labelCounts}."""
        rows = list(rows)
        data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows).encode()
        put = self.put(key, data)
        counts: dict[str, int] = {}
        for r in rows:
            counts[label_of(r)] = counts.get(label_of(r), 0) + 1
        return {
            "path": put["path"],
            "uri": put["uri"],
            "sha256": put["sha256"],
            "count": len(rows),
            "labelCounts": counts,
        }

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


def store_for(uri: str) -> LocalFolderStore:
    """The store rooted at a folder URI (ends in "/"), else at the folder holding the artifact."""
    path = path_of_file_uri(uri)
    return LocalFolderStore(path if uri.endswith("/") else os.path.dirname(path))


def run_store(task: dict[str, Any]) -> LocalFolderStore:
    """The run's store: rooted at TaskRefs.runUri (old histories: runDir)."""
    return store_for(task.get("runUri") or folder_uri(task["runDir"]))

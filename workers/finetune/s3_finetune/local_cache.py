"""The bounded local read-through copy of an object store: the Python side of store/localcache.ts.

Verified bytes are kept in a local folder under their sha256, so a read that names the sha256 it
expects (a DatasetRef: the validation and test splits the worker reads every training round) is
served from this machine's disk the second time, without a call to the store.

- Keyed by content: the file `<folder>/<sha256>` holds bytes whose sha256 is its name. Only reads
  that name the sha256 they expect use it (an object can be rewritten under the same key).
- Verified on every hit: the copy is hashed again; one that does not match is deleted and the read
  goes to the store (which then writes a fresh copy).
- Atomic writes: a temporary file in the same folder (`<sha256>.tmp-<pid>-<8 hex>`), then
  os.replace. The TypeScript workers use the same layout, so both may share one folder.
- Bounded: after each write the least recently used copies (oldest mtime; a hit touches its copy)
  are deleted until the folder holds at most `max_bytes`; an object larger than that is never
  copied. Temporary files older than 10 minutes (a crashed writer's) are deleted then too.
- Best effort: a local disk error never fails a read.

Configuration, per machine, from the environment (options_from_env): `S3_STORE_LOCAL_CACHE` (the
folder; default `<tempfile.gettempdir()>/s3-synth/store`, e.g. /tmp/s3-synth/store, the same folder
as the TypeScript default) and `S3_STORE_LOCAL_CACHE_BYTES` (default 1 GiB; 0 turns it off).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Mapping
from typing import Any

DEFAULT_MAX_BYTES = 1024**3
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TMP = re.compile(r"\.tmp-\d+-[0-9a-f]{8}$")
_STALE_TMP_S = 600


def default_dir() -> str:
    """`<tempfile.gettempdir()>/s3-synth/store` (the TypeScript default on the same machine)."""
    return os.path.join(tempfile.gettempdir(), "s3-synth", "store")


def options_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """{dir, max_bytes} from S3_STORE_LOCAL_CACHE / S3_STORE_LOCAL_CACHE_BYTES; None when the bound is 0.
    @raises ValueError when S3_STORE_LOCAL_CACHE_BYTES is not a whole number of bytes."""
    env = os.environ if env is None else env
    raw = (env.get("S3_STORE_LOCAL_CACHE_BYTES") or "").strip()
    max_bytes = DEFAULT_MAX_BYTES
    if raw:
        if not raw.isdigit():
            raise ValueError(f'S3_STORE_LOCAL_CACHE_BYTES must be a whole number of bytes (0: off), not "{raw}"')
        max_bytes = int(raw)
    if max_bytes == 0:
        return None
    folder = (env.get("S3_STORE_LOCAL_CACHE") or "").strip() or default_dir()
    return {"dir": os.path.abspath(folder), "max_bytes": max_bytes}


def usable(sha256: str | None) -> bool:
    """Whether `sha256` can name a local copy (64 lowercase hex digits)."""
    return sha256 is not None and _SHA256.match(sha256) is not None


class LocalReadCache:
    """Verified copies of objects in a local folder, by sha256, bounded by `max_bytes` (LRU by mtime)."""

    def __init__(self, folder: str, max_bytes: int):
        if max_bytes <= 0:
            raise ValueError(f"the local copy's bound must be a positive number of bytes, not {max_bytes}")
        self.dir = os.path.abspath(folder)
        self.max_bytes = max_bytes
        self.stats = {"hits": 0, "misses": 0, "corrupt": 0, "writes": 0, "evicted": 0}

    def file_of(self, sha256: str) -> str:
        """The file of the copy of `sha256`. @raises ValueError for anything but a hex sha256."""
        if not usable(sha256):
            raise ValueError(f"not a hex sha256: {sha256!r}")
        return os.path.join(self.dir, sha256)

    def read(self, sha256: str) -> bytes | None:
        """The verified copy of `sha256` (its mtime touched), or None (absent, or corrupt: then deleted)."""
        path = self.file_of(sha256)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            self.stats["misses"] += 1
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            self.stats["corrupt"] += 1
            self.stats["misses"] += 1
            try:
                os.remove(path)
            except OSError:
                pass
            return None
        try:
            os.utime(path)
        except OSError:
            pass
        self.stats["hits"] += 1
        return data

    def write(self, sha256: str, data: bytes) -> None:
        """Keeps `data` (verified by the caller to hash to `sha256`), then evicts beyond the bound.
        Bytes larger than the bound are not kept. Disk errors are swallowed."""
        if len(data) > self.max_bytes:
            return
        path = self.file_of(sha256)
        tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.makedirs(self.dir, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            self.stats["writes"] += 1
        except OSError:
            try:
                os.remove(tmp)
            except OSError:
                pass
            return
        try:
            self.evict()
        except OSError:
            pass

    def evict(self) -> int:
        """Deletes the least recently used copies until the folder holds at most max_bytes (and
        temporary files older than 10 minutes); returns the bytes the copies hold afterwards."""
        entries = []
        total = 0
        now = time.time()
        with os.scandir(self.dir) as it:
            for e in it:
                try:
                    if not e.is_file():
                        continue
                    st = e.stat()
                except OSError:
                    continue
                if _TMP.search(e.name):
                    if now - st.st_mtime > _STALE_TMP_S:
                        try:
                            os.remove(e.path)
                        except OSError:
                            pass
                    continue
                if not _SHA256.match(e.name):
                    continue
                entries.append((st.st_mtime_ns, e.path, st.st_size))
                total += st.st_size
        for _, path, size in sorted(entries):
            if total <= self.max_bytes:
                break
            try:
                os.remove(path)
            except OSError:
                pass
            total -= size
            self.stats["evicted"] += 1
        return total


_shared: dict[tuple[str, int], LocalReadCache] = {}


def shared(folder: str, max_bytes: int) -> LocalReadCache:
    """One LocalReadCache per (folder, bound) in this process."""
    key = (os.path.abspath(folder), max_bytes)
    if key not in _shared:
        _shared[key] = LocalReadCache(*key)
    return _shared[key]

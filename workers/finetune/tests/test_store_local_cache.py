"""s3_finetune/local_cache.py without a server: options from the environment, least recently used
eviction under the bound (a hit counts as a use), corrupt copies deleted, names confined to sha256s."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time

import pytest

from s3_finetune.local_cache import DEFAULT_MAX_BYTES, LocalReadCache, options_from_env, usable


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _held(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder) if usable(n))


def test_options_from_the_environment(tmp_path):
    default = os.path.join(tempfile.gettempdir(), "s3-synth", "store")
    assert options_from_env({}) == {"dir": default, "max_bytes": DEFAULT_MAX_BYTES}
    env = {"S3_STORE_LOCAL_CACHE": str(tmp_path), "S3_STORE_LOCAL_CACHE_BYTES": "4096"}
    assert options_from_env(env) == {"dir": str(tmp_path), "max_bytes": 4096}
    assert options_from_env({"S3_STORE_LOCAL_CACHE_BYTES": "0"}) is None
    with pytest.raises(ValueError, match="S3_STORE_LOCAL_CACHE_BYTES"):
        options_from_env({"S3_STORE_LOCAL_CACHE_BYTES": "1GB"})
    with pytest.raises(ValueError):
        LocalReadCache(str(tmp_path), 0)


def test_least_recently_used_copies_are_evicted(tmp_path):
    cache = LocalReadCache(str(tmp_path / "lru"), 3000)
    a, b, c, d = (bytes([i]) * 1000 for i in range(4))
    for blob in (a, b, c):
        cache.write(_sha(blob), blob)
        time.sleep(0.02)
    assert _held(cache.dir) == 3000
    assert cache.read(_sha(a)) == a  # a used again: now the newest
    time.sleep(0.02)
    cache.write(_sha(d), d)
    assert _held(cache.dir) <= 3000
    assert cache.read(_sha(b)) is None, "b, the least recently used, evicted"
    assert [cache.read(_sha(x)) for x in (a, c, d)] == [a, c, d]
    assert cache.stats["evicted"] == 1
    big = b"z" * 3001
    cache.write(_sha(big), big)
    assert not os.path.exists(cache.file_of(_sha(big))), "larger than the bound: not kept"


def test_a_corrupt_copy_is_deleted(tmp_path):
    cache = LocalReadCache(str(tmp_path), 1 << 20)
    cache.write(_sha(b"hello"), b"hello")
    with open(cache.file_of(_sha(b"hello")), "wb") as f:
        f.write(b"hellO")
    assert cache.read(_sha(b"hello")) is None
    assert not os.path.exists(cache.file_of(_sha(b"hello")))
    assert cache.stats["corrupt"] == 1
    with pytest.raises(ValueError):
        cache.file_of("../etc/passwd")

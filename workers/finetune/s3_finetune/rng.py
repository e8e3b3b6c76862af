"""domain/rng.ts ported: the same seeded stream (FNV-1a of "<seed>:<stream>", mulberry32), so
the Python worker draws exactly the samples the TypeScript side draws (S3's misclassified
sample under a cap, acquisition/misclassified.ts). Tested against values from the TS side."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")
MASK = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    """Math.imul: 32-bit multiplication, result as an unsigned 32-bit integer."""
    return (a * b) & MASK


def fnv1a(s: str) -> int:
    """32-bit FNV-1a over UTF-16 code units (JavaScript's charCodeAt)."""
    h = 0x811C9DC5
    data = s.encode("utf-16-le")
    for i in range(0, len(data), 2):
        h ^= data[i] | (data[i + 1] << 8)
        h = _imul(h, 0x01000193)
    return h


class Rng:
    """mulberry32 seeded like domain/rng.ts `new Rng(seed, stream)`."""

    def __init__(self, seed: int, stream: str = "") -> None:
        self.state = (fnv1a(f"{seed}:{stream}") ^ (seed & MASK)) & MASK

    def next(self) -> float:
        """Uniform float in [0, 1)."""
        self.state = (self.state + 0x6D2B79F5) & MASK
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & MASK
        return ((t ^ (t >> 14)) & MASK) / 4294967296

    def int(self, n: int) -> int:
        """Uniform integer in [0, n). @raises ValueError when n < 1."""
        if n < 1:
            raise ValueError(f"Rng.int: n must be >= 1, got {n}")
        return int(self.next() * n)

    def shuffle(self, xs: list[T]) -> list[T]:
        """A shuffled copy (Fisher-Yates, as domain/rng.ts)."""
        a = list(xs)
        for i in range(len(a) - 1, 0, -1):
            j = self.int(i + 1)
            a[i], a[j] = a[j], a[i]
        return a

    def sample(self, xs: list[T], k: int) -> list[T]:
        """k distinct elements uniformly, in sampled order."""
        return self.shuffle(xs)[: min(k, len(xs))]

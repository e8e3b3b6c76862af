"""Training speed of the finetune student: seconds per epoch per 1,000 examples.

  python -m s3_finetune.bench FILE.jsonl [--n 256] [--max-length 128] [--batch-size 16] [--model DIR]

Trains one epoch (no validation) on the first n examples of FILE.jsonl (text, text_pair?, label) with
the given settings on CUDA when available, else CPU, and prints one JSON line: device, threads, n,
maxLength, batch size, the epoch's seconds and seconds per 1,000 examples (the first batch included).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from .contract import DEFAULT_MODEL, Hyper, read_jsonl
from .train import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    a = ap.parse_args()
    rows = read_jsonl(a.file)[: a.n]
    labels = sorted({r["label"] for r in rows})
    hyper = Hyper(
        model=a.model,
        preset="bench",
        epochs=1,
        batch_size=a.batch_size,
        lr=3e-5,
        max_length=a.max_length,
        warmup_ratio=0.1,
        weight_decay=0.01,
        heartbeat_steps=10**9,
        checkpoint_steps=10**9,
        eval_batch_size=64,
        max_chars=2000,
        export=False,
        seed=0,
    )
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        t0 = time.perf_counter()
        res = train(hyper, labels, rows, [], workdir=work, fingerprint="bench")
        total = time.perf_counter() - t0
    epoch_s = res.epoch_ms[0] / 1000
    print(
        json.dumps(
            {
                "device": res.device,
                "threads": torch.get_num_threads(),
                "n": len(rows),
                "maxLength": a.max_length,
                "batchSize": a.batch_size,
                "epochSeconds": round(epoch_s, 1),
                "secondsPer1000": round(epoch_s / len(rows) * 1000, 1),
                "withLoad": round(total, 1),
            }
        )
    )


if __name__ == "__main__":
    main()

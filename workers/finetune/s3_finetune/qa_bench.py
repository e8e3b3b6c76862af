"""Trains the span student (qa.py) on one part of a SQuAD-style file and scores it on another part, split
by context (squad.split_by_context: the split data/qa.ts makes), and reports EM / F1, the time per
epoch per 1,000 features and the device. The epochs are fixed: the test part chooses nothing.

  python -m s3_finetune.qa_bench --data ../shared/datasets/adversarial_qa/test.jsonl \\
      --model models/all-MiniLM-L6-v2-hf --epochs 2 --limit-train 100 --limit-test 100 --out result.json

Importable without Temporal.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict

from .contract import DEFAULT_MODEL, Hyper, read_qa_jsonl
from .squad import split_by_context


def run(args: argparse.Namespace) -> dict:
    import torch

    from .qa import QaSettings, metrics_of, predict_qa, train_qa

    rows = read_qa_jsonl(args.data)
    parts = split_by_context(rows, args.seed, {"train": args.train_share, "test": args.test_share})
    train, test = parts["train"][: args.limit_train or None], parts["test"][: args.limit_test or None]
    settings = QaSettings(max_length=args.max_length, doc_stride=args.doc_stride)
    hyper = Hyper(
        model=os.path.abspath(args.model),
        preset="qa-bench",
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        max_length=args.max_length,
        warmup_ratio=0.1,
        weight_decay=0.01,
        heartbeat_steps=10,
        checkpoint_steps=50,
        eval_batch_size=args.eval_batch_size,
        max_chars=10**9,
        export=False,
        seed=args.seed,
    )
    t0 = time.perf_counter()
    res = train_qa(
        hyper,
        train,
        settings=settings,
        progress=lambda d: print(f"[qa_bench] epoch {d['epoch']}/{d['epochs']} step {d['step']} loss {d['loss']:.4f}"),
    )
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    preds = predict_qa(res.model, res.tokenizer, test, settings, args.eval_batch_size)
    predict_s = time.perf_counter() - t1
    fit = metrics_of(predict_qa(res.model, res.tokenizer, train, settings, args.eval_batch_size), train)
    return {
        "data": os.path.basename(args.data),
        "model": os.path.basename(os.path.normpath(args.model)),
        "device": res.device,
        "deviceName": torch.cuda.get_device_name(0) if res.device == "cuda" else None,
        "mixedPrecision": res.mixed_precision,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "seed": args.seed,
        "split": {
            "shares": {"train": args.train_share, "test": args.test_share},
            "trainQuestions": len(train),
            "trainContexts": len({r["context"] for r in train}),
            "testQuestions": len(test),
            "testContexts": len({r["context"] for r in test}),
            "sharedContexts": len({r["context"] for r in train} & {r["context"] for r in test}),
        },
        "settings": asdict(settings),
        "hyper": {
            k: v for k, v in hyper.to_json().items() if k in ("epochs", "batch_size", "lr", "max_length", "seed")
        },
        "trainFeatures": res.train_features,
        "steps": res.steps,
        "lastLoss": res.last_loss,
        "epochMs": res.epoch_ms,
        "msPerEpochPer1000Features": [ms / res.train_features * 1000 for ms in res.epoch_ms],
        "trainSeconds": train_s,
        "predictSeconds": predict_s,
        "test": metrics_of(preds, test),
        "train": fit,
        "sample": [
            {"question": r["question"], "gold": r["answers"]["text"], "predicted": p["predicted"], "f1": p["f1"]}
            for r, p in list(zip(test, preds, strict=True))[:5]
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="SQuAD-style JSONL (contract.read_qa_jsonl)")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train-share", type=float, default=1.0)
    ap.add_argument("--test-share", type=float, default=1.0)
    ap.add_argument("--limit-train", type=int, default=0, help="first N questions of the train part (0: all)")
    ap.add_argument("--limit-test", type=int, default=0, help="first N questions of the test part (0: all)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--eval-batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--max-length", type=int, default=384)
    ap.add_argument("--doc-stride", type=int, default=128)
    ap.add_argument("--out", help="write the result JSON here too")
    args = ap.parse_args()
    result = run(args)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()

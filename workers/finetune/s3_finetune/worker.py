"""The s3-train worker: runs the finetune student's trainAndEvaluate activity, one at a time
(one GPU, one job).

  python -m s3_finetune.worker     (TEMPORAL_ADDRESS default 127.0.0.1:7233, TEMPORAL_NAMESPACE default
                                    "default", S3_TRAIN_TASK_QUEUE default "s3-train")
  npm run worker:finetune          (the same through .tools/finetune-venv)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from .activity import train_and_evaluate
from .contract import DEFAULT_TASK_QUEUE


async def run(address: str, namespace: str, task_queue: str) -> None:
    """Connects and polls `task_queue` until SIGINT/SIGTERM (then finishes gracefully)."""
    client = await Client.connect(address, namespace=namespace)
    worker = Worker(
        client,
        task_queue=task_queue,
        activities=[train_and_evaluate],
        max_concurrent_activities=1,
        graceful_shutdown_timeout=timedelta(seconds=5),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print(f"s3-train worker on {address}, task queue {task_queue!r}", flush=True)
        await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    import transformers

    transformers.logging.set_verbosity_error()  # no per-load reports ("classifier.weight MISSING": expected)
    transformers.logging.disable_progress_bar()
    asyncio.run(
        run(
            os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            os.environ.get("TEMPORAL_NAMESPACE", "default"),
            os.environ.get("S3_TRAIN_TASK_QUEUE", DEFAULT_TASK_QUEUE),
        )
    )


if __name__ == "__main__":
    main()

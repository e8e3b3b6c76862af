"""The s3-train worker: runs the finetune student's trainAndEvaluate activity, one at a time
(one GPU, one job).

  python -m s3_finetune.worker     (S3_TRAIN_TASK_QUEUE default "s3-train")
  npm run worker:finetune          (the same through .tools/finetune-venv)

The connection comes from Temporal's environment configuration (temporalio.envconfig), as the
TypeScript worker's (workers/connection.ts): a temporal.toml profile (TEMPORAL_CONFIG_FILE, else
~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE) overridden by TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* ; unset: the local dev server 127.0.0.1:7233,
namespace "default".
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from .activity import train_and_evaluate
from .contract import DEFAULT_TASK_QUEUE

DEFAULT_ADDRESS = "127.0.0.1:7233"


def connect_config(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Client.connect keyword arguments from Temporal's environment configuration (profile file and
    TEMPORAL_* variables; `env` instead of os.environ), defaulting to the local dev server."""
    from temporalio.envconfig import ClientConfigProfile

    config: dict[str, Any] = dict(ClientConfigProfile.load(override_env_vars=env).to_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", "default")
    return config


def describe(config: dict[str, Any]) -> str:
    """address, namespace and whether TLS / an API key are used (never the key)."""
    extras = ", ".join(x for x, on in (("TLS", config.get("tls")), ("API key", config.get("api_key"))) if on)
    return f"{config['target_host']}, namespace {config['namespace']!r}" + (f" ({extras})" if extras else "")


async def run(address: str | None, namespace: str | None, task_queue: str) -> None:
    """Connects and polls `task_queue` until SIGINT/SIGTERM (then finishes gracefully).
    `address` / `namespace` override the environment configuration when given."""
    config = connect_config()
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    client = await Client.connect(**config)
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
        print(f"s3-train worker on {describe(config)}, task queue {task_queue!r}", flush=True)
        await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    import transformers

    transformers.logging.set_verbosity_error()  # no per-load reports ("classifier.weight MISSING": expected)
    transformers.logging.disable_progress_bar()
    asyncio.run(run(None, None, os.environ.get("S3_TRAIN_TASK_QUEUE", DEFAULT_TASK_QUEUE)))


if __name__ == "__main__":
    main()

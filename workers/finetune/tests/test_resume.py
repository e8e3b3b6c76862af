"""Durability on a real Temporal dev server (the CLI binary scripts/setup.sh installs): the
s3-train worker runs as a separate process, is SIGKILLed mid-training once a checkpoint is in its
heartbeat details, and the retried attempt on a new worker resumes from that checkpoint (its
heartbeat details and the result say it did not start at step 0)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from s3_finetune.contract import ROOT, write_jsonl

from .conftest import pair_rows

TEMPORAL = shutil.which("temporal") or os.path.join(ROOT, ".tools", "temporal", "bin", "temporal")


@workflow.defn(name="finetuneResumeTest")
class TrainOnce:
    @workflow.run
    async def run(self, payload: dict, queue: str) -> dict:
        return await workflow.execute_activity(
            "trainAndEvaluate",
            payload,
            task_queue=queue,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(seconds=4),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
        )


def spawn_worker(address: str, queue: str) -> subprocess.Popen:
    # 0.2 s per step: the first attempt cannot finish before the kill, however fast the machine
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "S3_TRAIN_TASK_QUEUE": queue,
        "S3_FINETUNE_STEP_DELAY_S": "0.2",
        "S3_FINETUNE_HEARTBEAT_S": "0.5",
    }
    return subprocess.Popen([sys.executable, "-m", "s3_finetune.worker"], env=env, cwd=ROOT)


async def pending_details(handle) -> tuple[int, dict] | None:
    """(attempt, last heartbeat details) of the workflow's pending activity, if any."""
    desc = await handle.describe()
    for pa in desc.raw_description.pending_activities:
        if pa.heartbeat_details.payloads:
            import json

            return pa.attempt, json.loads(pa.heartbeat_details.payloads[-1].data)
        return pa.attempt, {}
    return None


@pytest.mark.skipif(not os.path.exists(TEMPORAL), reason=f"no Temporal CLI at {TEMPORAL} (run bash scripts/setup.sh)")
def test_sigkilled_worker_resumes_from_its_checkpoint(payload):
    run = payload["task"]["runDir"]
    payload["train"] = [write_jsonl(f"{run}/synthetic/big.jsonl", pair_rows(48, 5, "b"), lambda r: r["label"])]
    ft = payload["config"]["student"]["finetune"]
    ft.update(epochs=3, batchSize=4, checkpointSteps=3, heartbeatSteps=1, export=False)
    asyncio.run(_scenario(payload))


async def kill_and_resume(payload: dict, workflow_id: str = "resume") -> tuple[int, dict | None, dict]:
    """Runs trainAndEvaluate on a worker process, SIGKILLs it once a checkpoint of step >= 3 is in
    its heartbeat details, and starts a second worker, whose retried attempt must resume.
    @returns (the step at the kill, the retried attempt's first training heartbeat details or None,
    the activity's result)"""
    async with await WorkflowEnvironment.start_local(dev_server_existing_path=TEMPORAL) as env:
        address = env.client.service_client.config.target_host
        queue = f"s3-train-test-{uuid.uuid4().hex[:8]}"
        first = spawn_worker(address, queue)
        second = None
        try:
            async with Worker(
                env.client, task_queue="wf", workflows=[TrainOnce], workflow_runner=UnsandboxedWorkflowRunner()
            ):
                handle = await env.client.start_workflow(
                    TrainOnce.run, args=[payload, queue], id=workflow_id, task_queue="wf"
                )
                killed_at = None
                for _ in range(600):
                    got = await pending_details(handle)
                    if got and got[1].get("checkpoint") and got[1].get("step", 0) >= 3:
                        killed_at = got[1]["step"]
                        first.send_signal(signal.SIGKILL)
                        first.wait()
                        break
                    await asyncio.sleep(0.2)
                assert killed_at is not None, "no checkpoint reached the heartbeat details"
                second = spawn_worker(address, queue)
                resumed_details = None
                for _ in range(600):
                    got = await pending_details(handle)
                    if got is None:
                        break
                    details = got[1]
                    retried = details.get("activityAttempt", 0) >= 2
                    if retried and details.get("phase") in ("fit", "checkpoint", "epoch"):
                        resumed_details = details
                        break
                    await asyncio.sleep(0.2)
                return killed_at, resumed_details, await handle.result()
        finally:
            for p in (first, second):
                if p is not None and p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    p.wait()


async def _scenario(payload: dict) -> None:
    killed_at, resumed_details, result = await kill_and_resume(payload)
    print(f"killed at step {killed_at}; attempt 2 resumed from step {result['fit']['finetune']['resumedFromStep']}")
    assert resumed_details is not None and resumed_details["resumedFromStep"] > 0
    assert resumed_details["step"] >= resumed_details["resumedFromStep"] >= 3
    assert result["fit"]["finetune"]["resumedFromStep"] >= 3
    assert result["fit"]["iterations"] == 3 * 12  # each step done once in all: 48 examples / batch 4 x 3 epochs

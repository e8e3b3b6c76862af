"""Checkpoints and resume of a training loop, shared by the sequence classifier (train.py) and the span
student (qa.py).

A checkpoint (<workdir>/checkpoint.pt) holds the model, optimizer, scheduler and gradient-scaler
states, the CPU (and CUDA) RNG states, the run's fingerprint and the loop's own `state` dict (epoch,
batch within it, step, best epoch so far, ...). The weights of the best epoch so far are kept apart in
<workdir>/best.pt. Both are written atomically (a temporary file, then os.replace), so a killed worker
leaves either the old or the new file.

A retried attempt resumes only from a checkpoint with its own fingerprint (contract.fingerprint of the
training inputs and hyper-parameters): restoring the RNG states and skipping the batches already done
gives, on CPU, the same weights as a run that was never interrupted.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import torch


def save_atomic(obj: Any, path: str) -> None:
    """torch.save to path through a temporary file in the same folder (os.replace)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Checkpointer:
    """Writes and reads the checkpoints of one training run in `workdir` (created).

    @param workdir the folder of checkpoint.pt and best.pt; None: nothing is written (benchmarks)
    @param fingerprint written into every checkpoint; resume() ignores a checkpoint with another one
    @param model, optimizer, scheduler, scaler the objects whose state_dict is saved and restored
    """

    def __init__(
        self, workdir: str | None, fingerprint: str, *, model, optimizer, scheduler, scaler, device: torch.device
    ):
        if workdir is not None:
            os.makedirs(workdir, exist_ok=True)
        self.path = os.path.join(workdir, "checkpoint.pt") if workdir is not None else None
        self.best_path = os.path.join(workdir, "best.pt") if workdir is not None else None
        self.fingerprint = fingerprint
        self.model, self.optimizer, self.scheduler, self.scaler = model, optimizer, scheduler, scaler
        self.device = device
        # the path of the last checkpoint written by this attempt (heartbeat details), and the step resumed from
        self.written: str | None = None
        self.resumed_from_step = 0

    def resume(self, path: str | None) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None] | None:
        """Restores the model, optimizer, scheduler, scaler and RNG states from `path` (a checkpoint.pt
        of an earlier attempt).
        @returns (the loop's state dict, the best epoch's weights or None), or None when path is None,
          missing, or written for another fingerprint (the caller then starts at step 0)"""
        if not path or not os.path.exists(path):
            return None
        ck = torch.load(path, map_location="cpu", weights_only=False)  # RNG states must stay on the CPU
        if ck.get("fingerprint") != self.fingerprint:
            return None
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        self.scaler.load_state_dict(ck["scaler"])
        torch.set_rng_state(ck["rng"])
        if self.device.type == "cuda" and ck.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(ck["cuda_rng"])
        state = ck["state"]
        self.resumed_from_step = int(state["step"])
        best = None
        if state.get("best_epoch", 0) > 0 and self.best_path and os.path.exists(self.best_path):
            best = torch.load(self.best_path, map_location="cpu", weights_only=True)
        return state, best

    def save(self, state: dict[str, Any]) -> str | None:
        """Writes checkpoint.pt with a copy of the loop's `state`.
        @returns its path (also in self.written), None without a workdir"""
        if self.path is None:
            return None
        save_atomic(
            {
                "fingerprint": self.fingerprint,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
                "state": copy.deepcopy(state),
            },
            self.path,
        )
        self.written = self.path
        return self.path

    def keep_best(self) -> dict[str, torch.Tensor]:
        """The model's current weights (a CPU copy), also written to best.pt (with a workdir). @returns the copy"""
        best = {k: v.detach().to("cpu").clone() for k, v in self.model.state_dict().items()}
        if self.best_path is not None:
            save_atomic(best, self.best_path)
        return best

    def details(self, phase: str, state: dict[str, Any], epochs: int, total_steps: int) -> dict[str, Any]:
        """Heartbeat details {phase, epoch (1-based: the one in progress, or just finished for phase
        "epoch"), epochs, step, steps, loss, checkpoint, resumedFromStep, device}."""
        return {
            "phase": phase,
            "epoch": state["epoch"] + (0 if phase == "epoch" else 1),
            "epochs": epochs,
            "step": state["step"],
            "steps": total_steps,
            "loss": state["loss"],
            "checkpoint": self.written,
            "resumedFromStep": self.resumed_from_step,
            "device": self.device.type,
        }

"""Workers never outlive their parent: a SIGKILLed command leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from .data.fake_release import write_reverb_bank

psutil = pytest.importorskip("psutil")

COMMAND = [sys.executable, "-m", "transformers_bat.cli.main"]


def _alive(processes) -> list[int]:
    alive = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def kill_and_count_survivors(
    argv: list[str], workers: int, grace_s: float = 10.0, ready=lambda: True
) -> tuple[int, list[int]]:
    """Start `argv`, wait until it runs `workers` child processes (and `ready()`), SIGKILL it; returns (children
    seen, survivors)."""
    parent = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and parent.poll() is None:
            children = psutil.Process(parent.pid).children(recursive=True)
            if len(children) >= workers and ready():
                time.sleep(1.0)  # let the workers start working
                children = psutil.Process(parent.pid).children(recursive=True)
                break
            time.sleep(0.1)
        assert parent.poll() is None, "the command ended before it could be killed: give it more work"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + grace_s
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.2)
        return len(children), _alive(children)
    finally:
        for process in children:  # never leave anything behind, whatever the outcome
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass


def test_exit_with_parent_ends_an_orphaned_worker(tmp_path):
    """A grandchild armed with exit_with_parent exits once its parent is SIGKILLed; it would sleep for 10 min."""
    script = textwrap.dedent(
        """
        import multiprocessing, os, sys, time
        from transformers_bat.worker_processes import exit_with_parent

        def work(parent_pid):
            exit_with_parent(parent_pid, poll_s=0.1)
            open(sys.argv[1], "w").close()  # armed
            time.sleep(600)

        if __name__ == "__main__":
            child = multiprocessing.get_context("spawn").Process(target=work, args=(os.getpid(),))
            child.start()
            time.sleep(600)
        """
    )
    path = tmp_path / "parent.py"
    path.write_text(script)
    armed = tmp_path / "armed"
    seen, survivors = kill_and_count_survivors(
        [sys.executable, str(path), str(armed)], workers=2, grace_s=5.0, ready=armed.exists
    )
    assert seen >= 2 and survivors == []  # the worker and multiprocessing's resource tracker


@pytest.mark.slow
def test_killed_render_rirs_leaves_no_worker(tmp_path):
    """Killed once the workers render (a shard is written). A worker killed while still starting (spawn imports
    the package) exits as soon as it reaches its initializer, which checks the parent first."""
    bank = tmp_path / "bank"
    argv = COMMAND + ["render-rirs", "--output", str(bank), "--num-rirs", "400", "--num-workers", "2"]
    argv += ["--shard-size", "2", "--max-order", "1", "--max-rir-seconds", "0.25", "--no-progress"]
    seen, survivors = kill_and_count_survivors(
        argv, workers=2, grace_s=30.0, ready=lambda: any(bank.glob("shards/shard-*.json"))
    )
    assert seen >= 2 and survivors == []


def test_killed_generate_qa_leaves_no_worker(tmp_path):
    bank = write_reverb_bank(tmp_path / "mp3d_reverb", num_rooms=4, per_room=16)
    argv = COMMAND + ["generate-qa", str(tmp_path / "ssqa"), "--rir-bank", str(bank), "--sources", "procedural"]
    argv += ["--clips-per-class", "20", "--per-type", "1000", "--records-per-shard", "1", "--num-proc", "2"]
    argv += ["--test-fraction", "0.25", "--no-progress"]
    seen, survivors = kill_and_count_survivors(argv, workers=2)
    assert seen >= 2 and survivors == []


def test_killed_dataloader_leaves_no_worker(tmp_path):
    """Rendering in DataLoader workers (the encoder collator's place in training): torch's workers watch their
    parent too."""
    script = textwrap.dedent(
        """
        import sys, time
        import torch
        from transformers_bat.training import ExampleList

        def slow_collate(items):
            time.sleep(0.2)  # stands in for rendering a batch
            return torch.tensor(items)

        if __name__ == "__main__":
            loader = torch.utils.data.DataLoader(
                ExampleList(range(100_000)), batch_size=2, num_workers=2, collate_fn=slow_collate
            )
            for batch in loader:
                open(sys.argv[1], "w").close()
        """
    )
    path = tmp_path / "train.py"
    path.write_text(script)
    started = tmp_path / "started"
    seen, survivors = kill_and_count_survivors(
        [sys.executable, str(path), str(started)], workers=2, grace_s=15.0, ready=started.exists
    )
    assert seen >= 2 and survivors == []

"""Worker processes that never outlive the process that started them.

A parent killed with SIGKILL can neither stop its process pool nor close the pipes the workers wait on, so without
help its workers live on, re-parented and blocked, holding hundreds of MB each. Every pool of the package starts
its workers with `exit_with_parent` (as their initializer, or first thing in it).
"""

from __future__ import annotations

import os
import threading
import time


def exit_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Make this (worker) process exit within about `poll_s` seconds of `parent_pid` ending, however it ended.

    A daemon thread watches the parent id: when the parent dies its children are re-parented, so `os.getppid()`
    changes. Polling works for every start method and platform, and needs no signal that could also fire when
    merely the parent's starting thread ends.
    """
    if os.getppid() != parent_pid:  # the parent died before this worker got here
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


__all__ = ["exit_with_parent"]

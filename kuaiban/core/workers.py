"""Plumbing for the background workers' ``--loop`` (``kuaiban sweep``, ``kuaiban rollup`` …)."""

from __future__ import annotations

import signal
import time
from types import FrameType


class Stopper:
    """SIGTERM or SIGINT asks a looping worker to stop once its current step is done."""

    def __init__(self) -> None:
        self.stopping = False

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``, waking early when asked to stop; True if asked to stop."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.5, left))
        return self.stopping

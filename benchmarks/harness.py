"""Measure a command: wall time, CPU time and peak resident memory of its whole process tree (sampled every 20 ms).

CPU time (user + system of the command and every descendant it waited for) is what a stage costs regardless of
other load on a shared machine: wall-time ratios move with the neighbours, CPU-time ratios much less."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Measurement:
    """Wall time (s), CPU time (user + system, s) and peak RSS of the process tree (bytes) of one command."""

    seconds: float
    peak_rss_bytes: int
    cpu_seconds: float = 0.0

    @property
    def peak_rss_gb(self) -> float:
        return self.peak_rss_bytes / 1e9


def measure(args: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run ``args`` (a Python module or script command line) and measure it; fail loudly if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env)  # noqa: S603 - our own benchmark commands
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode != 0:
        sys.exit(f"benchmark step failed ({process.returncode}): {' '.join(args)}")
    return Measurement(seconds, peak, cpu)

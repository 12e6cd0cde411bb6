"""Shared timing for the benchmark scripts: run a command N times, report the median wall time.

Every benchmark compares mailadmin with a floor measured in the same run, on the same machine,
so the ratio means something where absolute seconds do not.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def mailadmin_cmd() -> list[str]:
    """The installed console script if present (what users run), else `python -m mailadmin`."""
    script = BIN / "mailadmin"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mailadmin"]


def time_command(cmd: list[str], *, runs: int = 15, warmup: int = 2, env: dict[str, str] | None = None,
                 stdin: bytes | None = None) -> dict[str, float]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    samples = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=full_env, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[:500]}")
        if i >= warmup:
            samples.append(elapsed)
    return {"median": statistics.median(samples), "min": min(samples), "runs": runs}


def report(rows: list[tuple[str, dict[str, float], str | None]], floors: dict[str, float]) -> None:
    """rows: (label, timing, floor label or None)."""
    print(f"{'command':58} {'median s':>9} {'min s':>7} {'ratio':>7}")
    for label, timing, floor in rows:
        ratio = f"{timing['median'] / floors[floor]:.2f}x" if floor else "floor"
        print(f"{label:58} {timing['median']:9.3f} {timing['min']:7.3f} {ratio:>7}")

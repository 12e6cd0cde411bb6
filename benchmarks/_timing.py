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


# -- one table for the whole suite (benchmarks/run_all.py) -------------------------------------
from dataclasses import dataclass  # noqa: E402


@dataclass
class Figure:
    """One figure of the suite: what was timed, the floor it is compared with (measured in the
    same run), and the goal. A goal is a ratio to the floor (`max_ratio`) or, for batch mode, a
    time in seconds (`max_seconds`, the floor then shown for reference)."""

    name: str
    seconds: float
    floor_name: str | None = None
    floor: float | None = None
    max_ratio: float | None = None
    max_seconds: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor if self.floor else None

    @property
    def goal(self) -> str:
        if self.max_ratio is not None:
            return f"<= {self.max_ratio:g}x"
        if self.max_seconds is not None:
            return f"< {self.max_seconds:g} s"
        return ""

    @property
    def met(self) -> str:
        if self.max_ratio is not None and self.ratio is not None:
            return "yes" if self.ratio <= self.max_ratio else "NO"
        if self.max_seconds is not None:
            return "yes" if self.seconds < self.max_seconds else "NO"
        return ""


def print_figures(figures: list[Figure], out=None) -> None:
    """The suite's table: figure, floor, ratio, goal, met (markdown, so the README takes it as is)."""
    out = out or sys.stdout
    out.write("| figure | floor (same run) | mailadmin | ratio | goal | met |\n|---|---|---|---|---|---|\n")
    for f in figures:
        floor = f"{f.floor_name} {f.floor:.3f} s" if f.floor is not None else (f.floor_name or "")
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None and f.max_seconds is None else ""
        note = f" ({f.note})" if f.note else ""
        out.write(f"| {f.name}{note} | {floor} | {f.seconds:.3f} s | {ratio} | {f.goal} | {f.met} |\n")
    out.flush()

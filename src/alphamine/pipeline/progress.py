"""The SIMULATE progress: a rich bar on a terminal, the compact line in logs.

The compact line is what a user tails during a long platform run (and what a log keeps):

    simulation: [########............] 8/20 (40.0%) | running=4 | slots=4x10 | capacity=40 | remaining=12 |
    completed=7 | failed=1

`slots` is the backend's concurrency x batch size (platform multi-simulations; local workers x 1).
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from alphamine.sim.batch import SimFailure

if TYPE_CHECKING:
    from alphamine.pipeline.context import RunContext

BAR_WIDTH = 20


def progress_line(
    done: int, total: int, *, running: int, concurrency: int, batch_size: int, completed: int, failed: int
) -> str:
    """The compact progress line (module doc); a pure function of the counts."""
    fraction = done / total if total else 1.0
    filled = min(BAR_WIDTH, round(fraction * BAR_WIDTH))
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return (
        f"simulation: [{bar}] {done}/{total} ({100 * fraction:.1f}%) | running={running} | "
        f"slots={concurrency}x{batch_size} | capacity={concurrency * batch_size} | remaining={total - done} | "
        f"completed={completed} | failed={failed}"
    )


class SimulationProgress:
    """Counts across batches; `tick` is the backend's progress callback."""

    def __init__(self, rc: RunContext, total: int, workers: int | None, label: str) -> None:
        self.total = total
        backend = rc.backend
        self.concurrency = int(getattr(backend, "concurrency", None) or workers or os.cpu_count() or 1)
        self.batch_size = int(getattr(backend, "batch_size", None) or 1)
        self.done_before = 0
        self.completed = 0
        self.failed = 0
        self._rc = rc
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._lines = not rc.quiet and not rc.console.is_terminal
        if not rc.quiet and rc.console.is_terminal:
            self._bar = Progress(
                TextColumn(f"  {label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "running {task.fields[running]}  slots {task.fields[slots]}  completed {task.fields[ok]}  "
                    "failed {task.fields[failed]}"
                ),
                TimeElapsedColumn(),
                console=rc.console,
                transient=True,
            )

    @property
    def capacity(self) -> int:
        return self.concurrency * self.batch_size

    def line(self) -> str:
        done = self.completed + self.failed
        return progress_line(
            done,
            self.total,
            running=min(self.capacity, self.total - done),
            concurrency=self.concurrency,
            batch_size=self.batch_size,
            completed=self.completed,
            failed=self.failed,
        )

    def __enter__(self) -> SimulationProgress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(
                "sim",
                total=self.total,
                running=min(self.capacity, self.total),
                slots=f"{self.concurrency}x{self.batch_size}",
                ok=0,
                failed=0,
            )
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def tick(self, done: int, total: int, result: Any) -> None:
        if isinstance(result, SimFailure):
            self.failed += 1
        else:
            self.completed += 1
        finished = self.done_before + done
        running = min(self.capacity, self.total - finished)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=finished, running=running, ok=self.completed, failed=self.failed)

    def batch_done(self, size: int) -> None:
        self.done_before += size
        if self._lines:
            self._rc.console.print(f"  {self.line()}", highlight=False, soft_wrap=True)

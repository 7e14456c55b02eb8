"""The SIMULATE progress line: done/total, running, completed, failed (rich)."""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from alphamine.sim.batch import SimFailure

if TYPE_CHECKING:
    from alphamine.pipeline.context import RunContext


class SimulationProgress:
    """Counts across batches; `tick` is simulate_many's progress callback."""

    def __init__(self, rc: RunContext, total: int, workers: int | None, label: str) -> None:
        self.total = total
        self.workers = workers or os.cpu_count() or 1
        self.done_before = 0
        self.completed = 0
        self.failed = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if not rc.quiet:
            self._bar = Progress(
                TextColumn(f"  {label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("running {task.fields[running]}  completed {task.fields[ok]}  failed {task.fields[failed]}"),
                TimeElapsedColumn(),
                console=rc.console,
                transient=True,
            )

    def __enter__(self) -> SimulationProgress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(
                "sim", total=self.total, running=min(self.workers, self.total), ok=0, failed=0
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
        running = min(self.workers, self.total - finished)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=finished, running=running, ok=self.completed, failed=self.failed)

    def batch_done(self, size: int) -> None:
        self.done_before += size

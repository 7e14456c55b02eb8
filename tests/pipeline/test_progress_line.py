"""The compact SIMULATE progress line of logs and platform runs."""

from __future__ import annotations

from alphamine.pipeline.progress import progress_line


def test_the_documented_example() -> None:
    line = progress_line(8, 20, running=4, concurrency=4, batch_size=10, completed=7, failed=1)
    assert line == (
        "simulation: [########............] 8/20 (40.0%) | running=4 | slots=4x10 | capacity=40 | remaining=12 "
        "| completed=7 | failed=1"
    )


def test_ends_and_empty() -> None:
    assert progress_line(0, 5, running=5, concurrency=8, batch_size=10, completed=0, failed=0).startswith(
        "simulation: [....................] 0/5 (0.0%)"
    )
    done = progress_line(5, 5, running=0, concurrency=1, batch_size=1, completed=3, failed=2)
    assert "[####################] 5/5 (100.0%)" in done and "remaining=0" in done
    assert "(100.0%)" in progress_line(0, 0, running=0, concurrency=1, batch_size=1, completed=0, failed=0)

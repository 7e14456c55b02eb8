"""Two alphamine processes on one runtime root share the account through the lease file: measured by
the server (`/_alphamine/stats` maxConcurrent), never more than the lease capacity in flight, though
each process alone would run more; both write the one usage ledger."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from alphamine.brain.usage import UsageLedger
from alphamine.data.synthetic import synthetic
from tests.brain.test_client_support import brain_server, needs_server, run_python, user_stats

pytestmark = [needs_server, pytest.mark.timeout(240)]

CAPACITY, PER_PROCESS = 3, 6

CHILD = """
import json, sys, time
from pathlib import Path
from alphamine.backends.brain import BrainBackend
from alphamine.brain.leases import LeaseFile
from alphamine.brain.usage import UsageLedger
from alphamine.sim.batch import SimSpec
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from tests.brain.test_client_support import fast_client

url, root, tag, capacity, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
settings = make_settings({"universe": "TOP40"})
specs = [SimSpec(f"ts_mean(close, {k + 2}) * {tag}", settings) for k in range(n)]
backend = BrainBackend(fast_client(url), leases=LeaseFile(root, capacity=capacity, poll_interval=0.02),
                       usage=UsageLedger(root), batch_size=1, concurrency=capacity)
(root / f"ready-{tag}").touch()
while not (root / "go").exists():
    time.sleep(0.01)
start = time.time()
out = backend.simulate_many(specs)
end = time.time()
backend.close()
print(json.dumps({"ok": sum(isinstance(o, SimResult) for o in out), "start": start, "end": end}))
"""


def test_two_processes_never_exceed_the_shared_capacity(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with brain_server(synthetic(40, 300), tmp_path / "s.sqlite3", slow=0.25, max_concurrent=50) as url:
        children = [run_python(CHILD, url, str(root), tag, str(CAPACITY), str(PER_PROCESS)) for tag in ("1", "2")]
        deadline = time.monotonic() + 120
        while not all((root / f"ready-{t}").exists() for t in ("1", "2")):  # both imported and ready
            assert time.monotonic() < deadline and all(c.poll() is None for c in children)
            time.sleep(0.02)
        (root / "go").touch()
        reports = []
        for child in children:
            out, err = child.communicate(timeout=180)
            assert child.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        assert [r["ok"] for r in reports] == [PER_PROCESS, PER_PROCESS]
        a, b = reports
        assert max(a["start"], b["start"]) < min(a["end"], b["end"])  # they really ran at the same time
        server = user_stats(url)
        assert server["simulations"] == 2 * PER_PROCESS
        # each process alone runs CAPACITY at once; together they still hold CAPACITY slots at most
        assert 2 <= server["maxConcurrent"] <= CAPACITY
    ledger = UsageLedger(root)
    assert ledger.total() == 2 * PER_PROCESS
    assert sorted(ledger.by_process().values()) == [PER_PROCESS, PER_PROCESS]

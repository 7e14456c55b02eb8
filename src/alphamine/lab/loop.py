"""The research loop: worker -> validate -> frozen judge (with fixes) -> one record; Critic, Director.

Why this shape: it is leanlab's loop (so a leanlab lab runs unchanged and leanlab reads the result)
with what a long unattended study needs: the judge verified before every score, the ledger written
by alphamine alone under a lock, K experiments in flight at once, and a kill at any moment costing
nothing. One invariant carries resume and parallelism: every experiment file (except the baseline)
gets exactly one record. So a run first scores the files that have none (a worker's file whose run
was killed before its record), an append for a file that already has a record is dropped, and a
worker's file is claimed under the lock before it is judged.

Contract (`LabRunner.run(n, workers)`):
- `n` experiments (None: finish the unfinished run recorded in the state file, else 5). Per
  experiment: allocate its number, prompt the worker (`prompts.worker_prompt`), claim the reported
  file (it must be a new experiment file; leanlab's fallback: the newest unrecorded one), run
  validate then the judge; on a failure send `fix_prompt` to the worker, up to `max_fix_calls`
  times; append a scored record, or leanlab's invalid record. A worker reply with no usable file is
  a skipped iteration (no record; counted so a resumed run does not redo it).
- Before each score and again under the lock before each append: `Judge.verify` (else
  `JudgeTampered`) and results.jsonl unchanged since alphamine's last append (else `LedgerTampered`);
  either stops the run with nothing appended for that experiment.
- `best_so_far` is leanlab's (beats every earlier value); `significant_best` also needs the margin of
  the noise band measured at this concurrency (re-measured under K-way load when only another
  level's band exists; equal to `best_so_far` when no band was ever measured).
- Critic and Director run on leanlab's cadence (`roles`), counted over this invocation's finished
  experiments, before the next experiment starts (with K workers the K-1 in flight go on); a role
  that fails is reported and the loop goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

from alphamine.lab.config import LabConfig
from alphamine.lab.ledger import Ledger, LedgerTampered, failed_record, first_docstring_line, run_tag, scored_record
from alphamine.lab.noise import NoiseBand, any_band, band_for, measure_noise
from alphamine.lab.prompts import fix_prompt, worker_prompt
from alphamine.lab.roles import LabView, Role, write_notes
from alphamine.lab.roles import fmt as fmt_value
from alphamine.lab.session import open_study
from alphamine.lab.state import LabState, RunProgress, lab_lock, load_state, run_lock, save_state, update_state
from alphamine.lab.workers import Worker, WorkerReply, WorkerTask

DEFAULT_N = 5
Echo = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    new_records: int
    best: float | None
    complete: bool


@dataclass(frozen=True)
class _Outcome:
    scored: bool = False
    recorded: bool = False


class LabRunner:
    """Drives one lab (module doc). `echo` receives one line per event (thread-safe)."""

    def __init__(self, cfg: LabConfig, worker: Worker, *, critic: Role, director: Role,
                 echo: Echo = print, worker_cmd: str | None = None) -> None:
        self.cfg, self.worker, self.critic, self.director = cfg, worker, critic, director
        self.worker_cmd = worker_cmd
        self.ledger = Ledger(cfg)
        self._echo, self._echo_lock = echo, threading.Lock()
        self._claims: set[str] = set()
        self._stop = threading.Event()
        self._band: NoiseBand | None = None
        self._workers = 1

    def say(self, line: str) -> None:
        with self._echo_lock:
            self._echo(line)

    # -- the run ----------------------------------------------------------------------------------

    def run(self, n: int | None = None, workers: int = 1) -> RunResult:
        workers = self._workers = max(1, workers)
        with run_lock(self.cfg):
            study = open_study(self.cfg, self.say)
            self.judge, self._fingerprint = study.judge, study.fingerprint
            progress = self._progress(study.state, n, workers)
            self._band = self._noise(study.state, workers)
            rows = self.ledger.read()
            start_count = len(rows)
            recorded = self.ledger.recorded_files(rows)
            orphans = [self.cfg.rel(p) for p in self.cfg.experiment_files() if self.cfg.rel(p) not in recorded]
            if orphans:
                self.say(f"scoring {len(orphans)} experiment file(s) left without a record: {', '.join(orphans)}")
            remaining = progress.remaining(len(rows))
            items: list[str | None] = [*orphans, *([None] * max(0, remaining - len(orphans)))]
            self.say(f"lab {self.cfg.name}: {self.cfg.direction} {self.cfg.metric} · {len(items)} experiment(s)"
                     f" · {workers} worker(s) · worker {self.worker.name}")
            self._execute(items, workers, run_tag())
            final = self.ledger.read()
            complete = progress.remaining(len(final)) - self._skipped_since(progress) <= 0
            with lab_lock(self.cfg):
                update_state(self.cfg, lambda s: self._finish(s, complete))
        best = self.ledger.best(final)
        self.say(f"done: {len(final) - start_count} new record(s) · best {self.cfg.metric}={fmt_value(best)}")
        return RunResult(len(final) - start_count, best, complete)

    def _progress(self, state: LabState, n: int | None, workers: int) -> RunProgress:
        rows = self.ledger.read()
        if n is None and state.run is not None:
            progress = state.run
            self.say(f"resuming the unfinished run: {max(0, progress.remaining(len(rows)))} of {progress.n} to go")
        else:
            if state.run is not None:
                self.say("an unfinished run was recorded; starting a new one instead (its files are still scored)")
            progress = RunProgress(n or DEFAULT_N, len(rows), 0, workers, self.worker.name, self.worker_cmd)
        with lab_lock(self.cfg):
            update_state(self.cfg, lambda s: setattr(s, "run", progress))
        return progress

    def _skipped_since(self, progress: RunProgress) -> int:
        state = load_state(self.cfg)
        run = state.run if state is not None else None
        return (run.skipped - progress.skipped) if run is not None else 0

    def _finish(self, state: LabState, complete: bool) -> None:
        if complete:
            state.run = None
        state.last_worker = {"worker": self.worker.name, "worker_cmd": self.worker_cmd, "workers": self._workers}

    def _noise(self, state: LabState, workers: int) -> NoiseBand | None:
        band = band_for(state, workers)
        other = any_band(state) if band is None else None
        if other is not None:
            self.say(f"re-measuring the baseline under {workers}-way load ({other.repeats} repeats; "
                     f"the recorded band was measured with {other.workers})")
            band = measure_noise(self.cfg, self.judge, other.repeats, workers)
            measured = band
            with lab_lock(self.cfg):
                update_state(self.cfg, lambda s: s.noise.__setitem__(str(workers), measured.to_json()))
        if band is not None:
            self.say(f"noise band of {self.cfg.metric}: ±{fmt_value(band.band)} ({band.repeats} repeats, "
                     f"{band.workers} at a time)")
        return band

    def _execute(self, items: list[str | None], workers: int, tag: str) -> None:
        """At most `workers` experiments in flight; the next starts only after the roles due at the
        last completion ran, so with one worker the order is exactly leanlab's."""
        done, queue = 0, iter(items)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lab-worker") as pool:
            pending: set[Future[_Outcome]] = set()
            try:
                while True:
                    for item in islice(queue, workers - len(pending)):
                        pending.add(pool.submit(self._one, item, tag))
                    if not pending:
                        break
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        outcome = future.result()
                        done += 1
                        self._cadence(done, outcome)
            except BaseException:
                self._stop.set()
                for future in pending:
                    future.cancel()
                raise

    def _cadence(self, i: int, outcome: _Outcome) -> None:
        if outcome.scored and i % self.cfg.critic_every == 0:
            self._role(self.critic)
        if i % self.cfg.director_every == 0:
            self._role(self.director)

    def _role(self, role: Role) -> None:
        view = LabView(self.cfg, self.ledger.read(), self._band.band if self._band else 0.0)
        try:
            text = role.compose(view)
        except Exception as e:  # an LLM role may fail; the study goes on
            self.say(f"warning: the {role.name} failed ({type(e).__name__}: {e}); {role.file_name} unchanged")
            return
        write_notes(self.cfg.dir / role.file_name, text)
        self.say(f"{role.name}: {role.file_name} updated")

    # -- one experiment ---------------------------------------------------------------------------

    def _one(self, orphan: str | None, tag: str) -> _Outcome:
        if self._stop.is_set():
            return _Outcome()
        if orphan is not None:
            n = 0
            rel = self._claim_orphan(orphan)
        else:
            n = self._allocate()
            reply = self.worker.propose(WorkerTask(n, worker_prompt(self.cfg, self.ledger.read(), n)))
            rel = self._claim(reply)
        if rel is None:
            return _Outcome()
        try:
            return self._score(rel, n, tag)
        finally:
            with lab_lock(self.cfg):
                self._claims.discard(rel)

    def _allocate(self) -> int:
        with lab_lock(self.cfg):
            state = load_state(self.cfg) or LabState()
            n = state.next_n
            state.next_n = n + 1
            save_state(self.cfg, state)
        return n

    def _claim_orphan(self, rel: str) -> str | None:
        with lab_lock(self.cfg):
            if rel in self._claims or rel in self.ledger.recorded_files(self.ledger.read()):
                return None
            self._claims.add(rel)
        return rel

    def _claim(self, reply: WorkerReply) -> str | None:
        """The reply's file, claimed under the lock; None (a skipped iteration) when unusable."""
        with lab_lock(self.cfg):
            self._verify_ledger()
            problem, rel = self._pick(reply)
            if rel is not None:
                self._claims.add(rel)
            else:
                update_state(self.cfg, _count_skip)
        if problem:
            self.say(f"skipped: {problem}")
        return rel

    def _pick(self, reply: WorkerReply) -> tuple[str | None, str | None]:
        if not reply.ok:
            return f"the worker gave no JSON reply with experiment_file ({reply.raw.strip()[-200:]!r})", None
        recorded = self.ledger.recorded_files(self.ledger.read())
        files = {self.cfg.rel(p): p for p in self.cfg.experiment_files()}
        reported = reply.experiment_file
        rel = None
        if reported is not None:
            try:
                candidate = self.cfg.rel(self.cfg.dir / reported)
            except ValueError:
                return f"the worker reported {reported}, outside the lab", None
            rel = candidate if candidate in files else None
        if rel is None:  # leanlab's fallback: the newest new file by sorted name
            new = [r for r in sorted(files) if r not in recorded and r not in self._claims]
            rel = new[-1] if new else None
        if rel is None:
            return f"the worker reported {reported!r}, which is not a new experiment file", None
        if rel in recorded or rel in self._claims:
            return f"the worker reported {rel}, which already has a record", None
        return None, rel

    def _verify_ledger(self) -> None:
        """results.jsonl unchanged since alphamine's last append; the caller holds the lock."""
        if self.ledger.fingerprint() != self._fingerprint:
            self._stop.set()
            raise LedgerTampered(
                f"{self.cfg.results_path} changed outside alphamine during the run (workers may write only in "
                f"{self.cfg.experiments_dir}/); stopping. Check it, then `alphamine lab freeze --accept-ledger`"
            )

    def _score(self, rel: str, n: int, tag: str) -> _Outcome:
        fixes = 0
        while True:
            if self._stop.is_set():
                return _Outcome()
            self._guard(self.judge.verify)
            validation = self.judge.validate(rel)
            if validation.valid:
                verdict = self.judge.evaluate(rel)
                if verdict.ok:
                    return self._append_scored(rel, tag, verdict.metrics or {}, verdict.value)
                failure, why = verdict.output or str(verdict.error), str(verdict.error)
            else:
                failure, why = f"INVALID: {validation.reason}\n{validation.output}", f"INVALID: {validation.reason}"
            if fixes >= self.cfg.max_fix_calls:
                self.say(f"failed: {rel} after {fixes} fix attempt(s): {why}")
                return self._append(failed_record(tag, rel, self.cfg.metric, failure), scored=False)
            fixes += 1
            self.say(f"{rel}: {why} — asking the worker to fix it ({fixes}/{self.cfg.max_fix_calls})")
            self.worker.propose(WorkerTask(n, fix_prompt(rel, failure), "fix", rel))

    def _guard(self, check: Callable[[], None]) -> None:
        try:
            check()
        except Exception:
            self._stop.set()
            raise

    def _append_scored(self, rel: str, tag: str, metrics: dict[str, object], value: float | None) -> _Outcome:
        assert value is not None
        notes = first_docstring_line(self.cfg.dir / rel)
        with lab_lock(self.cfg):
            prior = self.ledger.best()
            best = self.cfg.better(value, prior)
            significant = best and self.cfg.better(value, prior, self._band.band if self._band else 0.0)
            record = scored_record(tag, rel, metrics, best=best, significant=significant, notes=notes)
            outcome = self._append_locked(record, scored=True)
        if outcome.recorded:
            flag = (" · new best" + ("" if significant else " (inside the noise band)")) if best else ""
            self.say(f"scored: {rel} · {self.cfg.metric}={fmt_value(value)}{flag}")
        return outcome

    def _store_fingerprint(self, state: LabState) -> None:
        state.ledger_size, state.ledger_sha256 = self._fingerprint.size, self._fingerprint.sha256

    def _append(self, record: dict[str, object], *, scored: bool) -> _Outcome:
        with lab_lock(self.cfg):
            return self._append_locked(record, scored=scored)

    def _append_locked(self, record: dict[str, object], *, scored: bool) -> _Outcome:
        self._guard(self.judge.verify)
        self._verify_ledger()
        if str(record["experiment_file"]) in self.ledger.recorded_files(self.ledger.read()):
            return _Outcome()
        self.ledger.append(record)
        self._fingerprint = self.ledger.fingerprint()
        update_state(self.cfg, self._store_fingerprint)
        return _Outcome(scored=scored, recorded=True)


def _count_skip(state: LabState) -> None:
    if state.run is not None:
        state.run.skipped += 1


def pending_run(cfg: LabConfig) -> RunProgress | None:
    """The unfinished run recorded in the lab's state file, if any (for `lab run` to resume)."""
    state = load_state(cfg)
    return state.run if state is not None else None

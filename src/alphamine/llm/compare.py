"""`alphamine prompt compare`: is an experimental prompt (or agent setup) better than the baseline?

Why runs and not single requests: a prompt is good when the alphas it leads to are, so the unit of
comparison is a whole run of each (BASE with the current prompts, EXP with the candidate change) on the
same data and settings. Anything else would compare markets, not prompts: two runs are comparable
only when they share the dataset (data source, data fingerprint, platform dataset) and the settings
region, delay, universe, decay, truncation and neutralization (`CompareError` names every difference).

The figures of a run (`RunFigures`), all from the store plus `llm_usage.json` when present:
- valid-expression rate: candidates that passed lint / generated, where generated counts the stored
  candidates plus the expressions the LLM agents dropped at their lint gate (`dropped` in the usage
  file's per-prompt counters: those never reach the store);
- promising rate: promising, gate-pending or ready / simulated;
- mean fitness of the simulated candidates, search block only (`pipeline.validation.search_metrics`);
- hard-failure rate: (simulation failures + invalid + dropped) / generated;
- ready count, and LLM tokens and cost per ready alpha (`pipeline.run_usage.cost_per_ready`).

Promotion rule: EXP is eligible when it improves at least one of the first four figures (higher rates
and fitness, lower hard-failure rate, by more than `EPSILON`) and its hard-failure rate is not worse
than BASE's. The report says which figures moved; a person decides.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EPSILON = 1e-9
COMPARED_SETTINGS = ("region", "delay", "universe", "decay", "truncation", "neutralization")
RATES = (("valid_rate", 1), ("promising_rate", 1), ("mean_fitness", 1), ("hard_failure_rate", -1))
"""The figures that can make EXP eligible, with the direction that counts as better."""
LABELS = {
    "generated": "generated (incl. LLM-dropped)",
    "valid_rate": "valid-expression rate",
    "promising_rate": "promising rate",
    "mean_fitness": "mean fitness (search block)",
    "hard_failure_rate": "hard-failure rate",
    "ready": "ready alphas",
    "llm_tokens": "LLM tokens",
    "llm_cost": "LLM cost (USD)",
    "tokens_per_ready": "LLM tokens per ready alpha",
    "cost_per_ready": "LLM cost per ready alpha (USD)",
}


class CompareError(ValueError):
    """The runs cannot be compared (unknown run, different data or settings); the text says why."""


@dataclass(frozen=True)
class RunFigures:
    """One run's side of the comparison (module doc)."""

    run_id: str
    generated: int
    valid: int
    invalid: int
    dropped: int
    failed: int
    simulated: int
    promising: int
    ready: int
    mean_fitness: float | None
    llm_tokens: int | None
    llm_cost: float | None
    tokens_per_ready: float | None
    cost_per_ready: float | None
    llm_usage: str
    prompt_versions: dict[str, int] = field(default_factory=dict)  # candidates per prompt version

    @property
    def valid_rate(self) -> float | None:
        return self.valid / self.generated if self.generated else None

    @property
    def promising_rate(self) -> float | None:
        return self.promising / self.simulated if self.simulated else None

    @property
    def hard_failure_rate(self) -> float | None:
        return (self.failed + self.invalid + self.dropped) / self.generated if self.generated else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            valid_rate=self.valid_rate, promising_rate=self.promising_rate, hard_failure_rate=self.hard_failure_rate
        )
        return out


@dataclass(frozen=True)
class Comparison:
    base: RunFigures
    exp: RunFigures
    shared: dict[str, Any]
    improved: tuple[str, ...]
    regressed: tuple[str, ...]
    eligible: bool
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base.to_json(),
            "exp": self.exp.to_json(),
            "shared": self.shared,
            "improved": list(self.improved),
            "regressed": list(self.regressed),
            "eligible": self.eligible,
            "verdict": self.verdict,
        }


def run_dir_of(run: Any, runtime_root: Path | None = None) -> Path:
    """Where a run's folder is: under the runtime root it was started in (`resume_run`'s rule)."""
    root = Path(run.runtime_root) if run.runtime_root else runtime_root
    if root is None:
        raise CompareError(f"run {run.run_id} has no runtime root; pass the runtime root")
    return root / "runs" / run.run_id


def comparable(base: Any, exp: Any) -> dict[str, Any]:
    """The shared dataset and settings of two runs (`RunRow`s), or `CompareError` naming every
    difference."""
    from alphamine.sim.settings import SettingsError, make_settings

    def identity(run: Any) -> dict[str, Any]:
        try:
            brain = make_settings(dict(run.config.get("settings") or {})).to_brain()
        except SettingsError as e:
            raise CompareError(f"run {run.run_id} has settings this alphamine cannot read: {e}") from None
        platform = run.config.get("platform") or {}
        return {
            "dataset": {
                "data": run.config.get("data"),
                "fingerprint": run.data_fingerprint,
                "platform dataset": platform.get("dataset"),
            },
            **{k: brain.get(k) for k in COMPARED_SETTINGS},
        }

    a, b = identity(base), identity(exp)
    diffs = [k for k in a if a[k] != b[k]]
    if diffs:
        parts = "; ".join(f"{k}: {base.run_id}={_show(a[k])}, {exp.run_id}={_show(b[k])}" for k in diffs)
        raise CompareError(
            f"runs {base.run_id} and {exp.run_id} are not comparable: they differ in {', '.join(diffs)} ({parts}); "
            "prompt compare needs the same dataset, region, delay, universe, decay, truncation and neutralization"
        )
    return a


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return json.dumps({k: v for k, v in value.items() if v is not None}, sort_keys=True, default=str)
    return str(value)


def _dropped(usage: Mapping[str, Any] | None) -> int:
    if not usage:
        return 0
    prompts = (usage.get("total") or {}).get("prompts") or {}
    return sum(int(c.get("dropped", 0)) for c in prompts.values())


def run_figures(store: Any, run: Any, run_dir: Path) -> RunFigures:
    """The figures of one run (module doc)."""
    from alphamine.pipeline.run_usage import UsageFileError, cost_per_ready, read_usage
    from alphamine.pipeline.validation import search_metrics
    from alphamine.store.status import (
        LINTED_STATUSES,
        PROMISING_STATUSES,
        SIMULATED_STATUSES,
        CandidateStatus,
    )

    rows = store.candidates(run_id=run.run_id)
    try:
        usage = read_usage(run_dir)
    except UsageFileError:
        usage = None
    dropped = _dropped(usage)
    simulated = [r for r in rows if r.status in SIMULATED_STATUSES]
    results = store.results_for([r.id for r in simulated])
    fitness = []
    for r in simulated:
        res = results.get(r.id)
        value = search_metrics(res.metrics, res.test_range).get("fitness") if res is not None else None
        if isinstance(value, int | float) and math.isfinite(value):
            fitness.append(float(value))
    versions: dict[str, int] = {}
    for r in rows:
        v = r.params.get("prompt_version") if r.generator.startswith("llm:") else None
        if isinstance(v, str):
            versions[v] = versions.get(v, 0) + 1
    cost = cost_per_ready(store, run.run_id, run_dir)
    return RunFigures(
        run_id=run.run_id,
        generated=len(rows) + dropped,
        valid=sum(r.status in LINTED_STATUSES for r in rows),
        invalid=sum(r.status == CandidateStatus.INVALID for r in rows),
        dropped=dropped,
        failed=sum(r.status == CandidateStatus.FAILED for r in rows),
        simulated=len(simulated),
        promising=sum(r.status in PROMISING_STATUSES for r in rows),
        ready=cost["ready"],
        mean_fitness=sum(fitness) / len(fitness) if fitness else None,
        llm_tokens=cost["totals"]["llm_tokens"],
        llm_cost=cost["totals"]["llm_cost"],
        tokens_per_ready=cost["per_ready"]["llm_tokens"],
        cost_per_ready=cost["per_ready"]["llm_cost"],
        llm_usage=cost["llm_usage"],
        prompt_versions=dict(sorted(versions.items())),
    )


def judge(base: RunFigures, exp: RunFigures) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """(improved figures, regressed figures, eligible) by the promotion rule (module doc)."""
    improved, regressed = [], []
    for name, sign in RATES:
        a, b = getattr(base, name), getattr(exp, name)
        if a is None or b is None:
            continue
        if sign * (b - a) > EPSILON:
            improved.append(name)
        elif sign * (b - a) < -EPSILON:
            regressed.append(name)
    eligible = bool(improved) and "hard_failure_rate" not in regressed
    return tuple(improved), tuple(regressed), eligible


def compare_runs(store: Any, base_id: str, exp_id: str, *, runtime_root: Path | None = None) -> Comparison:
    """Compare run `exp_id` against `base_id` in `store` (module doc)."""
    if base_id == exp_id:
        raise CompareError(f"compare two different runs (both are {base_id})")
    runs = []
    for rid in (base_id, exp_id):
        run = store.get_run(rid)
        if run is None:
            raise CompareError(f"no run {rid!r} in {store.url}")
        runs.append(run)
    base, exp = runs
    shared = comparable(base, exp)
    fb = run_figures(store, base, run_dir_of(base, runtime_root))
    fe = run_figures(store, exp, run_dir_of(exp, runtime_root))
    improved, regressed, eligible = judge(fb, fe)
    if eligible:
        verdict = f"eligible for promotion: improves {', '.join(LABELS[n] for n in improved)}"
    elif "hard_failure_rate" in regressed:
        verdict = "not eligible: the hard-failure rate regressed"
    else:
        verdict = "not eligible: no figure improved"
    return Comparison(fb, fe, shared, improved, regressed, eligible, verdict)


def _fmt(value: Any, name: str) -> str:
    if value is None:
        return "n/a"
    if name.endswith("_rate"):
        return f"{100 * value:.1f}%"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _change(a: Any, b: Any, name: str) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return ""
    d = b - a
    if name.endswith("_rate"):
        return f"{100 * d:+.1f} pts"
    return f"{d:+.4g}"


def to_markdown(c: Comparison) -> str:
    """The comparison as a markdown page (tables and the verdict)."""
    b, e = c.base.to_json(), c.exp.to_json()
    lines = [
        f"# Prompt compare: {c.base.run_id} (base) vs {c.exp.run_id} (experiment)",
        "",
        "Shared: " + ", ".join(f"{k}={_show(v)}" for k, v in c.shared.items() if k != "dataset"),
        f"Dataset: {_show(c.shared['dataset'])}",
        "",
        f"| figure | {c.base.run_id} | {c.exp.run_id} | change |",
        "|---|---:|---:|---:|",
    ]
    for name, label in LABELS.items():
        mark = " ✓" if name in c.improved else (" ✗" if name in c.regressed else "")
        lines.append(
            f"| {label}{mark} | {_fmt(b[name], name)} | {_fmt(e[name], name)} | {_change(b[name], e[name], name)} |"
        )
    lines += ["", f"**Verdict:** {c.verdict}.", ""]
    for side in (c.base, c.exp):
        versions = ", ".join(f"{v} ({n})" for v, n in side.prompt_versions.items()) or "none"
        lines.append(f"- {side.run_id}: LLM usage {side.llm_usage}; prompt versions of its candidates: {versions}")
    return "\n".join(lines) + "\n"


def render(c: Comparison, fmt: str) -> str:
    """`markdown` or `json` text of a comparison (ValueError for another format)."""
    if fmt == "json":
        return json.dumps(c.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return to_markdown(c)
    raise ValueError(f"unknown format {fmt!r}; use markdown or json")

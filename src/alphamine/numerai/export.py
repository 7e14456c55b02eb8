"""The predict bundle: a self-contained cloudpickle of `predict(live_features, live_benchmark_models)`
for Numerai's model upload, and the check that it runs where alphamine is not installed.

Why a function built from source text: Numerai's runner (numerai-predict, spec §3.4) unpickles the
file in a container with numpy, pandas, scikit-learn, lightgbm and cloudpickle but no alphamine, so
any reference to an alphamine module fails there. cloudpickle pickles a function *by reference* when
its module is importable; `PREDICT_SOURCE` is therefore compiled into a namespace whose module name
(`BUNDLE_MODULE`) is importable nowhere, with a neutral file name: cloudpickle pickles it *by value*,
and its closure holds only plain data (feature names, weights, the fitted scikit-learn / LightGBM
estimators of `final_model.estimators()`). `bundle_bytes` refuses bytes that mention "alphamine".

Contract of the bundled `predict` (what the runner checks): two parameters (`live_benchmark_models`
is accepted and ignored: the members use features only); returns a `pd.DataFrame` indexed like
`live_features`, one column `prediction`, no NaN, values strictly in (0, 1). The value follows the
models.py export contract: each estimator predicts from `live_features[feature_names]` as float32,
its predictions are ranked within each era (the `era` column; one era without it) as (rank - 0.5)/n,
the ranks are averaged with the normalized weights and the average is ranked once more, so rows are
ordered exactly as `final_model.predict` orders them. A missing feature raises KeyError naming it.
The function carries `numerai_bundle_*` attributes (Python and library versions, feature names) that
`read_bundle_facts` reads from the opcodes *without unpickling*, so the Python version a pickle needs
is known even where loading it would fail; `container_warnings` compares the libraries with the
numerai-predict image of that Python (`CONTAINER_PINS`).

`validate_pickle` loads the file in a fresh `python -I -S` whose sys.path is the standard library plus
the venv's site-packages, behind an import guard that admits only the standard library and
`allowed_modules()` (alphamine is refused by name), and runs it on live-like data (a live parquet, or
generated rows over the bundle's features). The child's program is `CHILD_SOURCE`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import pickletools
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUNDLE_MODULE = "numerai_predict_bundle"
BUNDLE_FILENAME = "<numerai-predict-bundle>"
FORBIDDEN = "alphamine"
LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "cloudpickle")  # versions recorded in the bundle
# The image's libraries a bundle can need: they and their runtime dependencies are importable in the child.
CONTAINER_DISTRIBUTIONS = ("numpy", "pandas", "scikit-learn", "lightgbm", "cloudpickle", "scipy", "pyarrow")
BASE_MODULES = frozenset({"numpy", "pandas", "sklearn", "lightgbm", "scipy", "joblib", "threadpoolctl",
                          "dateutil", "pytz", "tzdata", "six", "pyarrow", "cloudpickle"})  # fmt: skip
# numerai-predict pins of LIBRARIES per image (spec §3.4, read 2026-11; the images move)
CONTAINER_PINS = {py: dict(zip(LIBRARIES, pins.split(), strict=True)) for py, pins in {
    "3.10": "1.26.4 2.2.1 1.6.1 4.0.0 2.2.1", "3.11": "2.1.3 2.3.1 1.6.1 4.6.0 3.1.1",
    "3.12": "2.1.3 2.3.1 1.6.1 4.5.0 3.1.1", "3.13": "2.2.6 2.3.3 1.6.1 4.5.0 3.1.2"}.items()}  # fmt: skip

PREDICT_SOURCE = '''
def make_predict(feature_names, members, era_col, facts):
    import numpy as np
    import pandas as pd

    feature_names = list(feature_names)
    total = sum(float(w) for w, _ in members)
    members = [(float(w) / total, est) for w, est in members]
    def unit_rank(values, groups):
        s = pd.Series(np.asarray(values, dtype="float64").ravel())
        if groups is None:
            return ((s.rank(method="average") - 0.5) / s.count()).to_numpy()
        g = s.groupby(groups, sort=False)
        return ((g.rank(method="average") - 0.5) / g.transform("count")).to_numpy()
    def predict(live_features, live_benchmark_models=None):
        missing = [c for c in feature_names if c not in live_features.columns]
        if missing:
            raise KeyError("live_features lacks %d model features, e.g. %s" % (len(missing), missing[:5]))
        matrix = live_features[feature_names].to_numpy(dtype=np.float32)
        groups = live_features[era_col].astype(str).to_numpy() if era_col in live_features.columns else None
        blended = np.zeros(len(matrix), dtype="float64")
        for weight, est in members:
            blended += weight * unit_rank(est.predict(matrix), groups)
        scaled = np.nan_to_num(unit_rank(blended, groups), nan=0.5)
        return pd.DataFrame({"prediction": scaled}, index=live_features.index)
    for key, value in facts.items():
        setattr(predict, key, value)
    predict.__qualname__ = "predict"
    return predict
'''


class ExportError(ValueError):
    """The bundle cannot be built or is not self-contained: one line for the CLI."""


@dataclass(frozen=True)
class BundleFacts:
    """What `read_bundle_facts` finds in a pickle's opcodes, without unpickling it."""

    python: str | None
    libraries: dict[str, str]
    modules: tuple[str, ...]
    mentions_forbidden: bool


@dataclass(frozen=True)
class PickleCheck:
    """The fresh interpreter's verdict. `ok` only when it ran and `problems` is empty."""

    ok: bool
    python_needed: str | None
    child_python: str
    problems: tuple[str, ...]
    rows: int = 0
    columns: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    arity: int | None = None
    alphamine_importable: bool | None = None
    stderr: str = ""
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- building
def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in LIBRARIES:
        with contextlib.suppress(PackageNotFoundError):  # an absent library is simply not listed
            out[name] = version(name)
    return out


def make_predict(feature_names: list[str], members: list[tuple[float, Any]], era_col: str = "era") -> Any:
    """The standalone predict function (module doc) over plain data. ExportError for no members or a
    non-positive total weight."""
    if not members:
        raise ExportError("the model has no fitted estimators to bundle")
    if sum(float(w) for w, _ in members) <= 0:
        raise ExportError("the ensemble weights must sum to a positive number")
    facts = {
        "numerai_bundle_python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "numerai_bundle_libraries": _versions(),
        "numerai_bundle_features": list(feature_names),
    }
    namespace: dict[str, Any] = {"__name__": BUNDLE_MODULE, "__builtins__": __builtins__}
    exec(compile(PREDICT_SOURCE, BUNDLE_FILENAME, "exec"), namespace)
    return namespace["make_predict"](list(feature_names), list(members), era_col, facts)


def bundle_bytes(final_model: Any, feature_names: list[str] | None = None, era_col: str = "era") -> bytes:
    """The cloudpickle bytes of the predict function of `final_model` (anything with `estimators() ->
    [(weight, estimator)]` and `feature_names`). ExportError when the bytes mention alphamine (an
    estimator class defined in alphamine, for instance)."""
    import cloudpickle

    names = list(feature_names if feature_names is not None else final_model.feature_names)
    members = [(float(w), est) for w, est in final_model.estimators()]
    data: bytes = cloudpickle.dumps(make_predict(names, members, era_col))
    facts = read_bundle_facts(data)
    if facts.mentions_forbidden:
        bad = [m for m in facts.modules if m.split(".")[0] == FORBIDDEN]
        raise ExportError(
            f"the bundle still references alphamine ({', '.join(bad) or 'in its bytes'}); "
            "final_model.estimators() must return plain scikit-learn/LightGBM estimators"
        )
    return data


def build_bundle(final_model: Any, out: Path, feature_names: list[str] | None = None, era_col: str = "era") -> Path:
    """Write the bundle of `final_model` to `out` (via a temporary file) and return the path."""
    data, out = bundle_bytes(final_model, feature_names, era_col), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    return tmp.replace(out)


# ---------------------------------------------------------------------------- reading
def read_bundle_facts(data: bytes) -> BundleFacts:
    """Python version, library versions, module references and the alphamine scan, read from the
    pickle's opcodes (nothing is unpickled, so this works for any Python the pickle was built for).

    Modules are the `GLOBAL` arguments and, for `STACK_GLOBAL`, the module string pushed before the
    name (memo gets followed); `mentions_forbidden` is true when "alphamine" occurs anywhere in the
    raw bytes or in any string operand."""
    strings: list[str] = []
    modules: set[str] = set()
    pushed: list[str | None] = []
    memo: dict[int, str | None] = {}
    try:
        for op, arg, _pos in pickletools.genops(data):
            name = op.name
            if name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                memo[len(memo) if name == "MEMOIZE" else int(arg or 0)] = pushed[-1] if pushed else None
                continue
            if name in ("GET", "BINGET", "LONG_BINGET"):
                pushed.append(memo.get(int(arg or 0)))
                continue
            if name == "GLOBAL" and isinstance(arg, str):
                modules.add(arg.split(" ")[0])
            elif name == "STACK_GLOBAL" and len(pushed) >= 2 and pushed[-2]:
                modules.add(str(pushed[-2]))
            if isinstance(arg, str):
                strings.append(arg)
            pushed.append(arg if isinstance(arg, str) else None)
    except Exception as e:  # truncated or not a pickle at all
        raise ExportError(f"not a readable pickle ({e})") from None
    key = "numerai_bundle_python"
    python = strings[strings.index(key) + 1] if key in strings[:-1] else None
    libraries: dict[str, str] = {}
    i = strings.index("numerai_bundle_libraries") + 1 if "numerai_bundle_libraries" in strings else len(strings)
    while i + 1 < len(strings) and strings[i] in LIBRARIES:
        libraries[strings[i]], i = strings[i + 1], i + 2
    forbidden = FORBIDDEN.encode() in data or any(FORBIDDEN in s for s in strings)
    return BundleFacts(python, libraries, tuple(sorted(modules)), forbidden)


def container_warnings(facts: BundleFacts) -> list[str]:
    """Where the bundle's Python or library versions (major.minor) differ from the numerai-predict
    image of its Python (`CONTAINER_PINS`): an estimator pickled by a newer scikit-learn may not load
    in an older one. Empty when they agree; one line for a Python without an image."""
    pins = CONTAINER_PINS.get(facts.python or "")
    if pins is None:
        return [f"no numerai-predict image for Python {facts.python} (images: {', '.join(CONTAINER_PINS)})"]
    image = f"numerai_predict_py_{(facts.python or '').replace('.', '_')}"
    return [f"{lib} {have} here, {pins[lib]} in {image}: rebuild with the image's versions before uploading"
            for lib, have in facts.libraries.items()
            if lib in pins and have.split(".")[:2] != pins[lib].split(".")[:2]]  # fmt: skip


# ---------------------------------------------------------------------------- validating
@functools.lru_cache(maxsize=8)
def allowed_modules(roots: tuple[str, ...] = CONTAINER_DISTRIBUTIONS) -> frozenset[str]:
    """Top-level module names of `roots` and of their installed runtime dependencies (transitively,
    extras excluded), plus `BASE_MODULES`: what the child may import besides the standard library.
    Why computed: a library's dependencies change between versions (scikit-learn 1.9 imports
    narwhals), and the container installs them with it."""
    import importlib.metadata as md
    import re

    def key(name: str) -> str:
        return name.strip().lower().replace("_", "-").replace(".", "-")

    by_dist: dict[str, set[str]] = {}
    for module, dists in md.packages_distributions().items():
        for d in dists:
            by_dist.setdefault(key(d), set()).add(module)
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = key(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0] for r in requirements if "extra ==" not in r]
    modules = {m for d in seen for m in by_dist.get(d, set())}
    return frozenset(modules | BASE_MODULES)


def site_packages() -> list[str]:
    """The running interpreter's (the venv's) site-packages: the child's only third-party path."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def validate_pickle(
    path: Path, *, live: Path | None = None, benchmark: Path | None = None, rows: int = 200,
    python: str | None = None, allowed: frozenset[str] | None = None, timeout: float = 300.0,
) -> PickleCheck:  # fmt: skip
    """Load and run the pickle at `path` in a fresh interpreter (module doc) and check its output.

    `live`: a parquet of live features (the synthetic `live.parquet`); None generates `rows` rows of
    features 0..4 named as the bundle says. `benchmark`: a parquet of live benchmark predictions for a
    2-parameter function (None: a sibling `live_benchmark_models.parquet` of `live` if present, else
    generated). The child is `python` (default: this interpreter)."""
    path = Path(path).resolve()
    facts = read_bundle_facts(path.read_bytes())
    if benchmark is None and live is not None:
        sibling = Path(live).with_name("live_benchmark_models.parquet")
        benchmark = sibling if sibling.exists() else None
    args = {
        "pickle": str(path), "live": str(Path(live).resolve()) if live else None,
        "benchmark": str(Path(benchmark).resolve()) if benchmark else None, "rows": int(rows),
        "site": site_packages(), "allowed": sorted(allowed if allowed is not None else allowed_modules()),
        "forbidden": FORBIDDEN,
    }  # fmt: skip
    cmd = [python or sys.executable, "-I", "-S", "-c", CHILD_SOURCE, json.dumps(args)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(path.parent))
    except subprocess.TimeoutExpired:
        return PickleCheck(False, facts.python, "", (f"the fresh interpreter ran past {timeout:.0f} s",))
    report = _last_json(done.stdout)
    if report is None:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return PickleCheck(False, facts.python, "", (f"the fresh interpreter failed (exit {done.returncode}): {why}",),
                           stderr=done.stderr)  # fmt: skip
    problems = list(report.get("problems", []))
    if facts.mentions_forbidden:
        problems.insert(0, "the pickle mentions alphamine (it would fail where alphamine is not installed)")
    if facts.python and facts.python != report.get("python"):
        problems.append(f"the pickle was built with Python {facts.python}; the checking interpreter is "
                        f"{report.get('python')}")  # fmt: skip
    return PickleCheck(
        ok=not problems, python_needed=facts.python or report.get("python_needed"),
        child_python=str(report.get("python", "")), problems=tuple(problems), rows=int(report.get("rows", 0)),
        columns=tuple(report.get("columns", [])), min_value=report.get("min"), max_value=report.get("max"),
        arity=report.get("arity"), alphamine_importable=report.get("alphamine_importable"), stderr=done.stderr,
        details={"libraries": facts.libraries, "modules": list(facts.modules), "sys_path": report.get("sys_path")},
    )  # fmt: skip


def _last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            if isinstance(out := json.loads(line), dict):
                return out
    return None


CHILD_SOURCE = r'''
import json, sys
args = json.loads(sys.argv[1])
sys.path[:] = [p for p in sys.path if p and "site-packages" not in p] + list(args["site"])
allowed, forbidden = set(args["allowed"]) | set(sys.stdlib_module_names), args["forbidden"]

class Guard:  # refuse the forbidden package and anything outside the standard library and `allowed`
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top == forbidden or (top not in allowed and not top.startswith("_")):
            raise ModuleNotFoundError("No module named %r (outside the Numerai container check)" % name, name=name)

sys.meta_path.insert(0, Guard())
report = {"python": "%d.%d" % sys.version_info[:2], "problems": [], "sys_path": sys.path}
try:
    __import__(forbidden)
    report["alphamine_importable"] = True
    report["problems"].append("%s is importable in the check interpreter" % forbidden)
except ImportError:
    report["alphamine_importable"] = False

def done(problem=None):
    if problem:
        report["problems"].append(problem)
    print(json.dumps(report, default=str))
    sys.exit(0)

try:
    import inspect
    import numpy as np
    import pandas as pd
    predict = pd.read_pickle(args["pickle"])
except Exception as e:
    done("cannot load the pickle: %s: %s" % (type(e).__name__, e))
if not callable(predict):
    done("the pickle holds a %s, not a function" % type(predict).__name__)
arity = report["arity"] = len(inspect.signature(predict).parameters)
report["python_needed"] = getattr(predict, "numerai_bundle_python", None)
if arity not in (1, 2):
    done("predict takes %d parameters; the runner accepts 1 or 2" % arity)
try:
    if args["live"]:
        live = pd.read_parquet(args["live"])
    else:
        names = list(getattr(predict, "numerai_bundle_features", []) or [])
        if not names:
            done("no --live file and the bundle does not list its features")
        n = int(args["rows"])
        live = pd.DataFrame(np.random.default_rng(0).integers(0, 5, size=(n, len(names))).astype("int8"),
                            columns=names, index=pd.Index(["n%015x" % i for i in range(n)], name="id"))
        live.insert(0, "era", "X")
    if arity == 2:
        if args["benchmark"]:
            bench = pd.read_parquet(args["benchmark"]).reindex(live.index)
        else:
            bench = pd.DataFrame({"v53_lgbm_ender20": np.random.default_rng(1).random(len(live))}, index=live.index)
        out = predict(live, bench)
    else:
        out = predict(live)
except Exception as e:
    done("predict raised %s: %s" % (type(e).__name__, e))
if type(out) is not pd.DataFrame:
    done("predict returned %s, not a pandas DataFrame" % type(out).__name__)
report["rows"], report["columns"] = int(len(out)), [str(c) for c in out.columns]
if out.empty:
    done("predict returned an empty DataFrame")
if list(out.columns) != ["prediction"]:
    report["problems"].append("columns are %s; the convention is one column 'prediction'" % list(out.columns))
if not out.index.equals(live.index):
    report["problems"].append("the index is not the live ids in their order")
first = out.iloc[:, 0].astype("float64")
if first.isna().any():
    done("%d predictions are NaN" % int(first.isna().sum()))
report["min"], report["max"] = float(first.min()), float(first.max())
if not ((first > 0) & (first < 1)).all():
    report["problems"].append("predictions leave (0, 1): [%g, %g]" % (report["min"], report["max"]))
done()
'''
"""The fresh interpreter's program, passed as text (module doc): it prints one JSON report line."""

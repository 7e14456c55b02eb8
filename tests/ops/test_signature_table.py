"""The generated signature table (`alphamine/signatures.py`) is the registry's declarations exactly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from alphamine.expr.operators import registry_operators, signature_operators
from alphamine.ops.signature_table import TABLE_PATH, render


def test_table_file_is_current() -> None:
    assert TABLE_PATH.read_text(encoding="utf-8") == render(), (
        "src/alphamine/signatures.py is stale: run `python -m alphamine.ops.signature_table`"
    )


def _declared(op):  # every field except the callables; repr: a NaN default equals itself
    return (op.name, op.category, repr(op.params), op.doc, op.output, op.unit_rule, op.needs_context,
            op.symbol, tuple(op.assumptions), tuple(op.examples), op.time_series, op.validate is None)


def test_signature_operators_equal_the_registry() -> None:
    real, table = registry_operators(), signature_operators()
    assert sorted(real) == sorted(table)
    for name, op in real.items():
        assert _declared(table[name]) == _declared(op), name


@pytest.mark.parametrize("name", sorted(registry_operators()))
def test_lookback_and_validate_agree(name: str) -> None:
    real, view = registry_operators()[name], signature_operators()[name]
    consts = {p.name: (p.default if not p.required else 7) for p in real.params if p.kind.is_constant}
    consts = {k: v for k, v in consts.items() if isinstance(v, int | float) and not isinstance(v, bool)} | {
        k: v for k, v in consts.items() if not isinstance(v, int | float) or isinstance(v, bool)}
    try:
        expected = real.lookback(consts)
    except Exception as e:  # the same failure must come from the view
        with pytest.raises(type(e)):
            view.lookback(consts)
    else:
        assert view.lookback(consts) == expected
    if real.validate is not None:
        assert view.validate is not None


def test_view_kernel_runs_the_real_kernel() -> None:
    import numpy as np

    x = np.arange(12, dtype=float).reshape(4, 3)
    np.testing.assert_array_equal(signature_operators()["abs"].kernel(-x), registry_operators()["abs"].kernel(-x))


def test_lint_imports_no_kernel_module() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['alphamine', 'lint', '--builtin', '-rank(close) + ts_mean(volume, 5)']\n"
        "from alphamine.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'numpy', 'pandas', 'scipy')"
        " or m.startswith('alphamine.ops.'))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out, out

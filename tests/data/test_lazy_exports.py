"""Lazy package exports: `import alphamine` stays cheap and exported names survive submodule imports."""

from __future__ import annotations

import subprocess
import sys


def test_exported_function_wins_over_its_submodule() -> None:
    import alphamine.data.synthetic  # noqa: F401  (binds the submodule on the package, as any import does)
    from alphamine.data import synthetic

    assert callable(synthetic) and synthetic.__name__ == "synthetic"


def test_public_api_resolves_every_name() -> None:
    import alphamine

    for name in alphamine.__all__:
        assert getattr(alphamine, name) is not None, name


def test_help_path_imports_no_heavy_library() -> None:
    code = (
        "import sys; import alphamine.cli.main; "
        "heavy = [m for m in ('numpy', 'numba', 'pandas', 'scipy', 'sqlalchemy', 'pydantic', 'httpx', 'matplotlib') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"alphamine --help imports {out}"

"""Lazy re-exports for package `__init__` modules (PEP 562).

Why: `alphamine --help` and `alphamine lint` must start in a fraction of a second, but the public API
re-exports names whose modules import numba, scipy and pandas. A package lists `name -> module` and
the module is imported on first attribute access; `from alphamine import simulate` still works.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """(`__getattr__`, `__dir__`) for `package`, resolving `exports[name]` (a module path) on demand and
    caching the value in the package `namespace`."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__

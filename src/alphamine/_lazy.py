"""Lazy re-exports for package `__init__` modules (PEP 562).

Why: `alphamine --help` and `alphamine lint` must start in a fraction of a second, but the public API
re-exports names whose modules import numba, scipy and pandas. A package lists `name -> module` and
the module is imported on first attribute access; `from alphamine import simulate` still works.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Collection, Mapping
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


def keep_exports_over_submodules(package: str, names: Collection[str]) -> None:
    """Keep `package.<name>` the exported object when a submodule of the same name is imported.

    Why: `alphamine.data.synthetic` is both a module and the function the package exports. Importing
    the submodule makes the import system bind the *module* on the package, so a later
    `from alphamine.data import synthetic` would get the module. An eager `__init__` hid this by
    rebinding the name after importing; a lazy one keeps the name by refusing that binding (the module
    stays in `sys.modules`, where `from alphamine.data.synthetic import ...` finds it)."""
    module = sys.modules[package]
    protected = frozenset(names)

    class _Package(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if name in protected and isinstance(value, types.ModuleType) and value.__name__ == f"{package}.{name}":
                return
            super().__setattr__(name, value)

    module.__class__ = _Package

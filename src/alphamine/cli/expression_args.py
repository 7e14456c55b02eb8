"""Expressions as positional arguments, including ones that start with '-'.

Why: about a third of real alphas start with a minus (`-rank(close)`, `-ts_corr(...)`, `-(a - b)`),
and click reads any argument that starts with '-' as an option ("No such option: -r"). Commands that
take an expression use `ExpressionCommand`: before click parses, every argument that starts with '-'
but is not one of the command's own option spellings (nor the value of one) is moved behind a `--`,
so it reaches the EXPR argument. Real options keep working before and after the expression; an
option's own spelling (`--json`) is always that option; `--` still ends the options explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typer.core import TyperCommand

_OPTION_LIKE: list[str] = []
"""The arguments of the command being parsed that spelled one of its options (for error hints; the CLI
parses one command line per process, tests one at a time)."""
_COMMAND: list[str] = []


def option_arities(params: Sequence[Any]) -> dict[str, bool]:
    """Every option spelling of `params` (click parameters: typer may vendor its own click, so they are
    recognised by `param_type_name`) -> whether it takes a value (flags and counters do not)."""
    out: dict[str, bool] = {}
    for p in params:
        if getattr(p, "param_type_name", None) == "option":
            takes_value = not (p.is_flag or p.count)
            for spelling in (*p.opts, *p.secondary_opts):
                out[spelling] = takes_value
    return out


def split_expression_args(args: Sequence[str], arities: dict[str, bool]) -> tuple[list[str], list[str]]:
    """(options with their values, positionals) of a command line, reading any '-'-prefixed argument
    that is not an option spelling of the command as a positional (an expression).

    `--name=value` counts as the option `--name`. The value after a value-taking option is taken as
    is, even when it starts with '-' (`--delay -1`). Everything after a bare `--` is positional.
    """
    options: list[str] = []
    positionals: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positionals.extend(args[i + 1 :])
            break
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if arg.startswith("-") and arg != "-" and name in arities:
            options.append(arg)
            if arities[name] and "=" not in arg and i + 1 < len(args):
                options.append(args[i + 1])
                i += 1
        else:
            positionals.append(arg)
        i += 1
    return options, positionals


class ExpressionCommand(TyperCommand):
    """A typer command whose positional EXPR may start with '-' (module doc)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        arities = option_arities(self.get_params(ctx))
        options, positionals = split_expression_args(args, arities)
        # flags only: an option followed by its value was plainly meant as that option
        _OPTION_LIKE[:] = [a for a in options if arities.get(a) is False]
        _COMMAND[:] = [ctx.command_path or "alphamine"]
        return super().parse_args(ctx, [*options, "--", *positionals] if positionals else options)


def missing_expression_hint() -> str:
    """A sentence for 'no expression given' errors: names the arguments read as options, and how to
    pass an expression that is spelled like one ('' when no argument was read as an option)."""
    flags = list(_OPTION_LIKE)
    if not flags:
        return ""
    shown = ", ".join(repr(a) for a in flags[:3])
    return (
        f" ({shown} {'was' if len(flags) == 1 else 'were'} read as an option of this command; "
        f"to pass an expression spelled like an option, put it after '--', e.g. "
        f"{_COMMAND[0] if _COMMAND else 'alphamine lint'} -- {flags[0]!r})"
    )

"""Human-readable operator reference generated from the registry (docs/operators.md, `ops show`).

Why generated: the registry is the single source of truth for signatures and semantics; a hand-written
reference would drift. A test checks that docs/operators.md equals `render_markdown()`.
"""

from __future__ import annotations

from alphamine.ops.registry import Category, Operator, all_operators

_CATEGORY_TITLES = {
    Category.ARITHMETIC: "Arithmetic",
    Category.LOGICAL: "Logical",
    Category.TIME_SERIES: "Time series",
    Category.CROSS_SECTIONAL: "Cross-sectional",
    Category.GROUP: "Group",
    Category.VECTOR: "Vector",
    Category.TRANSFORMATIONAL: "Transformational",
}


def first_line(doc: str) -> str:
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def describe(op: Operator) -> str:
    """Plain-text description of one operator (for `alphamine ops show`)."""
    lines = [op.signature, "", f"category: {op.category.value}    output: {op.output.value}"]
    if op.symbol:
        lines.append(f"infix: {op.symbol}")
    lines += ["", op.doc.strip(), "", "parameters:"]
    for p in op.params:
        default = "required" if p.required else f"default {p.default!r}"
        extra = " (one or more)" if p.variadic else ""
        choices = f"; one of {', '.join(p.choices)}" if p.choices else ""
        lines.append(f"  {p.name}: {p.kind.value}{extra}, {default}{choices}{'  ' + p.doc if p.doc else ''}")
    if op.assumptions:
        lines += ["", "assumptions (brain.md marks these unknown or conflicting):"]
        lines += [f"  - {a}" for a in op.assumptions]
    if op.examples:
        lines += ["", "examples:"] + [f"  {e}" for e in op.examples]
    return "\n".join(lines)


def render_markdown() -> str:
    ops = all_operators()
    out = [
        "# Operators",
        "",
        "Generated from the operator registry by `alphamine ops docs --out docs/operators.md`; do not edit",
        "by hand. Conventions (simulation.md): a window of `d` includes today; rows with fewer than `d`",
        "rows of history are NaN unless stated; NaNs inside a window are skipped; `rank` is the average",
        "rank of ties scaled to [0, 1]; population std (ddof 0) except `group_backfill`; comparisons and",
        "logical operators return 1.0 / 0.0 and propagate NaN; ±inf become NaN only at the end of",
        "evaluation.",
        "",
        f"{len(ops)} operators.",
        "",
    ]
    for cat, title in _CATEGORY_TITLES.items():
        members = [o for o in ops if o.category == cat]
        if not members:
            continue
        out += [f"## {title} ({len(members)})", "", "| operator | infix | output | description |", "|---|---|---|---|"]
        for o in members:
            out.append(
                f"| `{_md_escape(o.signature)}` | {f'`{o.symbol}`' if o.symbol else ''} | {o.output.value} "
                f"| {_md_escape(first_line(o.doc))} |"
            )
        out.append("")
    out += [
        "## Assumptions",
        "",
        "Where brain.md marks a semantic unknown or conflicting, alphamine picks the most natural reading.",
        "Each choice is a documented constant that `alphamine brain calibrate` can re-check against the",
        "platform.",
        "",
        "| operator | assumption |",
        "|---|---|",
    ]
    for o in ops:
        for a in o.assumptions:
            out.append(f"| `{o.name}` | {_md_escape(a)} |")
    out.append("")
    return "\n".join(out)

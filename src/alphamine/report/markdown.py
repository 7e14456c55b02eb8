"""`run_report.md`: the report's content as Markdown tables (no images; the HTML has the plots).

Why: a Markdown report reads well in a terminal, a pull request or a chat, and diffs between runs;
it shows the same rows as the HTML (from `view.context`), IS and OS side by side.
"""

from __future__ import annotations

from typing import Any

from alphamine.report.model import OS_COLLAPSE_RULE, ReportData
from alphamine.report.view import DASH, context


def cell(x: Any) -> str:
    """One table cell: pipes escaped, newlines flattened."""
    return str(x).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def code(x: Any) -> str:
    """Inline code that survives backticks inside the text."""
    text = cell(x)
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> list[str]:
    align = align or ["l"] * len(header)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    out = ["| " + " | ".join(cell(h) for h in header) + " |", "| " + " | ".join(marks[a] for a in align) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(data: ReportData, ctx: dict[str, Any] | None = None) -> str:
    """The whole Markdown report (UTF-8 text ending with a newline); `ctx` is `view.context(data)`
    when the caller already has it."""
    ctx = context(data) if ctx is None else ctx
    out = [
        f"# alphamine run `{cell(data.run_id)}` — {cell(data.status)}",
        "",
        f"- seed: {data.seed}",
        f"- started: {cell(data.created_at)} · finished: {cell(ctx['finished_at'])}",
        f"- data: {cell(data.data_description)} (fingerprint `{cell(data.data_fingerprint)}`)",
        "- plots: [run_report.html](run_report.html) · machine-readable: [run_result.json](run_result.json)"
        + "".join(f" · [{cell(path)}]({path})" for path in ctx["artifacts"].values()),
        "",
        "## Summary",
        "",
        *table([c["label"] for c in ctx["cards"]], [[c["value"] for c in ctx["cards"]]], ["r"] * len(ctx["cards"])),
        "",
        "## Funnel",
        "",
    ]
    if ctx["funnel"]:
        out += table(
            ["stage", "count", "of previous", "of generated"],
            [[f["stage"], f["count"], f["from_prev"], f["from_top"]] for f in ctx["funnel"]],
            ["l", "r", "r", "r"],
        )
    else:
        out.append("_no funnel recorded_")
    out += ["", "## Best and ready candidates — IS vs OS", ""]
    rows = ctx["rows"]
    if rows:
        header = ["#", "expression", "flags"]
        for label in ctx["table_metrics"]:
            header += [f"IS {label}", f"OS {label}"]
        body = []
        for r in rows:
            flags = [
                f for f, on in (("ready", r["ready"]), ("best", r["best"]), ("⚠ OS collapse", r["collapse"])) if on
            ]
            if r["risk_model"]:
                flags.append("risk≈")
            line = [str(r["id"]), code(r["expression"]), cell(", ".join(flags) or DASH)]
            for m in r["metrics"]:
                line += [m["is"], m["os"]]
            body.append(line)
        out += table(header, body, ["r", "l", "l"] + ["r"] * (len(header) - 3))
        out += ["", f"OS collapse rule: {OS_COLLAPSE_RULE}. Turnover, returns, drawdown in %; margin in bps.", ""]
        out += ["## Candidate details", ""]
        for r in rows:
            out += _details(r)
    else:
        out.append("_No candidate was simulated in this run._")
    if ctx["improvements"]:
        out += ["", "## Optimizer improvements", ""]
        out += table(
            ["optimizer", "strategy", "parent → child", "changes (IS)"],
            [
                [
                    cell(i["optimizer"]),
                    cell(i["strategy"] or DASH),
                    f"#{i['parent_id']} → #{i['child_id']}",
                    cell("; ".join(f"{c['metric']} {c['before']} → {c['after']} ({c['delta']})" for c in i["changes"])),
                ]
                for i in ctx["improvements"]
            ],
        )
    if ctx["correlation"]:
        corr = ctx["correlation"]
        out += ["", "## PnL correlation of the ready set", ""]
        out += table(
            ["", *[f"#{i}" for i in corr["ids"]]],
            [[f"**#{i}**", *row] for i, row in zip(corr["ids"], corr["rows"], strict=True)],
            ["l"] + ["r"] * len(corr["ids"]),
        )
    if ctx["stage_times"]:
        out += ["", "## Time per stage", ""]
        out += table(
            ["stage", "seconds", "runs", "mean", "share"],
            [[cell(t["stage"]), t["seconds"], t["count"], t["mean"], t["share"]] for t in ctx["stage_times"]],
            ["l", "r", "r", "r", "r"],
        )
    if ctx["stages"]:
        out += ["", "## Stage timeline", ""]
        out += table(
            ["iteration", "stage", "status", "started", "duration", "summary"],
            [
                [
                    cell(s["iteration"]),
                    cell(s["stage"]),
                    cell(s["status"]),
                    cell(s["started_at"]),
                    s["duration"],
                    cell(s["summary"]),
                ]
                for s in ctx["stages"]
            ],
            ["r", "l", "l", "l", "r", "l"],
        )
    if ctx["notes"]:
        out += ["", "## Notes", ""] + [f"- {cell(n)}" for n in ctx["notes"]]
    return "\n".join(out) + "\n"


def _details(r: dict[str, Any]) -> list[str]:
    out = [f"### #{r['id']} — {cell(r['status'])}", "", f"- expression: {code(r['expression'])}"]
    out.append(f"- settings: {cell(r['settings'])}" + (" (risk-model approximation)" if r["risk_model"] else ""))
    if r["collapse"]:
        out.append(f"- **⚠ OS collapse:** {cell(r['collapse'])}")
    checks = ", ".join(f"{b['name']} {b['result']}" for b in r["checks"]) or DASH
    out.append(f"- checks: {cell(checks)}")
    t = r["thesis"]
    if t["type"] or t["rationale"]:
        out.append(f"- thesis: {cell(t['type'])}{' — ' if t['type'] else ''}{cell(t['rationale'])}")
    if t["failure_mode"]:
        out.append(f"- failure mode: {cell(t['failure_mode'])}")
    if r["generator"]:
        out.append(f"- generator: {cell(r['generator'])}")
    if r["parent_id"] is not None:
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        lineage = f"- lineage: variant of #{r['parent_id']}" + (f" by {cell(r['strategy'])}" if r["strategy"] else "")
        out.append(lineage + (f" ({cell(params)})" if params else ""))
        if r["deltas"]:
            out.append("- vs parent: " + " · ".join(f"Δ {d['metric']} {d['text']}" for d in r["deltas"]))
        else:
            out.append("- vs parent: parent not in this run")
    if r["reasons"]:
        out.append(f"- reasons: {cell('; '.join(r['reasons']))}")
    return [*out, ""]

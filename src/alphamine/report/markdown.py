"""`run_report.md`: the report's content as Markdown tables (no images; the HTML has the plots).

Why: a Markdown report reads well in a terminal, a pull request or a chat, and diffs between runs;
it shows the same rows as the HTML (from `research_view.context`), IS and OS side by side, then search,
validation and OS with the trial-aware numbers.
"""

from __future__ import annotations

from typing import Any

from alphamine.report.efficiency import markdown as efficiency_markdown
from alphamine.report.model import OS_COLLAPSE_RULE, ReportData
from alphamine.report.research_view import context
from alphamine.report.view import DASH


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
    """The whole Markdown report (UTF-8 text ending with a newline); `ctx` is
    `research_view.context(data)` when the caller already has it."""
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
    else:
        out += ["_No candidate was simulated in this run._", ""]
    out += research_section(ctx["research"])
    if data.efficiency:
        out += efficiency_markdown(data.efficiency)
    if rows:
        out += ["## Candidate details", ""]
        for r in rows:
            out += _details(r, ctx["research"]["cards"].get(r["id"]))
            note = (data.efficiency or {}).get("critic_notes", {}).get(r["id"])
            if note:
                out += [f"- critic: {cell(note)}", ""]
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


def research_section(q: dict[str, Any]) -> list[str]:
    """`## Research quality`: search | validation | OS, the trial-aware gate rules, repair success and
    field freshness by period."""
    out = ["## Research quality", "",
           "Search: the IS days the search stages read; validation: the end of IS that only the gate reads; "
           "OS: read by no rule. DSR: the search Sharpe deflated by the trials of the candidate's lineage "
           "family (run: by the whole run's); PSR against 0.", ""]  # fmt: skip
    if q["table"]:
        out += ["### Search, validation and OS — best and ready candidates", ""]
        header = ["id", "status", "IS Sharpe", "search Sharpe", "validation Sharpe", "OS Sharpe",
                  "validation / search", "DSR", "PSR", "trials family / run", "effective trials", "DSR (run)",
                  "positive years", "held back by"]  # fmt: skip
        body = [
            [str(t["id"]), cell(t["status"]), t["is"], t["search"], t["validation"], t["os"], t["ratio"], t["dsr"],
             t["psr"], t["trials"], t["effective"], t["run_dsr"], t["positive_years"],
             cell("; ".join(t["held_back"]) or DASH)]
            for t in q["table"]
        ]  # fmt: skip
        out += [*table(header, body, ["r", "l"] + ["r"] * 11 + ["l"]), ""]
    out += ["### Trial-aware gate rules", ""]
    if q["rules"]:
        out += table(
            ["rule", "requires", "judged", "passed", "held back", "only failing check", "pending"],
            [[r["check"], cell(r["rule"]), r["judged"], r["passed"], r["held_back"], r["sole"], r["pending"]]
             for r in q["rules"]],
            ["l", "l", "r", "r", "r", "r", "r"],
        )  # fmt: skip
        out += ["", f"{q['judged']} candidates judged; lineage-family cap ({cell(q['family_rule'])}): "
                f"{q['family_capped']} held back for diversity.", ""]  # fmt: skip
    elif q["trial_aware"]:
        out += ["_No candidate was judged by the trial-aware gate yet._", ""]
    else:
        out += ["_Classic gate: the platform's checks only (no trial-aware rules)._", ""]
    out += ["### Repair success", ""]
    if q["repairs"]:
        out += table(
            ["failing check", "attempts", "simulated", "fixed", "fix rate"],
            [[r["check"], r["attempts"], r["simulated"], r["fixed"], r["rate"]] for r in q["repairs"]],
            ["l", "r", "r", "r", "r"],
        )
        out += ["", "Fixed: the repair passes the check its parent failed; rate = fixed / simulated.", ""]
    else:
        out += ["_No repair was proposed in this run._", ""]
    f = q["freshness"]
    out += ["### Field freshness by period", ""]
    if f["rows"]:
        out += [f"Worst share of position-days on values older than {f['limit_days']} days, over the "
                f"{f['candidates']} ready and promising candidates reading the field; ⚠ above "
                f"{f['max_share']}.", ""]  # fmt: skip
        out += table(
            ["field", "candidates", *f["periods"]],
            [[code(r["field"]), r["candidates"], *[("⚠ " if x["stale"] else "") + x["text"] for x in r["cells"]]]
             for r in f["rows"]],
            ["l", "r"] + ["r"] * len(f["periods"]),
        )  # fmt: skip
        if f["left_out"]:
            out.append(f"_… and {f['left_out']} fresher fields._")
        out.append("")
    else:
        out += ["_No ready or promising candidate reads a field with age information._", ""]
    return out


def _details(r: dict[str, Any], research: dict[str, Any] | None = None) -> list[str]:
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
    if research is not None:
        out.append(f"- Sharpe: {research['sharpes']}")
        if research["trials"]:
            out.append(f"- trials: {research['trials']}")
        if research["years"]:
            out.append(f"- years: {research['years']}")
        if research["held_back"]:
            out.append(f"- **held back by:** {cell('; '.join(research['held_back']))}")
    return [*out, ""]

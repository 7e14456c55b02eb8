"""Run reports: Markdown, machine-readable JSON and a self-contained HTML page with plots.

The run controller fills a `ReportData` (see `model.py`) and calls `write_reports(run_dir, data)`.
"""

from alphamine.report.build import render_html, render_markdown, result_json, write_reports
from alphamine.report.model import (
    OS_COLLAPSE_RULE,
    RISK_MODEL_NOTE,
    CandidateReport,
    ReportData,
    from_sim_result,
    os_collapse,
)

__all__ = [
    "OS_COLLAPSE_RULE",
    "RISK_MODEL_NOTE",
    "CandidateReport",
    "ReportData",
    "from_sim_result",
    "os_collapse",
    "render_html",
    "render_markdown",
    "result_json",
    "write_reports",
]

"""`alphamine lab serve LAB`: a small read-only dashboard of a lab.

Why server-rendered: one request gives the whole page (stat chips, the progress chart as inline SVG,
the results table, the latest Critic and Director notes) with no script and no CDN, so it works
offline and in a headless browser; the page reloads itself every `refresh` seconds to follow a run.
`/api/state` serves the same facts as JSON, in the spirit of leanlab's `/api/state` (lab, metric,
direction, results, best, latest, directions, critique) plus the noise band and the failure count.

Contract: `create_app(cfg)` -> FastAPI app reading the lab afresh on every request (nothing cached,
nothing written); `serve(cfg, host, port)` runs it with uvicorn (127.0.0.1:8765 by default, leanlab's).
Every lab text on the page is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from alphamine.lab.chart import progress_svg
from alphamine.lab.config import LabConfig
from alphamine.lab.ledger import RESERVED, SIGNIFICANT_KEY, Ledger
from alphamine.lab.noise import NoiseBand, any_band, band_for
from alphamine.lab.roles import CRITIC_FILE, DIRECTOR_FILE
from alphamine.lab.state import load_state

DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REFRESH = "127.0.0.1", 8765, 10
STYLE = """
:root{--bg:#0d1117;--panel:#161b22;--border:#2a3240;--text:#e6edf3;--muted:#8b949e;--good:#3fb950;--bad:#f85149;
--accent:#58a6ff}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--text);font:14px/1.5 system-ui,sans-serif}
header{display:flex;gap:14px;align-items:center;padding:10px 16px;background:var(--panel);
border-bottom:1px solid var(--border)}header h1{font-size:16px;margin:0}
.badge{font-size:12px;padding:3px 10px;border-radius:20px;border:1px solid var(--border)}
main{max-width:1100px;margin:0 auto;padding:14px;display:flex;flex-direction:column;gap:14px}
.stats{display:flex;gap:12px}.chip{flex:1;background:var(--panel);border:1px solid var(--border);border-radius:10px;
padding:10px 14px}.chip .k{font-size:10px;text-transform:uppercase;color:var(--muted)}.chip .v{font-size:22px}
.chip .v.good{color:var(--good)}
.card{background:var(--panel);border:1px solid var(--border);border-radius:10px;padding:10px 14px;overflow-x:auto}
.card h2{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 8px}
.row2{display:flex;gap:14px}.row2 .card{flex:1;min-width:0}
table{width:100%;border-collapse:collapse;font-size:12px}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid var(--border);white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.best td{background:rgba(63,185,80,.15)}tr.failed td{color:var(--bad)}
pre{white-space:pre-wrap;font-size:12px;margin:0;max-height:360px;overflow:auto}
svg .bg{fill:var(--panel)}svg .axis{stroke:var(--muted)}svg .grid{stroke:var(--border);stroke-dasharray:2 3}
svg .tick,svg .label,svg .empty{fill:var(--muted);font-size:11px}svg .metric-line{fill:none;stroke:var(--accent);
stroke-width:1.5}svg .best-line{fill:none;stroke:var(--good);stroke-width:1.5;stroke-dasharray:6 4}
svg .pt{fill:var(--accent)}svg .pt.best{fill:var(--good)}svg .fail{stroke:var(--bad);stroke-width:2}
svg .band{fill:rgba(63,185,80,.12)}
"""


def _band(cfg: LabConfig) -> NoiseBand | None:
    state = load_state(cfg)
    last = (state.last_worker if state else {}) or {}
    workers = int(state.run.workers) if state and state.run else int(last.get("workers", 1) or 1)
    return band_for(state, workers) or any_band(state)


def _notes(cfg: LabConfig, name: str) -> str:
    try:
        return (cfg.dir / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def lab_state(cfg: LabConfig) -> dict[str, Any]:
    """The dashboard's facts (module doc)."""
    rows = Ledger(cfg).read()
    band = _band(cfg)
    latest = cfg.value(rows[-1]) if rows else None
    return {
        "lab": cfg.name,
        "metric": cfg.metric,
        "direction": cfg.direction,
        "results": rows,
        "best": Ledger(cfg).best(rows),
        "latest": latest,
        "failed": sum(cfg.value(r) is None for r in rows),
        "noise": band.to_json() if band else None,
        "directions": _notes(cfg, DIRECTOR_FILE),
        "critique": _notes(cfg, CRITIC_FILE),
    }


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape("" if value is None else str(value))


def _table(cfg: LabConfig, rows: list[dict[str, Any]], best: float | None) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in RESERVED and k != SIGNIFICANT_KEY and k not in columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    out = [f'<table id="results"><tr><th>#</th><th>experiment</th>{head}<th>best</th><th>significant</th>'
           "<th>notes</th></tr>"]
    for i, row in enumerate(rows, 1):
        value = cfg.value(row)
        cls = "best" if value is not None and value == best else ("failed" if value is None else "")
        cells = "".join(f'<td class="num">{_cell(row.get(c))}</td>' for c in columns)
        flags = f"<td>{'★' if row.get('best_so_far') else ''}</td><td>{'★' if row.get(SIGNIFICANT_KEY) else ''}</td>"
        out.append(f'<tr class="{cls}"><td>{i}</td><td>{_cell(row.get("experiment_file"))}</td>{cells}{flags}'
                   f'<td title="{_cell(row.get("notes"))}">{_cell(str(row.get("notes", ""))[:80])}</td></tr>')
    out.append("</table>")
    return "".join(out)


def render_page(cfg: LabConfig, refresh: int = DEFAULT_REFRESH) -> str:
    state = lab_state(cfg)
    rows, best = state["results"], state["best"]
    band = state["noise"]["band"] if state["noise"] else 0.0
    arrow = "↓" if cfg.direction == "min" else "↑"
    chips = [
        ("best " + arrow, _cell(best), "good"),
        ("latest", _cell(state["latest"]), ""),
        ("experiments", f"{len(rows)} ({state['failed']} failed)", ""),
        ("noise band", f"±{band:.4g}" if state["noise"] else "not measured", ""),
    ]
    chip_html = "".join(f'<div class="chip"><div class="k">{k}</div><div class="v {c}">{v}</div></div>'
                        for k, v, c in chips)
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh > 0 else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
        f"<title>alphamine lab · {escape(cfg.name)}</title><style>{STYLE}</style></head><body>"
        f'<header><h1 id="lab-name">{escape(cfg.name)}</h1>'
        f'<span class="badge" id="objective">objective · {cfg.direction} {escape(cfg.metric)}</span></header>'
        f'<main><section class="stats" id="stats">{chip_html}</section>'
        f'<section class="card"><h2>Progress</h2>{progress_svg(cfg, rows, band)}</section>'
        f'<section class="card"><h2>Results</h2>{_table(cfg, rows, best)}</section>'
        f'<div class="row2"><section class="card"><h2>Critic</h2><pre id="critic">{escape(state["critique"])}</pre>'
        f'</section><section class="card"><h2>Director</h2><pre id="director">{escape(state["directions"])}</pre>'
        "</section></div></main></body></html>"
    )


def create_app(cfg: LabConfig) -> FastAPI:
    app = FastAPI(title=f"alphamine lab {cfg.name}", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def page(refresh: int = DEFAULT_REFRESH) -> HTMLResponse:
        return HTMLResponse(render_page(cfg, refresh))

    @app.get("/api/state")
    def api_state() -> JSONResponse:
        return JSONResponse(lab_state(cfg))

    return app


def serve(cfg: LabConfig, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    import uvicorn

    uvicorn.run(create_app(cfg), host=host, port=port, log_level="warning")

"""Every dashboard page over real HTTP on loopback, its numbers compared with the store: runs, progress,
stage timings, cost per ready alpha, the live view, the candidates table's filters and sorts, a
candidate's chart, periods, checks and lineage, the ready set's correlation and the memory."""

from __future__ import annotations

import math
import re
import sqlite3
from contextlib import closing

import httpx
import numpy as np
import pytest

from alphamine.pipeline.reporting import funnel
from alphamine.pipeline.run_usage import cost_per_ready
from alphamine.pipeline.timings import stage_timings
from alphamine.pipeline.trial_gate import TRIAL_CHECKS
from alphamine.pipeline.validation import has_validation
from alphamine.sim.correlation import correlation_matrix
from alphamine.store import Store
from alphamine.store.memory import AlphaMemory
from tests.dashboard.conftest import LIVE, MINED, WORKER, Mined


def get(url: str, path: str, **params: object) -> httpx.Response:
    return httpx.get(url + path, params=params or None, timeout=30)


def page(url: str, path: str, **params: object) -> str:
    r = get(url, path, **params)
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def rows(html: str, table_id: str) -> list[str]:
    """The `<tr ...>` opening tags with data attributes inside the table with this id."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr data-[^>]*>", body)


def attr(tag: str, name: str) -> str | None:
    m = re.search(rf'\b{name}="([^"]*)"', tag)
    return None if m is None else m.group(1)


def table_ids(html: str) -> list[int]:
    return [int(attr(t, "data-id") or 0) for t in rows(html, "candidates")]


# ---------------------------------------------------------------- runs
def test_runs_page_lists_every_run_with_its_counts(served: str, store: Store) -> None:
    html = page(served, "/")
    found = {attr(t, "data-run"): t for t in rows(html, "runs")}
    assert set(found) == {r.run_id for r in store.list_runs()} == {MINED, LIVE}
    for run in store.list_runs():
        cands = store.candidates(run_id=run.run_id)
        tag = found[run.run_id]
        assert attr(tag, "data-status") == run.status
        assert attr(tag, "data-candidates") == str(len(cands))
        assert attr(tag, "data-ready") == str(sum(c.status == "ready" for c in cands))
    # a run is running and a worker holds a claim: the list follows them
    assert '<meta http-equiv="refresh" content="5">' in html
    workers = rows(html, "workers")
    assert len(workers) == 1 and attr(workers[0], "data-worker") == WORKER and attr(workers[0], "data-live") == "1"


def test_finished_run_page_shows_progress_timings_and_cost(served: str, mined: Mined, store: Store) -> None:
    html = page(served, f"/runs/{MINED}")
    assert 'http-equiv="refresh"' not in html  # finished: nothing to follow
    assert 'id="run-status">finished<' in html
    ready = len(store.candidates(run_id=MINED, status="ready"))
    assert f'id="ready-count" data-ready="{ready}"' in html
    run = store.get_run(MINED)
    assert run is not None and f'id="iteration">{run.iteration + 1}<' in html
    for stage, n in funnel(store.candidates(run_id=MINED)).items():
        assert f'<tr data-stage="{stage}"><td>{stage}</td><td class="num">{n}</td></tr>' in html
    timings = {attr(t, "data-stage"): t for t in rows(html, "timings")}
    expected = stage_timings(store, MINED)
    assert list(timings) == [t.stage for t in expected]
    for t in expected:
        assert attr(timings[t.stage], "data-count") == str(t.count)
        assert attr(timings[t.stage], "data-seconds") == f"{t.seconds:.3f}"
    cost = cost_per_ready(store, MINED, mined.root / "runs" / MINED)
    assert f'id="cost" data-ready="{cost["ready"]}"' in html
    sims = html.split('data-key="simulations"', 1)[1].split("</tr>", 1)[0]
    assert f">{cost['totals']['simulations']}<" in sims
    assert f">{cost['per_ready']['simulations']:.1f}<" in sims
    assert 'id="live-view"' not in html


def test_running_run_page_is_a_live_view(served: str, mined: Mined) -> None:
    html = page(served, f"/runs/{LIVE}")
    assert '<meta http-equiv="refresh" content="5">' in html
    assert 'id="live-view"' in html and '<b class="running-stage">SIMULATE</b>' in html
    assert 'id="queue" data-queued="2" data-claimed="1"' in html
    workers = rows(html, "workers")
    assert [attr(w, "data-worker") for w in workers] == [WORKER]
    assert f'href="/candidates/{mined.live_claimed}"' in html.split('id="workers"', 1)[1]
    assert 'id="tasks"' in html and "simulate_batch" in html


# ---------------------------------------------------------------- candidates table
def _metric(store: Store, ids: list[int], period: str, name: str) -> dict[int, float | None]:
    out: dict[int, float | None] = dict.fromkeys(ids)
    for cid, res in store.results_for(ids).items():
        v = res.metrics.get(period, {}).get(name)
        out[cid] = None if v is None or not math.isfinite(v) else float(v)
    return out


def _ordered(values: dict[int, float | None], desc: bool) -> list[int]:
    """Ids by value (ties by id), missing values last in either order."""
    present = [i for i in sorted(values) if values[i] is not None]
    present.sort(key=lambda i: values[i] or 0.0, reverse=desc)
    return present + [i for i in sorted(values) if values[i] is None]


def test_candidates_table_sorts_by_is_sharpe_by_default(served: str, store: Store) -> None:
    html = page(served, f"/runs/{MINED}/candidates")
    cands = store.candidates(run_id=MINED)
    assert f'data-matched="{len(cands)}" data-total="{len(cands)}"' in html
    sims = [c.id for c in cands if c.status not in ("invalid", "duplicate", "generated", "queued")]
    values = _metric(store, sims, "is", "sharpe") | {c.id: None for c in cands if c.id not in sims}
    assert table_ids(html) == _ordered(values, desc=True)


@pytest.mark.parametrize(("sort", "order"), [("os_sharpe", "asc"), ("test_fitness", "desc"), ("is_turnover", "asc")])
def test_candidates_table_sorts_by_any_metric(served: str, store: Store, sort: str, order: str) -> None:
    html = page(served, f"/runs/{MINED}/candidates", sort=sort, order=order)
    ids = [c.id for c in store.candidates(run_id=MINED)]
    period, name = sort.split("_", 1)
    assert table_ids(html) == _ordered(_metric(store, ids, period, name), desc=order == "desc")


def test_candidates_table_filters(served: str, store: Store) -> None:
    cands = store.candidates(run_id=MINED)
    ready = sorted(c.id for c in cands if c.status == "ready")
    html = page(served, f"/runs/{MINED}/candidates", status="ready", sort="id")
    assert table_ids(html) == ready
    both = get(served, f"/runs/{MINED}/candidates?status=ready&status=rejected&sort=id").text
    assert table_ids(both) == sorted(c.id for c in cands if c.status in ("ready", "rejected"))
    assert table_ids(page(served, f"/runs/{MINED}/candidates", status="ready,rejected", sort="id")) == table_ids(both)
    templates = page(served, f"/runs/{MINED}/candidates", generator="template", sort="id")
    assert table_ids(templates) == sorted(c.id for c in cands if c.generator.startswith("template:"))
    one = cands[0].generator
    assert table_ids(page(served, f"/runs/{MINED}/candidates", generator=one, sort="id")) == sorted(
        c.id for c in cands if c.generator == one
    )
    family = next(c.root_id for c in cands if c.parent_id is not None)
    members = sorted(c.id for c in cands if (c.root_id or c.id) == family)
    fam_html = page(served, f"/runs/{MINED}/candidates", family=family, sort="id")
    assert len(members) > 1 and table_ids(fam_html) == members
    assert all(attr(t, "data-family") == str(family) for t in rows(fam_html, "candidates"))
    empty = page(served, f"/runs/{MINED}/candidates", status="invalid")
    assert table_ids(empty) == [] and 'data-matched="0"' in empty


def test_candidates_table_pages(served: str, store: Store) -> None:
    every = table_ids(page(served, f"/runs/{MINED}/candidates", sort="id"))
    first = page(served, f"/runs/{MINED}/candidates", sort="id", limit=10)
    second = page(served, f"/runs/{MINED}/candidates", sort="id", limit=10, offset=10)
    assert table_ids(first) == every[:10] and table_ids(second) == every[10:20]
    assert "next ›" in first and "‹ previous" in second


@pytest.mark.parametrize("query", ["sort=nope", "order=sideways", "status=nope", "family=abc", "limit=x"])
def test_candidates_table_rejects_nonsense(served: str, query: str) -> None:
    r = httpx.get(f"{served}/runs/{MINED}/candidates?{query}")
    assert r.status_code == 400 and 'id="error"' in r.text


# ---------------------------------------------------------------- candidate page
def test_candidate_page_shows_chart_periods_checks_and_lineage(served: str, store: Store) -> None:
    ready = store.candidates(run_id=MINED, status="ready")
    cand = next((c for c in ready if c.parent_id is not None), ready[0])
    res = store.results_for([cand.id])[cand.id]
    html = page(served, f"/candidates/{cand.id}")
    svg = re.search(r'<svg id="pnl-chart"[^>]*>', html)
    assert svg is not None and 'class="pnl-line"' in html
    _, pnl = res.pnl_series()
    assert attr(svg.group(0), "data-days") == str(pnl.size)
    assert attr(svg.group(0), "data-final") == f"{float(np.nancumsum(pnl)[-1]):.2f}"
    assert has_validation(res.test_range)
    assert attr(svg.group(0), "data-bands") == "search,validation,OS"
    bands = {attr(t, "data-band"): t for t in re.findall(r"<li data-band[^>]*>", html)}
    expected = {"search": res.train_range, "validation": res.test_range, "OS": res.os_range}
    for name, (lo, hi) in expected.items():
        lo = max(lo, res.first)
        assert attr(bands[name], "data-start") == str(res.dates[lo])[:10]
        assert attr(bands[name], "data-end") == str(res.dates[hi - 1])[:10]
    sharpe = html.split('data-metric="sharpe"', 1)[1].split("</tr>", 1)[0]
    for period in ("is", "train", "test", "os"):
        assert f'data-period="{period}">{res.metrics[period]["sharpe"]:.3f}<' in sharpe
    assert len(rows(html, "yearly")) == len(res.yearly) > 0
    assert [attr(t, "data-check") for t in rows(html, "sim-checks")] == [c["name"] for c in res.checks]
    gates = store.gate_history(cand.id)
    assert gates and f'data-verdict="{gates[-1].verdict}"' in html
    gate_checks = [attr(t, "data-check") for t in rows(html, f"gate-checks-{gates[-1].id}")]
    assert gate_checks == [c["name"] for c in gates[-1].checks] and set(TRIAL_CHECKS) <= set(gate_checks)
    chain = store.lineage(cand.id)
    for anc in chain[:-1]:
        assert f'<a href="/candidates/{anc.id}">#{anc.id}</a>' in html
    assert f'class="current path" data-node="{cand.id}"' in html
    for child in store.children(chain[0].id):
        assert f'data-node="{child.id}"' in html
    assert cand.thesis.type in html


def test_unsimulated_candidate_page_escapes_its_text(served: str, mined: Mined) -> None:
    html = page(served, f"/candidates/{mined.unsimulated}")
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt; idea" in html
    assert 'id="pnl-chart"' not in html and "Not simulated" in html


# ---------------------------------------------------------------- correlation, memory
def test_correlation_page_matches_the_store(served: str, store: Store) -> None:
    html = page(served, f"/runs/{MINED}/correlation")
    ready = sorted(c.id for c in store.candidates(run_id=MINED, status="ready"))
    assert f'data-ids="{",".join(map(str, ready))}"' in html
    assert re.search(rf'<svg id="corr-heatmap"[^>]*data-n="{len(ready)}"', html)
    results = store.results_for(ready)
    matrix = correlation_matrix([results[i].pnl_series() for i in ready])
    for a, i in enumerate(ready):
        for b, j in enumerate(ready):
            assert f'data-i="{i}" data-j="{j}" data-value="{matrix[a, b]:.4f}"' in html
    assert "No ready alpha" in page(served, f"/runs/{LIVE}/correlation")


def test_memory_page_matches_the_memory(served: str, mined: Mined) -> None:
    html = page(served, "/memory")
    with AlphaMemory.at_root(mined.root) as memory:
        summary = memory.summary()
    assert f'data-learnable="{summary.counts.get("learnable", 0)}"' in html
    assert f'data-run="{MINED}"' in html
    for row in summary.operators:
        assert f'<tr data-key="{row.value}"><td><code>{row.value}</code></td><td class="num">{row.n}</td>' in html
    assert 'id="mem-runs"' in page(served, "/memory", dataset="synthetic")


# ---------------------------------------------------------------- errors, read-only, no CDN
PAGES = ["/", f"/runs/{MINED}", f"/runs/{LIVE}", f"/runs/{MINED}/candidates", f"/runs/{MINED}/correlation",
         "/candidates/1", "/memory"]  # fmt: skip


def test_errors_and_methods(served: str) -> None:
    assert get(served, "/runs/nope").status_code == 404
    assert get(served, "/runs/nope/candidates").status_code == 404
    assert get(served, "/candidates/999999").status_code == 404
    assert get(served, "/candidates/abc").status_code == 400
    for path in ("/docs", "/redoc", "/openapi.json", "/static/nope.css", "/static/../app.py"):
        assert get(served, path).status_code == 404, path
    for path in PAGES:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            r = httpx.request(method, served + path)
            assert r.status_code == 405 and r.headers["allow"] == "GET", (method, path)
    css = get(served, "/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_pages_load_nothing_from_elsewhere(served: str) -> None:
    for path in PAGES:
        r = get(served, path)
        assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none': no script at all
        assert r.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r'(src|href)="(https?:)?//', r.text), path
        assert "<script" not in r.text.lower(), path


def test_the_dashboard_never_writes_the_store(served: str, mined: Mined) -> None:
    def dump() -> list[str]:
        with closing(sqlite3.connect(mined.db)) as con:
            return list(con.iterdump())

    before = dump()
    for path in PAGES:
        get(served, path)
    assert dump() == before

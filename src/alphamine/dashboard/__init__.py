"""alphamine.dashboard: `alphamine serve`, a read-only web view of the store.

Pages: the runs (status, progress, ready count, workers' claims), one run (progress, funnel, stage
timings, cost per ready alpha, live work while it runs), its candidates (filter by status, lineage
family, generator; sort by any metric), one candidate (PnL with search / validation / OS shaded, yearly
table, simulation and gate checks, lineage tree, thesis), the ready set's correlation heatmap and the
alpha memory. Server-rendered HTML with inline SVG charts and one packaged stylesheet: no script, no
CDN. Loopback only unless `--allow-remote`, which requires a token (`dashboard.security`).

Layout: `app` (routes, pages), `queries` (runs and the candidates table), `candidate` (candidate,
correlation and memory pages), `charts` (SVG), `security` (bind rules, token), `serving` (uvicorn).
"""

from alphamine.dashboard.app import create_app
from alphamine.dashboard.security import BindRefused, bind_token, is_loopback
from alphamine.dashboard.serving import serve, serve_in_thread

__all__ = ["BindRefused", "bind_token", "create_app", "is_loopback", "serve", "serve_in_thread"]

"""A local WorldQuant BRAIN-compatible REST server backed by an alphamine `Backend`.

Same paths, methods, status codes, headers and JSON shapes as the platform (brain.md §7, §7.5), so
BRAIN clients work against it unmodified; simulations run on the backend (`LocalBackend` in
practice), results live in the server's own SQLite file, and nothing is forwarded anywhere.

    from alphamine.backends import LocalBackend
    from alphamine.brain.server import create_app, serve_in_thread

    app = create_app(LocalBackend(panel, workers=1), db_path=tmp / "brain.sqlite3",
                     users={"me@example.com": "secret"})
    with serve_in_thread(app) as base_url:   # e.g. http://127.0.0.1:40123
        ...  # httpx / requests / a BRAIN client against base_url

Modules: `app` (create_app, middleware, the alphamine-only `/_alphamine/stats`), `auth`,
`simulations`, `validation`, `runner`, `alphas`, `alpha_json`, `submit`, `filters`, `data`, `quota`,
`faults`, `db`, `serving` (serve_in_thread, serve).
"""

from alphamine.brain.server.app import DEFAULT_DAILY_QUOTA, DEFAULT_MAX_CONCURRENT, STATS_PATH, create_app
from alphamine.brain.server.faults import FaultSpec, parse_faults
from alphamine.brain.server.serving import serve, serve_in_thread

__all__ = [
    "DEFAULT_DAILY_QUOTA",
    "DEFAULT_MAX_CONCURRENT",
    "STATS_PATH",
    "FaultSpec",
    "create_app",
    "parse_faults",
    "serve",
    "serve_in_thread",
]

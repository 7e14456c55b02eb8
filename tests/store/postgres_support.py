"""A real PostgreSQL server for the tests, on loopback, started and removed by the test session.

Why a server of our own and not mocks: what differs on PostgreSQL (aborted transactions, row and
advisory locks, SKIP LOCKED, transactional DDL, bytea, enforced string lengths) only shows on the real
thing. Why started by the tests rather than by CI: `make test` then works the same on a laptop and in
CI, which only has to install Debian's `postgresql` package (`make postgres`).

Where the server comes from, in order:
1. `ALPHAMINE_TEST_POSTGRES_URL` (an SQLAlchemy URL of any database on a running server whose user may
   `CREATE DATABASE`): used as it is; nothing is started or stopped.
2. Server binaries (`initdb`, `pg_ctl`) from `ALPHAMINE_TEST_POSTGRES_BIN`, `PATH`, or Debian's
   `/usr/lib/postgresql/<version>/bin` (newest first): a throw-away cluster in a fresh temporary folder
   (trust auth, no fsync, C locale, UTF-8), listening on 127.0.0.1 on a free port and on a socket in
   that folder only. PostgreSQL refuses to run as root, so as root the cluster belongs to, and runs as,
   the `postgres` user (Debian's package creates it) or else `nobody`, through `runuser`.

Anything missing or failing raises `PostgresUnavailable` with the reason and the remedy; the fixture
turns it into a skip, or a failure when `ALPHAMINE_TEST_POSTGRES_REQUIRED=1`.

Each test gets a database of its own (`PostgresServer.create_database`, from `template0`, C collation),
so tests start from an empty database exactly as a new SQLite file does, and can run migrations.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import URL, make_url

ENV_URL = "ALPHAMINE_TEST_POSTGRES_URL"
ENV_BIN = "ALPHAMINE_TEST_POSTGRES_BIN"
ENV_REQUIRED = "ALPHAMINE_TEST_POSTGRES_REQUIRED"
SUPERUSER = "alphamine"
REMEDY = f"install Debian's postgresql package (`make postgres`, as root) or set {ENV_URL}"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be had for the tests; the message says why and what to do."""


def required() -> bool:
    """True when a missing server must fail the tests instead of skipping them."""
    return os.environ.get(ENV_REQUIRED, "").strip().lower() in ("1", "true", "yes")


@dataclass
class PostgresServer:
    """A reachable server: `admin` is a URL whose user may create databases."""

    admin: URL
    data_root: Path | None = None  # our own cluster's folder (None: a server given by ENV_URL)
    stop_cmd: list[str] = field(default_factory=list)
    log: Path | None = None

    def _connect(self) -> Any:
        import psycopg

        a = self.admin
        return psycopg.connect(
            host=a.host, port=a.port, user=a.username, password=a.password, dbname=a.database, autocommit=True,
            connect_timeout=10,
        )  # fmt: skip

    def create_database(self, prefix: str = "alphamine_t") -> str:
        """A new, empty database; returns its URL as text (a bare `postgresql://`, as users write it)."""
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        with self._connect() as conn:
            conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
        return self.admin.set(drivername="postgresql", database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `create_database`, ending any connection a test left open."""
        name = make_url(url).database
        if not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"not a test database: {name!r}")
        with self._connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop our own cluster (immediately: it holds nothing worth a checkpoint) and delete it."""
        if self.data_root is None:
            return
        try:
            subprocess.run(self.stop_cmd, capture_output=True, timeout=60, cwd=self.data_root, check=False)
        finally:
            shutil.rmtree(self.data_root, ignore_errors=True)


def find_bin_dir() -> Path | None:
    """The folder holding `initdb` and `pg_ctl` (module doc, step 2), or None."""
    candidates: list[Path] = []
    if os.environ.get(ENV_BIN):
        candidates.append(Path(os.environ[ENV_BIN]))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.split(".")[0].isdigit()),
            key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)],
            reverse=True,
        )
        candidates += [v / "bin" for v in versions]
    for d in candidates:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(text: str, n: int = 6) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) or "(no output)"


def _as_user() -> tuple[list[str], pwd.struct_passwd | None]:
    """(command prefix, account) to run the server's programs unprivileged: root hands them to
    `postgres` or `nobody` via `runuser`; anyone else runs them as themselves."""
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root and `runuser` is missing: PostgreSQL refuses to run as root")
    for name in ("postgres", "nobody"):
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        return [runuser, "-u", name, "--"], account
    raise PostgresUnavailable("running as root with no `postgres` or `nobody` account to run PostgreSQL as")


def start() -> PostgresServer:
    """A server for the tests (module doc); raises `PostgresUnavailable` when none can be had."""
    try:
        import psycopg  # noqa: F401
    except ImportError as e:
        raise PostgresUnavailable(f"the psycopg driver is not installed ({e}); pip install -e '.[postgres]'") from e
    if os.environ.get(ENV_URL):
        server = PostgresServer(admin=make_url(os.environ[ENV_URL]))
        try:
            server._connect().close()
        except Exception as e:
            raise PostgresUnavailable(f"cannot connect to {ENV_URL} ({_tail(str(e), 2)})") from e
        return server
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(f"no PostgreSQL server programs (initdb, pg_ctl) found; {REMEDY}")
    prefix, account = _as_user()
    # /tmp, not pytest's tmp_path: the server's account must be able to reach the folder.
    root = Path(tempfile.mkdtemp(prefix="alphamine-pg-", dir="/tmp" if account is not None else None))
    try:
        if account is not None:
            os.chown(root, account.pw_uid, account.pw_gid)
        return _init_and_start(bin_dir, prefix, root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _init_and_start(bin_dir: Path, prefix: list[str], root: Path) -> PostgresServer:
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, cwd=root, check=False)

    init = run(
        str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
        "--no-locale", "--no-sync",
    )  # fmt: skip
    if init.returncode != 0:
        raise PostgresUnavailable(f"initdb failed: {_tail(init.stderr + init.stdout)}")
    pg_ctl = str(bin_dir / "pg_ctl")
    why = ""
    for _ in range(3):  # the free port may be taken between choosing it and binding it
        port = _free_port()
        options = (
            f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        t0 = time.monotonic()
        started = run(pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", str(START_TIMEOUT_S), "-o", options, "start")
        if started.returncode == 0:
            server = PostgresServer(
                admin=URL.create("postgresql+psycopg", username=SUPERUSER, host="127.0.0.1", port=port,
                                 database="postgres"),
                data_root=root,
                stop_cmd=[*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                log=log,
            )  # fmt: skip
            try:
                server._connect().close()
            except Exception as e:
                server.stop()
                raise PostgresUnavailable(f"the server started but refuses connections ({_tail(str(e), 2)})") from e
            return server
        server_log = log.read_text(errors="replace") if log.exists() else ""
        why = _tail(started.stderr + started.stdout + server_log)
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")  # a server still starting, if any
        if time.monotonic() - t0 >= START_TIMEOUT_S:
            break
    raise PostgresUnavailable(f"pg_ctl could not start the server: {why}")

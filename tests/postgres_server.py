"""A real PostgreSQL server for the tests and the benchmark: Debian's `postgresql` package,
a throw-away cluster in a temporary folder, reached only through a Unix socket in that folder
(no TCP port, so parallel test sessions and other helpers' servers never collide).

initdb refuses to run as root, and CI runs as root: as root the cluster belongs to the
`postgres` user of the package and its commands run through `runuser`. `.ci/run` installs the
package when it is missing; here a missing package is an error that says what to install.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

PG_ROOT = Path("/usr/lib/postgresql")
PORT = 5432  # the socket's name (.s.PGSQL.5432) in a private folder: no clash with anything
SERVER_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The Debian package is not installed (or has no server binaries)."""


def find_bindir() -> Path:
    """The newest installed major version's bin folder (/usr/lib/postgresql/<major>/bin)."""
    found = sorted((p.parent for p in PG_ROOT.glob("*/bin/initdb")), key=lambda p: int(p.parent.name))
    if not found:
        raise PostgresUnavailable("PostgreSQL is not installed: `apt-get install -y postgresql` "
                                  "(Debian's package; .ci/run does it in CI)")
    return found[-1]


@dataclass(frozen=True)
class PostgresServer:
    root: Path         # holds the cluster (data/), the socket and the server log
    bindir: Path
    superuser: str     # the bootstrap superuser of the cluster

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres", user: str | None = None) -> str:
        """A libpq URL over the Unix socket (no password: the test cluster trusts local users)."""
        return f"postgresql://{user or self.superuser}@/{dbname}?host={self.socket_dir}&port={PORT}"

    def create_database(self, name: str, owner: str | None = None) -> str:
        """A fresh database (dropped first if it exists); returns the superuser's URL of it."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
        return self.url(name)

    def create_role(self, name: str, *options: str) -> None:
        """A role if it does not exist yet (roles belong to the cluster, not to a database)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone() is None:
                conn.execute(f'CREATE ROLE "{name}" ' + " ".join(options))


def _as_server_user() -> list[str]:
    """Command prefix: as root, become the package's `postgres` user (initdb refuses root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(f"running as root but there is no {SERVER_USER!r} user to run "
                                  "the server as (it comes with Debian's postgresql package)") from None
    return ["runuser", "-u", SERVER_USER, "--"]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


@contextmanager
def running_server(*, durable: bool = False, prefix: str = "itp-pg-") -> Iterator[PostgresServer]:
    """Start a new cluster, yield it, stop it and delete it.

    durable=False (tests) turns fsync off: a test cluster never outlives a crash. The benchmark
    passes durable=True, so publication times include what a real server pays for.
    """
    bindir = find_bindir()
    prefix_cmd = _as_server_user()
    # Short path under /tmp: a Unix socket path is limited to 107 bytes, and pytest's own
    # temporary folders (0700, owned by root) are not reachable by the postgres user.
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        if prefix_cmd:
            info = pwd.getpwnam(SERVER_USER)
            os.chown(root, info.pw_uid, info.pw_gid)
        superuser = SERVER_USER if prefix_cmd else pwd.getpwuid(os.geteuid()).pw_name
        server = PostgresServer(root=root, bindir=bindir, superuser=superuser)
        _run([*prefix_cmd, str(bindir / "initdb"), "-D", str(server.data_dir), "-U", superuser,
              "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], "initdb")
        options = [f"-k {root}", "-c listen_addresses=''", f"-p {PORT}"]
        if not durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        stop = [*prefix_cmd, str(bindir / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "-t", "60", "stop"]
        try:
            _run([*prefix_cmd, str(bindir / "pg_ctl"), "-D", str(server.data_dir), "-l", str(server.log_file),
                  "-o", " ".join(options), "-w", "-t", "60", "start"], "pg_ctl start")
        except RuntimeError as exc:
            subprocess.run(stop, capture_output=True)  # a server that came up too slowly
            log = server.log_file.read_text(errors="replace")[-2000:] if server.log_file.exists() else ""
            raise RuntimeError(f"{exc}\nserver log:\n{log}") from None
        try:
            yield server
        finally:
            _run(stop, "pg_ctl stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)

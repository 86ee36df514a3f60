"""Connecting to PostgreSQL, and turning its failures into one-line rlm errors.

psycopg 3 takes the URL as libpq does, so ``PG*`` variables and ``.pgpass``
work. Every connection sets ``jit=off`` (JIT compilation made small BM25
queries take seconds) and, for a read-only store, makes every transaction
read-only on the server side. Connections are in autocommit mode: a single
statement is its own transaction, and :meth:`transaction` groups several.

All psycopg errors are mapped to :mod:`rlm.errors` in :func:`translate`, the
one place that knows what a wrong URL, a bad password or a missing extension
looks like.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rlm.errors import DatabaseError, NotInitializedError, ReadOnlyStoreError, RlmError

if TYPE_CHECKING:
    import psycopg

# psycopg logs what it ignores while unwinding a failed COPY ("error ignored terminating
# <psycopg.Copy [BAD]>"); with no handler configured, Python's last resort printed it to
# stderr above rlm's one-line error. The error that ended the COPY is the one raised, and
# translate() reports it. Once, at import: a handler added per call would pile up.
logging.getLogger("psycopg").addHandler(logging.NullHandler())

EXTRA_HINT = "pip install 'rlm[postgres]'"
CREATE_EXTENSION = "CREATE EXTENSION IF NOT EXISTS vector;"


def import_psycopg() -> Any:
    """psycopg, or a one-line error naming the extra to install."""
    try:
        import pgvector.psycopg  # noqa: F401
        import psycopg
    except ImportError as exc:
        raise DatabaseError(
            "a postgresql:// store needs the postgres extra (psycopg, pgvector)",
            error_type="MissingDependency",
            suggestion=f"Install it: {EXTRA_HINT}",
        ) from exc
    return psycopg


def redact(url: str) -> str:
    """The URL without its password, for messages and cache keys."""
    return re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)


def connect(url: str, *, read_only: bool) -> psycopg.Connection[Any]:
    """An autocommit connection with rlm's session settings."""
    module = import_psycopg()
    options = "-c jit=off -c statement_timeout=0"
    if read_only:
        options += " -c default_transaction_read_only=on"
    try:
        conn: psycopg.Connection[Any] = module.connect(
            url, autocommit=True, options=options, connect_timeout=15
        )
    except Exception as exc:
        raise translate(exc, url) from exc
    return conn


def register_vector(conn: psycopg.Connection[Any]) -> None:
    """Teach this connection pgvector's types (after ``CREATE EXTENSION vector``)."""
    from pgvector.psycopg import register_vector as register

    register(conn)


def translate(exc: BaseException, url: str = "") -> RlmError:
    """The rlm error for a psycopg failure: what went wrong and how to fix it."""
    if isinstance(exc, RlmError):
        return exc
    psycopg = import_psycopg()
    errors = psycopg.errors
    where = redact(url) if url else "the PostgreSQL server"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, errors.InvalidPassword) or "password authentication failed" in text:
        return DatabaseError(
            f"PostgreSQL refused the credentials for {where}: {text}",
            error_type="AuthenticationFailed",
            suggestion="Check the user and password in the URL, PGPASSWORD or ~/.pgpass",
        )
    if isinstance(exc, errors.InvalidCatalogName) or re.search(
        r'database "[^"]*" does not exist', text
    ):
        return NotInitializedError(
            where,
            detail=f"RLM not initialized: {text} ({where})",
            suggestion="Create the database (createdb NAME) and run 'rlm -d URL init'",
        )
    if isinstance(exc, errors.ReadOnlySqlTransaction):
        return ReadOnlyStoreError(
            f"{where} is open read-only; this command would change it",
            suggestion="Run it without --read-only",
        )
    if isinstance(exc, errors.InsufficientPrivilege):
        return DatabaseError(
            f"PostgreSQL permission denied on {where}: {text}",
            error_type="PermissionDenied",
            suggestion="Ask the database owner to GRANT this user rights on the rlm tables",
        )
    sqlstate = getattr(exc, "sqlstate", None) or ""
    lost = sqlstate.startswith("57P") or any(
        s in text
        for s in (
            "terminating connection",
            "server closed the connection",
            "consuming input failed",
            # The socket of an open connection closed (a restart mid-COPY says this).
            "connection socket closed",
        )
    )
    if isinstance(exc, psycopg.OperationalError) and lost:
        return DatabaseError(
            f"lost the connection to PostgreSQL at {where}: {text}",
            error_type="ConnectionLost",
            suggestion="The server restarted or dropped the connection; what this command was"
            " writing was rolled back. Run it again once the server is up",
        )
    if isinstance(exc, psycopg.OperationalError) and (
        not sqlstate or sqlstate.startswith(("08", "57P"))
    ):
        return DatabaseError(
            f"cannot reach PostgreSQL at {where}: {text}",
            error_type="ConnectionFailed",
            suggestion="Check the host, port and database name in the URL and that the"
            " server is running (libpq syntax: postgresql://user@host:5432/dbname)",
        )
    if isinstance(exc, psycopg.ProgrammingError | psycopg.DataError):
        return DatabaseError(f"invalid PostgreSQL connection or query: {text}")
    return DatabaseError(f"database error: {text}")


def missing_extension_error(where: str) -> DatabaseError:
    return DatabaseError(
        f"the pgvector extension is not installed in {redact(where)} and this user may"
        " not create it",
        error_type="MissingExtension",
        suggestion=f"Ask an administrator to run, in that database: {CREATE_EXTENSION}",
    )


@contextmanager
def errors_translated(url: str) -> Iterator[None]:
    """Run a block, re-raising any psycopg failure as its rlm error."""
    try:
        yield
    except RlmError:
        raise
    except Exception as exc:
        psycopg = import_psycopg()
        if isinstance(exc, psycopg.Error):
            raise translate(exc, url) from exc
        raise

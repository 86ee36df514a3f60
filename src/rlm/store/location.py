"""Where a store lives: a SQLite file path, or a PostgreSQL URL.

``-d``/``RLM_DB_PATH`` take either. A ``postgresql://`` or ``postgres://`` URL
(libpq syntax) selects the PostgreSQL backend; anything else is a file path.
"""

from __future__ import annotations

import os

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(value: str | os.PathLike[str] | None) -> bool:
    return value is not None and isinstance(value, str) and value.startswith(URL_SCHEMES)


def configured_url(explicit: str | os.PathLike[str] | None = None) -> str | None:
    """The PostgreSQL URL chosen by ``explicit`` (-d), else by ``RLM_DB_PATH``; None if a
    file path (or nothing) is chosen."""
    if explicit:
        return str(explicit) if is_postgres_url(explicit) else None
    env = os.environ.get("RLM_DB_PATH")
    return env if is_postgres_url(env) else None

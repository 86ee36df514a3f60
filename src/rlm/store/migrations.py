"""Numbered schema migrations, applied automatically when a store opens.

Rules (after sqlite-utils' ``Migrations``): functions are named
``mNNN_verb_noun``, only ever appended, and each runs in one transaction
together with the row that records it in ``_rlm_migrations``. A database made
by rlm-rs (schema v1, v2 or v3, no ``_rlm_migrations`` table) is upgraded in
place: ``m001`` brings it to rlm-rs v3 exactly, later migrations add what rlm
needs on top. The rlm-rs ``schema_info.version`` row is kept at 3 so the file
still reads as a v3 database.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from rlm.errors import MigrationError

Migration = Callable[[sqlite3.Connection], None]

RLM_RS_SCHEMA_VERSION = 3
SEGMENT_SIZE = 1 << 20
"""Buffer text is stored in segments of this many bytes (see m002)."""


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the current transaction.

    ``Connection.executescript`` would COMMIT first, breaking the promise that a
    migration and its ledger row land together.
    """
    pending_sql = ""
    for line in script.splitlines(keepends=True):
        pending_sql += line
        if sqlite3.complete_statement(pending_sql):
            conn.execute(pending_sql)
            pending_sql = ""
    if pending_sql.strip():
        conn.execute(pending_sql)


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", (name,)
    ).fetchone()
    return row is not None


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def _rlm_rs_version(conn: sqlite3.Connection) -> int:
    if not _table_exists(conn, "schema_info"):
        return 0
    row = conn.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError:
        return 0


def m001_create_rlm_rs_v3(conn: sqlite3.Connection) -> None:
    """The rlm-rs v3 schema, table for table, so rlm-rs databases open as they are."""
    old_version = _rlm_rs_version(conn)
    had_fts = _table_exists(conn, "chunks_fts")
    _run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS schema_info (
            key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS context (
            id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS buffers (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, source_path TEXT,
            content TEXT NOT NULL, content_type TEXT, content_hash TEXT,
            size INTEGER NOT NULL, line_count INTEGER, chunk_count INTEGER,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS idx_buffers_name ON buffers(name);
        CREATE INDEX IF NOT EXISTS idx_buffers_hash ON buffers(content_hash);
        CREATE TABLE IF NOT EXISTS chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            buffer_id INTEGER NOT NULL REFERENCES buffers(id) ON DELETE CASCADE,
            content TEXT NOT NULL, byte_start INTEGER NOT NULL, byte_end INTEGER NOT NULL,
            chunk_index INTEGER NOT NULL, strategy TEXT, token_count INTEGER,
            line_start INTEGER, line_end INTEGER, has_overlap INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT, custom_metadata TEXT, created_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS idx_chunks_buffer ON chunks(buffer_id);
        CREATE INDEX IF NOT EXISTS idx_chunks_order ON chunks(buffer_id, chunk_index);
        CREATE TABLE IF NOT EXISTS metadata (
            key TEXT PRIMARY KEY, value TEXT NOT NULL,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS chunk_embeddings (
            chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            embedding BLOB NOT NULL, dimensions INTEGER NOT NULL, model_name TEXT,
            created_at INTEGER NOT NULL);
        CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
            content, content='chunks', content_rowid='id', tokenize='porter unicode61');
        CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts(rowid, content) VALUES (new.id, new.content);
        END;
        CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
        END;
        CREATE TRIGGER IF NOT EXISTS chunks_au AFTER UPDATE ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO chunks_fts(rowid, content) VALUES (new.id, new.content);
        END;
        """,
    )
    if not had_fts:
        conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")
    if 0 < old_version < RLM_RS_SCHEMA_VERSION:
        # rlm-rs v2 -> v3: old 384-d vectors are incompatible with the new model.
        conn.execute("DELETE FROM chunk_embeddings")
    conn.execute(
        "INSERT OR REPLACE INTO schema_info(key, value) VALUES ('version', ?)",
        (str(RLM_RS_SCHEMA_VERSION),),
    )


def m002_add_rlm_columns(conn: sqlite3.Connection) -> None:
    """What rlm adds: segmented buffer text, provenance, vectors' fingerprints.

    Buffer text moves out of ``buffers.content`` into ``buffer_segments`` (1 MiB
    BLOB pieces): SQLite caps one value at 1e9 bytes and Python would need the
    whole text in memory to write it; segments keep a 1 GB load streaming.
    """
    buffer_cols = _columns(conn, "buffers")
    for name, decl in (
        ("collection", "TEXT"),
        ("encoding", "TEXT"),
        ("source_mtime", "REAL"),
        ("chunk_strategy", "TEXT"),
        ("chunk_size", "INTEGER"),
        ("chunk_overlap", "INTEGER"),
    ):
        if name not in buffer_cols:
            conn.execute(f"ALTER TABLE buffers ADD COLUMN {name} {decl}")
    if "symbol" not in _columns(conn, "chunks"):
        conn.execute("ALTER TABLE chunks ADD COLUMN symbol TEXT")
    emb_cols = _columns(conn, "chunk_embeddings")
    for name, decl in (("fingerprint", "TEXT"), ("windows", "INTEGER")):
        if name not in emb_cols:
            conn.execute(f"ALTER TABLE chunk_embeddings ADD COLUMN {name} {decl}")
    _run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS buffer_segments (
            buffer_id INTEGER NOT NULL REFERENCES buffers(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL, data BLOB NOT NULL,
            PRIMARY KEY (buffer_id, seq)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS idx_buffers_collection ON buffers(collection);
        CREATE INDEX IF NOT EXISTS idx_chunks_hash ON chunks(buffer_id, content_hash);
        CREATE TABLE IF NOT EXISTS chunk_tombstones (
            chunk_id INTEGER PRIMARY KEY, buffer_id INTEGER NOT NULL,
            replaced_by TEXT NOT NULL, created_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS dispatch_runs (
            id TEXT PRIMARY KEY, buffer_id INTEGER, params TEXT NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS dispatch_run_chunks (
            run_id TEXT NOT NULL REFERENCES dispatch_runs(id) ON DELETE CASCADE,
            batch_index INTEGER NOT NULL, chunk_id INTEGER NOT NULL,
            PRIMARY KEY (run_id, chunk_id));
        """,
    )
    rows = conn.execute("SELECT id, content FROM buffers WHERE content != ''").fetchall()
    for buffer_id, content in rows:
        data = str(content).encode("utf-8")
        for seq, offset in enumerate(range(0, len(data), SEGMENT_SIZE)):
            conn.execute(
                "INSERT OR REPLACE INTO buffer_segments(buffer_id, seq, data) VALUES (?, ?, ?)",
                (buffer_id, seq, data[offset : offset + SEGMENT_SIZE]),
            )
        conn.execute(
            "UPDATE buffers SET content = '', size = ?, line_count = ? WHERE id = ?",
            (
                len(data),
                data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1),
                buffer_id,
            ),
        )


def m003_add_lexical_aux_index(conn: sqlite3.Connection) -> None:
    """A second lexical index for text the porter index cannot find.

    ``chunks_aux_fts`` holds, per chunk, a rewritten text (CJK split into
    characters, identifiers split at camelCase / snake_case) made in Python at
    insert time, so it is a plain FTS5 table keyed by chunk id and kept in
    sync on delete by a trigger.
    """
    _run_script(
        conn,
        """
        CREATE VIRTUAL TABLE IF NOT EXISTS chunks_aux_fts USING fts5(
            content, tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER IF NOT EXISTS chunks_aux_ad AFTER DELETE ON chunks BEGIN
            DELETE FROM chunks_aux_fts WHERE rowid = old.id;
        END;
        """,
    )


def m004_narrow_fts_update_trigger(conn: sqlite3.Connection) -> None:
    """Re-index a chunk in FTS only when its text changes.

    rlm-rs's ``chunks_au`` fired on every UPDATE, so recording token counts or
    moving a kept chunk to a new position re-tokenised its whole text.
    """
    _run_script(
        conn,
        """
        DROP TRIGGER IF EXISTS chunks_au;
        CREATE TRIGGER chunks_au AFTER UPDATE OF content ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO chunks_fts(rowid, content) VALUES (new.id, new.content);
        END;
        """,
    )


def m005_drop_redundant_chunk_index(conn: sqlite3.Connection) -> None:
    """Drop ``idx_chunks_buffer``: two other indexes already start with ``buffer_id``.

    ``idx_chunks_order(buffer_id, chunk_index)`` answers every lookup by
    buffer, so the single-column index only cost one more B-tree insert per
    chunk (about a tenth of a load's SQL time). rlm-rs re-creates it with
    ``IF NOT EXISTS`` if it opens the file again, which is harmless.
    """
    _run_script(conn, "DROP INDEX IF EXISTS idx_chunks_buffer;")


def m006_add_passage_embeddings(conn: sqlite3.Connection) -> None:
    """Passage vectors: each chunk cut into sentence-aligned passages, one vector each.

    A passage keeps its exact byte and line span in the buffer (search results
    point at the lines that matched), its token count, and the model name and
    fingerprint of its vector, like ``chunk_embeddings``. Vectors are int8
    (``dtype`` 'i1', scaled to the largest component): a quarter of float32's bytes,
    decoded in one SIMD pass, and passage rankings within 1% of float vectors.
    Rows go with their chunk (``ON DELETE CASCADE``).
    """
    _run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS passage_embeddings (
            id INTEGER PRIMARY KEY,
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            byte_start INTEGER NOT NULL, byte_end INTEGER NOT NULL,
            line_start INTEGER, line_end INTEGER,
            tokens INTEGER NOT NULL,
            embedding BLOB NOT NULL, dtype TEXT NOT NULL DEFAULT 'i1',
            dimensions INTEGER NOT NULL, model_name TEXT, fingerprint TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (chunk_id, ordinal));
        CREATE INDEX IF NOT EXISTS idx_passages_model
            ON passage_embeddings(fingerprint, dimensions, chunk_id);
        """,
    )


def m007_add_signature_indexes(conn: sqlite3.Connection) -> None:
    """Covering indexes for the vector signatures (count, max id, newest ``created_at``
    of one model's vectors), which every new search process computes.

    Without them both signatures read every vector row (``created_at`` sits next to
    the BLOB): about 44 ms per 100k passages, growing with the store. With
    ``(fingerprint, dimensions, created_at)`` (the rowid rides along in every index
    entry) they read a compact index instead of the table. ``chunk_embeddings`` is an
    rlm-rs table; an extra index is invisible to rlm-rs and kept up to date by SQLite
    if rlm-rs writes to the file.
    """
    _run_script(
        conn,
        """
        CREATE INDEX IF NOT EXISTS idx_passages_signature
            ON passage_embeddings(fingerprint, dimensions, created_at);
        CREATE INDEX IF NOT EXISTS idx_embeddings_signature
            ON chunk_embeddings(fingerprint, dimensions, created_at);
        """,
    )


def _count_triggers(table: str, key: str) -> str:
    """AFTER INSERT / DELETE / UPDATE triggers keeping ``row_counts`` in step with
    ``table`` (rows counted under ``key``, an SQL expression of ``NEW``/``OLD``)."""
    add = (
        "INSERT INTO row_counts(tbl, fingerprint, dimensions, n) VALUES ({k}, 1)"
        " ON CONFLICT DO UPDATE SET n = n + 1;"
    )
    sub = "UPDATE row_counts SET n = n - 1 WHERE (tbl, fingerprint, dimensions) = ({k});"
    new, old = key.format(row="NEW"), key.format(row="OLD")
    update = (
        f"CREATE TRIGGER IF NOT EXISTS {table}_count_au AFTER UPDATE OF fingerprint, dimensions"
        f" ON {table} BEGIN {sub.format(k=old)} {add.format(k=new)} END;"
        if "fingerprint" in key
        else ""
    )
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_count_ai AFTER INSERT ON {table}"
        f" BEGIN {add.format(k=new)} END;\n"
        f"CREATE TRIGGER IF NOT EXISTS {table}_count_ad AFTER DELETE ON {table}"
        f" BEGIN {sub.format(k=old)} END;\n{update}\n"
    )


_MODEL_KEY = "'{t}', COALESCE({{row}}.fingerprint, ''), COALESCE({{row}}.dimensions, 0)"


def m008_add_row_counts(conn: sqlite3.Connection) -> None:
    """Row counts kept by triggers, so a new search process counts nothing.

    Every new ``rlm search`` process needed the number of each model's chunk
    vectors and passages (the vector signatures that say whether the mapped
    sidecars are in step with the store) and whether any chunk still lacks a vector
    or passages (the "not embedded yet" warnings and coverage). SQLite has no O(1)
    ``COUNT(*)``: at 100k chunks / 1M passages those counts took about 0.6 s per
    process, growing with the store. ``row_counts`` holds them per (table,
    fingerprint, dimensions), changed by AFTER triggers in the writing transaction,
    so they are exact whenever a reader sees the rows. ``passage_chunks`` counts
    ordinal-0 passages: the chunks that have passages of a model (passages of a
    chunk are written together, ordinals from 0, UNIQUE per chunk).

    A trigger's UPDATE costs about 16 us per row written (SQLite, measured: it
    doubles the bare insert of a passage row), small next to embedding the row
    (milliseconds) but not next to writing a chunk and its FTS rows, so chunks are
    not counted here: ``COUNT(*) FROM chunks`` reads the smallest index, about 1 ms
    per 100k chunks. ``INSERT OR REPLACE`` fires no DELETE trigger for the row it
    replaces (unless recursive triggers are on), so rlm writes vectors with an
    UPSERT instead.
    """
    passage_first = (
        "CREATE TRIGGER IF NOT EXISTS passage_chunks_count_ai AFTER INSERT ON passage_embeddings"
        " WHEN NEW.ordinal = 0 BEGIN INSERT INTO row_counts(tbl, fingerprint, dimensions, n)"
        " VALUES ('passage_chunks', NEW.fingerprint, NEW.dimensions, 1)"
        " ON CONFLICT DO UPDATE SET n = n + 1; END;\n"
        "CREATE TRIGGER IF NOT EXISTS passage_chunks_count_ad AFTER DELETE ON passage_embeddings"
        " WHEN OLD.ordinal = 0 BEGIN UPDATE row_counts SET n = n - 1 WHERE (tbl, fingerprint,"
        " dimensions) = ('passage_chunks', OLD.fingerprint, OLD.dimensions); END;\n"
    )
    _run_script(
        conn,
        "CREATE TABLE IF NOT EXISTS row_counts (tbl TEXT NOT NULL, fingerprint TEXT NOT NULL,"
        " dimensions INTEGER NOT NULL, n INTEGER NOT NULL,"
        " PRIMARY KEY (tbl, fingerprint, dimensions)) WITHOUT ROWID;\n"
        + _count_triggers("chunk_embeddings", _MODEL_KEY.format(t="chunk_embeddings"))
        + _count_triggers("passage_embeddings", _MODEL_KEY.format(t="passage_embeddings"))
        + passage_first,
    )
    conn.execute("DELETE FROM row_counts")
    for table in ("chunk_embeddings", "passage_embeddings"):
        conn.execute(
            f"INSERT INTO row_counts SELECT '{table}', COALESCE(fingerprint, ''),"
            f" COALESCE(dimensions, 0), COUNT(*) FROM {table} GROUP BY 2, 3"
        )
    conn.execute(
        "INSERT INTO row_counts SELECT 'passage_chunks', fingerprint, dimensions, COUNT(*)"
        " FROM passage_embeddings WHERE ordinal = 0 GROUP BY 2, 3"
    )


def m009_add_passage_rules(conn: sqlite3.Connection) -> None:
    """The version of the passage rules each chunk's passages were planned under
    (:data:`rlm.embedding.passages.PASSAGE_RULES`), on every passage row of the chunk.

    The rules changed after stores were made; such a store kept its old passages and
    nothing said so. Rows from before this migration get 0: unknown, so older than
    every version (``rlm chunk embed`` re-plans them). Adding a column with a constant
    default rewrites nothing. The partial index holds one entry per chunk (ordinal 0),
    rules first: counting the chunks to re-plan reads only their entries, none at all
    once every chunk is current (status and every new search process ask).
    """
    _run_script(
        conn,
        """
        ALTER TABLE passage_embeddings ADD COLUMN rules INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX IF NOT EXISTS idx_passages_rules
            ON passage_embeddings(rules, fingerprint, dimensions) WHERE ordinal = 0;
        """,
    )


MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("m001_create_rlm_rs_v3", m001_create_rlm_rs_v3),
    ("m002_add_rlm_columns", m002_add_rlm_columns),
    ("m003_add_lexical_aux_index", m003_add_lexical_aux_index),
    ("m004_narrow_fts_update_trigger", m004_narrow_fts_update_trigger),
    ("m005_drop_redundant_chunk_index", m005_drop_redundant_chunk_index),
    ("m006_add_passage_embeddings", m006_add_passage_embeddings),
    ("m007_add_signature_indexes", m007_add_signature_indexes),
    ("m008_add_row_counts", m008_add_row_counts),
    ("m009_add_passage_rules", m009_add_passage_rules),
)


def _ensure_ledger(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _rlm_migrations ("
        " name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"
    )


def applied(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations already recorded."""
    if not _table_exists(conn, "_rlm_migrations"):
        return []
    return [str(r[0]) for r in conn.execute("SELECT name FROM _rlm_migrations ORDER BY name")]


def pending(conn: sqlite3.Connection) -> list[str]:
    done = set(applied(conn))
    return [name for name, _ in MIGRATIONS if name not in done]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every pending migration in one transaction (each behind a savepoint).

    All or nothing: a failure leaves the file exactly as it was. Returns the
    names that ran.
    """
    if not pending(conn):
        return []
    ran: list[str] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        _ensure_ledger(conn)
        done = set(applied(conn))  # re-read under the write lock: another process may have won
        for name, func in MIGRATIONS:
            if name in done:
                continue
            conn.execute("SAVEPOINT migration")
            func(conn)
            conn.execute(
                "INSERT INTO _rlm_migrations(name, applied_at) VALUES (?, ?)",
                (name, int(time.time())),
            )
            conn.execute("RELEASE migration")
            ran.append(name)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise MigrationError(f"migration error: {exc}") from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ran


def is_initialized(conn: sqlite3.Connection) -> bool:
    """rlm-rs's test: the ``schema_info`` table exists."""
    return _table_exists(conn, "schema_info")

"""Tokenising exactly as SQLite's FTS5 does, for BM25 on PostgreSQL.

The PostgreSQL backend must rank like the SQLite one, so it must see the same
tokens: rather than re-implement ``porter unicode61`` (and ``unicode61
remove_diacritics 2`` of the aux index), text goes through an in-memory
stdlib-sqlite3 FTS5 table with those very tokenizers, and the terms, their
positions and each text's token count are read back from ``fts5vocab``
('instance'). Query strings go through the same table, so a query term is
stemmed and split exactly as its indexed form was.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass

TOKENIZERS = {0: "porter unicode61", 1: "unicode61 remove_diacritics 2"}
"""Index number -> FTS5 tokenizer: 0 the porter index (``chunks_fts``), 1 the aux index."""
INDEX_NUMBERS = {"porter": 0, "aux": 1}


@dataclass(frozen=True)
class Tokens:
    """One text's terms with their token positions, and its length in tokens."""

    positions: dict[str, list[int]]
    length: int


class _Tokenizer:
    """One in-memory FTS5 table (contentless) per tokenizer."""

    def __init__(self, spec: str) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self.conn.execute(
            f"CREATE VIRTUAL TABLE t USING fts5(content, content='', tokenize='{spec}')"
        )
        self.conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        self.lock = threading.Lock()

    def tokens(self, texts: list[str]) -> list[Tokens]:
        if not texts:
            return []
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                self.conn.executemany(
                    "INSERT INTO t(rowid, content) VALUES (?, ?)",
                    [(i + 1, text) for i, text in enumerate(texts)],
                )
                found: list[dict[str, list[int]]] = [{} for _ in texts]
                for term, doc, offset in self.conn.execute(
                    "SELECT term, doc, offset FROM v ORDER BY doc, offset"
                ):
                    found[int(doc) - 1].setdefault(str(term), []).append(int(offset))
                self.conn.execute("INSERT INTO t(t) VALUES ('delete-all')")
            finally:
                self.conn.execute("COMMIT")
        return [Tokens(p, sum(len(v) for v in p.values())) for p in found]


_local: dict[int, _Tokenizer] = {}
_guard = threading.Lock()


def _tokenizer(index: int) -> _Tokenizer:
    with _guard:
        tok = _local.get(index)
        if tok is None:
            tok = _local[index] = _Tokenizer(TOKENIZERS[index])
        return tok


def tokenize(index: int, texts: list[str]) -> list[Tokens]:
    """Terms, positions and lengths of ``texts`` under index ``index``'s tokenizer."""
    return _tokenizer(index).tokens(texts)


def phrase_tokens(index: int, fts_string: str) -> list[str]:
    """The tokens of one FTS5 string literal (``"a b"``), in order: the phrase FTS5 matches.

    ``fts_string`` is what :func:`rlm.search.query.fts_string` makes: the text in
    double quotes with inner quotes doubled.
    """
    text = fts_string
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    (tokens,) = tokenize(index, [text])
    ordered = sorted((p, term) for term, ps in tokens.positions.items() for p in ps)
    return [term for _, term in ordered]

"""Folder loading into collections and incremental re-indexing (``rlm.ingest.collection``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlm.embedding.base import Embedder
from rlm.embedding.hashing import HashEmbedder
from rlm.errors import (
    AmbiguousBufferError,
    EmbeddingError,
    EmptyInputError,
    FileNotFoundInputError,
)
from rlm.ingest.collection import collect_files, effective_options, sync_paths
from rlm.ingest.loader import LoadOptions
from rlm.store import Store

PARAGRAPH = "Plain prose about the subject of this file, repeated to make chunks. "


def write(path: Path, text: str | bytes, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def python_module(n: int) -> str:
    return "".join(
        f"def function_{n}_{i}(x):\n    '''Doc {i}.'''\n    return x * {i} + {n}\n\n\n"
        for i in range(150)
    )


class CountingFactory:
    """An embedder factory that counts calls (the model must load lazily, once)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Embedder:
        self.calls += 1
        return HashEmbedder()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.init(tmp_path / "state.db")
    yield s
    s.close()


@pytest.fixture
def project(isolated_env: Path) -> Path:
    root = isolated_env / "proj"
    write(root / "README.md", "# Project\n\n" + PARAGRAPH * 80)
    write(root / "src" / "app.py", python_module(1))
    write(root / "src" / "util.py", python_module(2))
    write(root / "docs" / "guide.txt", PARAGRAPH * 30)
    return root


def chunk_ids(store: Store, collection: str) -> dict[str, list[int]]:
    return {
        b.label: [c.id for c in store.list_chunk_refs(b.id)] for b in store.list_buffers(collection)
    }


def vector_counts(store: Store, collection: str) -> dict[str, int]:
    return {b.label: store.embedding_status_for(b.id) for b in store.list_buffers(collection)}


def test_first_load_names_collection_and_embeds(store: Store, project: Path) -> None:
    factory = CountingFactory()
    report = sync_paths(store, ["proj"], embedder_factory=factory)
    names = ["README.md", "docs/guide.txt", "src/app.py", "src/util.py"]
    assert report.collection == "proj"
    assert report.added == names
    assert (report.changed, report.removed, report.unchanged) == ([], [], 0)
    assert report.file_count == 4
    buffers = store.list_buffers("proj")
    assert sorted(b.label for b in buffers) == names
    assert report.chunk_count == sum(b.chunk_count or 0 for b in buffers) > 4
    assert report.embedded_count == report.chunk_count
    assert factory.calls == 1
    assert report.bytes_read == sum(b.size for b in buffers)
    app = store.find_buffer_by_name("src/app.py")
    assert app is not None and app.source == "proj/src/app.py"
    assert app.source_mtime == (project / "src" / "app.py").stat().st_mtime


def test_rerun_without_changes_reads_and_embeds_nothing(store: Store, project: Path) -> None:
    sync_paths(store, ["proj"], embedder_factory=HashEmbedder)
    before = chunk_ids(store, "proj")
    factory = CountingFactory()
    report = sync_paths(store, ["proj"], embedder_factory=factory)
    assert report.unchanged == 4
    assert (report.added, report.changed, report.removed) == ([], [], [])
    assert (report.chunk_count, report.embedded_count, report.bytes_read) == (0, 0, 0)
    assert factory.calls == 0
    assert chunk_ids(store, "proj") == before


def test_touch_without_edit_only_refreshes_mtime(store: Store, project: Path) -> None:
    sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    before = chunk_ids(store, "proj")
    target = project / "docs" / "guide.txt"
    os.utime(target, (2_000_000_000, 2_000_000_000))
    report = sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    assert report.unchanged == 4 and report.changed == []
    assert report.bytes_read == target.stat().st_size
    buffer = store.find_buffer_by_name("docs/guide.txt")
    assert buffer is not None and buffer.source_mtime == 2_000_000_000
    assert chunk_ids(store, "proj") == before
    # Now the stored mtime matches: the next run does not even read it.
    assert sync_paths(store, ["proj"], options=LoadOptions(embed=False)).bytes_read == 0


def test_edit_one_file_rechunks_and_embeds_only_its_changed_chunks(
    store: Store, project: Path
) -> None:
    sync_paths(store, ["proj"], embedder_factory=HashEmbedder)
    before = chunk_ids(store, "proj")
    target = project / "src" / "util.py"
    text = target.read_text()
    write(target, text.replace("return x * 39 + 2", "return x * 39 + 2 + extra"))
    report = sync_paths(store, ["proj"], embedder_factory=HashEmbedder)
    assert report.changed == ["src/util.py"]
    assert report.unchanged == 3 and report.added == [] and report.removed == []
    after = chunk_ids(store, "proj")
    for name in ("README.md", "docs/guide.txt", "src/app.py"):
        assert after[name] == before[name]
    old_ids, new_ids = set(before["src/util.py"]), set(after["src/util.py"])
    assert 0 < report.chunk_count < len(new_ids)
    assert report.reused_chunks == len(old_ids & new_ids) > 0
    assert report.chunk_count == len(new_ids - old_ids)
    assert report.embedded_count == report.chunk_count
    counts = vector_counts(store, "proj")
    assert counts["src/util.py"] == len(new_ids)


def test_deleted_file_keeps_its_buffer_unless_sync(store: Store, project: Path) -> None:
    sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    (project / "docs" / "guide.txt").unlink()
    kept = sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    assert kept.removed == [] and not kept.sync
    assert store.find_buffer_by_name("docs/guide.txt") is not None
    report = sync_paths(store, ["proj"], options=LoadOptions(embed=False), sync=True)
    assert report.removed == ["docs/guide.txt"] and report.sync
    assert store.find_buffer_by_name("docs/guide.txt") is None
    assert report.unchanged == 3


def test_unloadable_files_are_skipped_with_reasons(store: Store, isolated_env: Path) -> None:
    root = isolated_env / "mixed"
    write(root / "ok.txt", "fine\n")
    write(root / "image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(root / "big.txt", "x" * 5000)
    write(root / "empty.txt", "")
    write(root / "latin1.txt", "caf\xe9\n".encode("latin-1"))
    report = sync_paths(store, ["mixed"], options=LoadOptions(embed=False), max_file_size=4096)
    assert report.added == ["ok.txt"]
    reasons = dict(report.skipped)
    assert set(reasons) == {"image.png", "big.txt", "empty.txt", "latin1.txt"}
    assert reasons["image.png"].startswith("binary file")
    assert reasons["big.txt"] == "too large: 5000 bytes (max: 4096 bytes)"
    assert reasons["empty.txt"] == "empty file"
    assert reasons["latin1.txt"].startswith("invalid UTF-8 at byte offset 3")
    lossy = sync_paths(
        store, ["mixed"], options=LoadOptions(embed=False), max_file_size=4096, lossy=True
    )
    assert lossy.added == ["latin1.txt"]
    buffer = store.find_buffer_by_name("latin1.txt")
    assert buffer is not None and store.read_buffer(buffer.id) == "caf\ufffd\n"


def test_file_that_becomes_binary_is_removed_by_sync(store: Store, project: Path) -> None:
    sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    write(project / "docs" / "guide.txt", b"\x00binary now")
    kept = sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    assert kept.removed == [] and store.find_buffer_by_name("docs/guide.txt") is not None
    report = sync_paths(store, ["proj"], options=LoadOptions(embed=False), sync=True)
    assert report.removed == ["docs/guide.txt"]
    assert [n for n, _ in report.skipped] == ["docs/guide.txt"]


def test_multi_language_tree_gets_code_chunks_with_symbols(
    store: Store, isolated_env: Path
) -> None:
    root = isolated_env / "poly"
    write(root / "lib.rs", "pub fn alpha() -> i32 {\n    1\n}\n\nfn beta() {}\n")
    write(root / "main.go", "package main\n\nfunc Gamma() int {\n\treturn 1\n}\n")
    write(root / "web" / "app.js", "function delta(a) {\n  return a;\n}\n")
    write(root / "tool.py", "class Epsilon:\n    def zeta(self):\n        return 1\n")
    write(root / "notes.md", "# Notes\n\n" + PARAGRAPH * 3)
    report = sync_paths(store, ["poly"], options=LoadOptions(embed=False))
    assert report.strategies == {"code": 4, "semantic": 1}
    symbols: dict[str, set[str]] = {}
    for buffer in store.list_buffers("poly"):
        expected = "semantic" if buffer.label == "notes.md" else "code"
        assert buffer.chunk_strategy == expected
        chunks = store.list_chunks(buffer.id)
        symbols[buffer.label] = {s for c in chunks if c.symbol for s in c.symbol.split(",")}
    assert "alpha" in symbols["lib.rs"]
    assert "Gamma" in symbols["main.go"]
    assert "delta" in symbols["web/app.js"]
    assert "Epsilon" in symbols["tool.py"]
    assert symbols["notes.md"] == set()


def test_explicit_chunker_applies_to_every_file() -> None:
    assert effective_options(LoadOptions(), "a/b.py").chunker == "code"
    assert effective_options(LoadOptions(), "a/b.md").chunker == "semantic"
    assert effective_options(LoadOptions(), "Makefile").chunker == "semantic"
    assert effective_options(LoadOptions(chunker="fixed"), "b.py").chunker == "fixed"
    assert effective_options(LoadOptions(language="rust"), "b.py").chunker == "semantic"


def test_changed_chunk_settings_rechunk(store: Store, project: Path) -> None:
    sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    report = sync_paths(store, ["proj"], options=LoadOptions(embed=False, chunk_size=1000))
    assert report.changed == ["README.md", "docs/guide.txt", "src/app.py", "src/util.py"]
    assert all(b.chunk_size == 1000 for b in store.list_buffers("proj"))


def test_glob_names_are_relative_to_cwd(store: Store, project: Path) -> None:
    report = sync_paths(store, ["proj/**/*.py"], options=LoadOptions(embed=False))
    assert report.collection == "proj"
    assert report.added == ["proj/src/app.py", "proj/src/util.py"]
    only_src = sync_paths(store, ["proj/src/*.py"], options=LoadOptions(embed=False))
    assert only_src.collection == "src"


def test_several_folders_share_a_collection_without_name_clashes(
    store: Store, isolated_env: Path
) -> None:
    write(isolated_env / "pkg" / "__init__.py", "A = 1\n")
    write(isolated_env / "tests" / "__init__.py", "B = 2\n")
    report = sync_paths(store, ["pkg", "tests"], options=LoadOptions(embed=False))
    assert report.collection == isolated_env.name
    assert report.added == ["pkg/__init__.py", "tests/__init__.py"]


def test_explicit_collection_and_same_names_side_by_side(store: Store, isolated_env: Path) -> None:
    """Names are unique per collection (issue #14): two folders with the same layout
    load side by side, and a bare name that both use is ambiguous, never a guess."""
    write(isolated_env / "one" / "a.txt", "one\n")
    write(isolated_env / "two" / "a.txt", "two\n")
    first = sync_paths(store, ["one"], options=LoadOptions(embed=False), collection="c1")
    assert first.collection == "c1" and first.added == ["a.txt"]
    second = sync_paths(store, ["two"], options=LoadOptions(embed=False))
    assert second.collection == "two" and second.added == ["a.txt"]
    ones, twos = store.list_buffers("c1"), store.list_buffers("two")
    assert [store.read_buffer(b.id) for b in ones + twos] == ["one\n", "two\n"]
    with pytest.raises(AmbiguousBufferError, match="several collections"):
        store.resolve_buffer("a.txt")
    assert store.resolve_buffer(str(twos[0].id)).collection == "two"


def test_missing_path_and_empty_result(store: Store, project: Path) -> None:
    with pytest.raises(FileNotFoundInputError):
        sync_paths(store, ["nope"], options=LoadOptions(embed=False))
    sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    with pytest.raises(EmptyInputError):
        sync_paths(
            store,
            ["proj/*.nothing"],
            options=LoadOptions(embed=False),
            collection="proj",
            sync=True,
        )
    empty = sync_paths(
        store, ["proj/*.nothing"], options=LoadOptions(embed=False), collection="proj"
    )
    assert empty.file_count == 0 and empty.warnings == ["no files to load in proj/*.nothing"]
    assert len(store.list_buffers("proj")) == 4


def test_embedding_failure_is_a_warning_and_the_next_run_resumes(
    store: Store, project: Path
) -> None:
    def broken() -> Embedder:
        raise EmbeddingError("model exploded")

    report = sync_paths(store, ["proj"], embedder_factory=broken)
    assert len(report.added) == 4 and report.embedded_count == 0
    assert len(report.warnings) == 1 and "model exploded" in report.warnings[0]
    assert set(vector_counts(store, "proj").values()) == {0}
    resumed = sync_paths(store, ["proj"], embedder_factory=HashEmbedder)
    assert resumed.unchanged == 4
    assert resumed.embedded_count == report.chunk_count
    assert all(vector_counts(store, "proj")[b.label] == b.chunk_count for b in store.list_buffers())


def test_interrupted_sync_leaves_no_partial_buffer(
    store: Store, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlm.ingest.loader import store_text as real

    calls: list[str] = []

    def flaky(*args: object, **kwargs: object) -> tuple[int, int, bool]:
        calls.append(str(args[2]))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("rlm.ingest.collection.store_text", flaky)
    with pytest.raises(KeyboardInterrupt):
        sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    stored = store.list_buffers("proj")
    assert sorted(b.label for b in stored) == ["README.md", "docs/guide.txt"]
    assert all((b.chunk_count or 0) > 0 for b in stored)
    monkeypatch.setattr("rlm.ingest.collection.store_text", real)
    report = sync_paths(store, ["proj"], options=LoadOptions(embed=False))
    assert report.added == ["src/app.py", "src/util.py"] and report.unchanged == 2


def test_progress_counts_bytes(store: Store, project: Path) -> None:
    seen: list[tuple[int, int]] = []
    sync_paths(
        store, ["proj"], options=LoadOptions(embed=False), progress=lambda d, t: seen.append((d, t))
    )
    total = sum(p.stat().st_size for p in project.rglob("*") if p.is_file())
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_embed_progress_reaches_total(store: Store, project: Path) -> None:
    seen: list[tuple[int, int]] = []
    report = sync_paths(
        store,
        ["proj"],
        embedder_factory=HashEmbedder,
        embed_progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (report.embedded_count, report.embedded_count)


def test_collect_files_skips_symlink_loops(isolated_env: Path) -> None:
    write(isolated_env / "r" / "a.txt", "a\n")
    os.symlink("../r", isolated_env / "r" / "up")
    found = collect_files(["r"])
    assert [f.name for f in found.files] == ["a.txt"]
    assert [n for n, _ in found.skipped] == ["up"]


def test_explicit_cwd(
    store: Store, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = collect_files(["proj/src/*.py", "proj/README.md"], cwd=project.parent)
    assert [f.name for f in found.files] == [
        "proj/README.md",
        "proj/src/app.py",
        "proj/src/util.py",
    ]
    assert found.collection == "proj"
    assert all(f.path.is_file() for f in found.files)
    folder = collect_files(["proj"], cwd=project.parent)
    assert folder.collection == "proj" and len(folder.files) == 4

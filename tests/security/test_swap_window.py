"""Review 1b (TOCTOU): a file swapped between the folder walk and its open is not read.

The walk decides what may be loaded (no symlink out of the root); the reader
opens later. A hostile folder can swap a checked file for a link to a secret
in between, or swap a parent folder for a link out. Walked paths therefore
open with ``O_NOFOLLOW`` (unless the walk followed a link inside the root)
and must still be the file the walk stat'ed (device and inode).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rlm import ops
from rlm.errors import FileChangedError
from rlm.ingest import collection
from rlm.io.reader import open_file
from rlm.io.walk import WalkedPath, WalkEntry, walk
from rlm.store import Store

SECRET = "TOP SECRET outside-root token=abc123\n"


@pytest.fixture
def tree(isolated_env: Path) -> Path:
    root = isolated_env / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("plain notes\n", encoding="utf-8")
    (root / "sub" / "b.txt").write_text("more notes\n", encoding="utf-8")
    outside = isolated_env / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (outside / "sub" / "b.txt").write_text(SECRET, encoding="utf-8")
    return root


def entries(root: Path) -> dict[str, WalkEntry]:
    found = {e.rel: e for e in walk(root)}
    assert all(isinstance(e.path, WalkedPath) for e in found.values())
    return found


def test_a_file_swapped_for_a_symlink_out_is_refused(tree: Path) -> None:
    walked = entries(tree)["a.txt"]
    (tree / "a.txt").unlink()
    (tree / "a.txt").symlink_to(tree.parent / "outside" / "secret.txt")
    with pytest.raises(FileChangedError, match="after the folder walk"):
        open_file(walked.path)


def test_a_file_replaced_by_another_file_is_refused(tree: Path) -> None:
    walked = entries(tree)["a.txt"]
    other = tree / "a.new"
    other.write_text(SECRET, encoding="utf-8")
    os.replace(other, tree / "a.txt")  # same name, another inode
    with pytest.raises(FileChangedError):
        open_file(walked.path)


def test_a_parent_folder_swapped_for_a_symlink_out_is_refused(tree: Path) -> None:
    walked = entries(tree)["sub/b.txt"]
    (tree / "sub").rename(tree / "sub.old")
    (tree / "sub").symlink_to(tree.parent / "outside" / "sub")
    with pytest.raises(FileChangedError):
        open_file(walked.path)


def test_unchanged_files_and_links_inside_the_root_still_open(tree: Path) -> None:
    (tree / ".shared").mkdir()  # a dot-folder: not walked itself, reached through the link
    (tree / ".shared" / "c.txt").write_text("shared notes\n", encoding="utf-8")
    (tree / "link.txt").symlink_to(tree / ".shared" / "c.txt")
    found = entries(tree)
    with open_file(found["a.txt"].path) as text:
        assert bytes(text.data) == b"plain notes\n"
    link = found["link.txt"]
    assert isinstance(link.path, WalkedPath) and link.path.via_link
    with open_file(link.path) as text:
        assert bytes(text.data) == b"shared notes\n"
    with open_file(str(tree / "a.txt")) as text:  # a path the user named: no walk, no check
        assert bytes(text.data) == b"plain notes\n"


def test_a_folder_load_skips_the_swapped_file_and_stores_no_secret(
    tree: Path, isolated_env: Path, hash_embedder: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def walk_then_swap(*args: object, **kwargs: object) -> list[WalkEntry]:
        found = walk(*args, **kwargs)  # type: ignore[arg-type]
        (tree / "a.txt").unlink()
        (tree / "a.txt").symlink_to(tree.parent / "outside" / "secret.txt")
        return found

    monkeypatch.setattr(collection, "walk", walk_then_swap)
    with Store.init(isolated_env / "rlm.db") as store:
        report = ops.load(store, [str(tree)]).to_json()
        assert [s["path"] for s in report["skipped"]] == ["a.txt"]
        assert "after the folder walk" in report["skipped"][0]["reason"]
        assert [b.name for b in store.list_buffers()] == ["sub/b.txt"]
        assert all("SECRET" not in store.read_buffer(b.id) for b in store.list_buffers())

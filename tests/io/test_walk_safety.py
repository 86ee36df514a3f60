"""Hostile folders: the walk skips what it must not read and reports why.

Each case is an attack from the security review (H3, L1): links out of the
folder, a FIFO or ``/dev/zero`` posing as an ignore file, a huge ignore file,
names that are not UTF-8, a tree deeper than Python's recursion limit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rlm.errors import InvalidArgumentError
from rlm.io.access import AccessPolicy
from rlm.io.ignore import MAX_IGNORE_FILE_BYTES
from rlm.io.walk import MAX_DEPTH, expand_glob, walk


def _walk(root: Path, **kwargs: object) -> tuple[list[str], dict[str, str]]:
    skipped: list[tuple[str, str]] = []
    # hidden=True: hostile dotfiles must be handled safely even when a user asks for them
    options: dict[str, object] = {"hidden": True, **kwargs}
    found = walk(root, on_skip=lambda rel, why: skipped.append((rel, why)), **options)  # type: ignore[arg-type]
    reasons: dict[str, str] = {}
    for rel, why in skipped:  # an entry can be reported twice: keep both reasons
        reasons[rel] = f"{reasons[rel]}; {why}" if rel in reasons else why
    return [e.rel for e in found], reasons


def test_symlinked_folder_outside_the_root_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    os.symlink(outside, root / "leak")
    os.symlink(tmp_path / "outside" / "secret.txt", root / "leak.txt")
    found, skipped = _walk(root)
    assert found == ["a.txt"]
    assert skipped["leak"].startswith("symlink leaves the folder")
    assert skipped["leak.txt"].startswith("symlink leaves the folder")


def test_links_inside_the_root_still_work(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "x.md").write_text("x\n")
    os.symlink("docs", root / "alias")
    found, skipped = _walk(root / "alias" / ".." / "alias")
    assert found == ["x.md"]  # a root given through a link is resolved first
    assert skipped == {}


@pytest.mark.timeout(30)
def test_fifo_gitignore_does_not_hang(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / ".gitignore")
    (root / "a.txt").write_text("a\n")
    found, skipped = _walk(root)
    assert found == ["a.txt"]
    assert skipped[".gitignore"] == "ignore file not read: not a regular file"


@pytest.mark.timeout(30)
def test_rlmignore_linked_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.symlink("/dev/zero", root / ".rlmignore")
    (root / "a.txt").write_text("a\n")
    found, skipped = _walk(root)
    assert found == ["a.txt"]
    assert skipped[".rlmignore"] == (
        "ignore file not read: not a regular file; symlink leaves the folder (to /dev/zero)"
    )


def test_oversized_ignore_file_is_skipped_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / ".gitignore").write_bytes(b"*.txt\n" + b"#" * MAX_IGNORE_FILE_BYTES)
    (root / "a.txt").write_text("a\n")
    found, skipped = _walk(root)
    assert "a.txt" in found  # its '*.txt' was never applied
    assert "larger than" in skipped[".gitignore"]


@pytest.mark.timeout(60)
def test_hostile_pattern_does_not_hang_the_walk(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / ".gitignore").write_text("*a" * 12 + "*b\n")
    long_name = "a" * 200 + ".txt"
    (root / long_name).write_text("x\n")
    found, _ = _walk(root)
    assert found == [".gitignore", long_name]


def test_glob_with_many_stars_is_linear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("d").mkdir()
    Path("d", "a" * 200 + ".txt").write_text("x\n")
    Path("d", "a" * 12 + "b").write_text("x\n")
    _, entries = expand_glob("d/" + "*a" * 12 + "*b")
    assert [e.rel for e in entries] == ["a" * 12 + "b"]


def test_monstrous_glob_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidArgumentError, match="glob pattern of"):
        expand_glob("*a" * 5000)


def test_non_utf8_name_skips_only_that_entry(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with open(os.fsencode(root) + b"/bad\xff\xfe.txt", "wb") as handle:
        handle.write(b"hello\n")
    (root / "ok.txt").write_text("ok\n")
    found, skipped = _walk(root)
    assert found == ["ok.txt"]
    assert skipped == {"bad\\xff\\xfe.txt": "name is not UTF-8"}


def test_very_deep_tree_skips_the_deep_part_only(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "top.txt").write_text("top\n")
    fd_path = os.fsencode(root)
    # build through relative mkdirs: the absolute path would pass PATH_MAX
    here = os.open(fd_path, os.O_RDONLY)
    try:
        for _ in range(MAX_DEPTH + 20):
            os.mkdir("d", dir_fd=here)
            nxt = os.open("d", os.O_RDONLY, dir_fd=here)
            os.close(here)
            here = nxt
    finally:
        os.close(here)
    found, skipped = _walk(root)
    assert found == ["top.txt"]
    deep = "/".join(["d"] * (MAX_DEPTH + 1))
    assert skipped[deep] == f"nested deeper than {MAX_DEPTH} folders"


def test_access_policy_skips_secrets_inside_a_folder(tmp_path: Path) -> None:
    root = tmp_path / "home"
    for rel in (".ssh/id_rsa", ".aws/credentials", ".env", ".env.local", "notes.md", "k/tls.pem"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
    policy = AccessPolicy.create([root])
    found, skipped = _walk(root, access=policy)
    assert found == ["notes.md"]
    assert set(skipped) == {".ssh", ".aws", ".env", ".env.local", "k/tls.pem"}
    assert all("may hold secrets" in why for why in skipped.values())
    found_all, _ = _walk(root, access=AccessPolicy.create([root], allow_secrets=True))
    assert "k/tls.pem" in found_all and ".env" in found_all

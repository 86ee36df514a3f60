"""Folder walking: gitignore semantics (checked against git itself), skips, loops, globs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rlm.io.ignore import IgnoreRules, IgnoreStack, parse_lines, parse_pattern
from rlm.io.walk import expand_glob, split_glob, walk

ROOT_GITIGNORE = """\
# a comment, then a blank line

*.log
!important.log
build/
/root_only.txt
docs/*.tmp
**/cache
a/**/z.txt
logs/**
\\#hash.txt
trailing.txt   \n\
[abc]x.txt
?.q
*.md
!build/keep.txt
"""

TREE = [
    "app.log",
    "important.log",
    "sub/app.log",
    "sub/important.log",
    "build/out.txt",
    "build/keep.txt",
    "src/build/x.txt",
    "other/build",
    "root_only.txt",
    "sub/root_only.txt",
    "docs/a.tmp",
    "docs/deep/a.tmp",
    "x/docs/a.tmp",
    "cache/f.txt",
    "deep/er/cache/f.txt",
    "cachet/f.txt",
    "a/z.txt",
    "a/b/z.txt",
    "a/b/c/z.txt",
    "a/b/y.txt",
    "logs/x/y.txt",
    "logs.txt",
    "#hash.txt",
    "trailing.txt",
    "ax.txt",
    "bx.txt",
    "dx.txt",
    "1.q",
    "12.q",
    "top.md",
    "nested/a.txt",
    "nested/keep.txt",
    "nested/deeper/b.txt",
    "nested/deeper/keep.txt",
    "nested2/r.md",
    "nested2/inner/s.md",
]

EXPECTED_KEPT = {
    ".gitignore",
    "important.log",
    "sub/important.log",
    "other/build",
    "sub/root_only.txt",
    "docs/deep/a.tmp",
    "x/docs/a.tmp",
    "cachet/f.txt",
    "a/b/y.txt",
    "logs.txt",
    "dx.txt",
    "12.q",
    "nested/.gitignore",
    "nested/keep.txt",
    "nested/deeper/keep.txt",
    "nested2/.gitignore",
    "nested2/r.md",
    "nested2/inner/s.md",
}


def make_tree(root: Path, files: list[str], content: str = "text\n") -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


@pytest.fixture
def ignore_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    make_tree(root, TREE)
    (root / ".gitignore").write_text(ROOT_GITIGNORE)
    (root / "nested" / ".gitignore").write_text("*.txt\n!keep.txt\n")
    (root / "nested2" / ".gitignore").write_text("!*.md\n")
    return root


def rels(root: Path) -> list[str]:
    """What the walk keeps, dotfiles included: these tests are about ignore rules (the
    default that leaves dotfiles out is tested in test_walk_hidden.py)."""
    return [e.rel for e in walk(root, hidden=True)]


def test_gitignore_semantics(ignore_tree: Path) -> None:
    assert set(rels(ignore_tree)) == EXPECTED_KEPT


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_gitignore_agrees_with_git(ignore_tree: Path) -> None:
    subprocess.run(["git", "init", "-q", str(ignore_tree)], check=True)
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=ignore_tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    # git quotes names with unusual characters; none here but '#', which it leaves alone.
    assert set(listed) == EXPECTED_KEPT
    assert set(rels(ignore_tree)) == set(listed)


def test_walk_is_sorted_depth_first(tmp_path: Path) -> None:
    make_tree(tmp_path / "r", ["b.txt", "a/z.txt", "a/b.txt", "c/d/e.txt", "a.txt", "B.txt"])
    assert rels(tmp_path / "r") == ["B.txt", "a/b.txt", "a/z.txt", "a.txt", "b.txt", "c/d/e.txt"]


def test_rlmignore_overrides_gitignore(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_tree(root, ["a.txt", "notes.txt", "r.md", "k.py"])
    (root / ".gitignore").write_text("*.txt\n")
    (root / ".rlmignore").write_text("!notes.txt\n*.md\n.*ignore\n")
    assert rels(root) == ["k.py", "notes.txt"]


def test_always_skipped_names_even_when_negated(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_tree(
        root,
        [
            ".git/config",
            ".venv/lib/x.py",
            "node_modules/p/index.js",
            "__pycache__/a.pyc",
            ".rlm/db",
            "sub/node_modules/x.js",
            "sub/__pycache__/m.pyc",
            "sub/ok.py",
            ".github/ci.yml",
        ],
    )
    (root / ".gitignore").write_text("!node_modules/\n!.venv\n")
    assert rels(root) == [".github/ci.yml", ".gitignore", "sub/ok.py"]


def test_symlink_loops_terminate_and_links_count_once(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_tree(root, ["real.txt", "sub/inner.txt"])
    outside = tmp_path / "outside.txt"
    outside.write_text("outside\n")
    os.symlink("..", root / "sub" / "up")
    os.symlink(".", root / "sub" / "self")
    os.symlink("real.txt", root / "a_link.txt")
    os.symlink(outside, root / "out_link.txt")
    os.symlink("missing.txt", root / "broken.txt")
    os.symlink(root / "sub", root / "sub_alias")
    skipped: list[tuple[str, str]] = []
    found = walk(root, on_skip=lambda rel, why: skipped.append((rel, why)))
    assert [e.rel for e in found] == ["real.txt", "sub/inner.txt"]
    reasons = dict(skipped)
    assert reasons["out_link.txt"].startswith("symlink leaves the folder")
    assert reasons["a_link.txt"] == "same file as real.txt"
    assert reasons["broken.txt"] == "broken symlink"
    for loop in ("sub/up", "sub/self"):
        assert "loop" in reasons[loop]
    # 'sub_alias' sorts after 'sub', which was walked already: one copy only.
    assert "already walked" in reasons["sub_alias"]


def test_special_files_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_tree(root, ["a.txt"])
    os.mkfifo(root / "pipe")
    skipped: list[tuple[str, str]] = []
    found = walk(root, on_skip=lambda rel, why: skipped.append((rel, why)))
    assert [e.rel for e in found] == ["a.txt"]
    assert skipped == [("pipe", "not a regular file")]


def test_walk_reports_size_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_tree(root, ["a.txt"], content="12345")
    os.utime(root / "a.txt", (1_000_000, 1_000_000))
    (entry,) = walk(root)
    assert (entry.size, entry.mtime) == (5, 1_000_000)
    assert entry.path == root / "a.txt"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_ignore_files_above_the_root_in_a_git_work_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_tree(repo, ["src/a.py", "src/a.log", "src/gen/x.py", "src/pkg/tmp.bak", "src/b.py"])
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("*.log\n/src/gen/\n")
    (repo / "src" / ".gitignore").write_text("")
    (repo / ".git" / "info" / "exclude").write_text("*.bak\nb.py\n")
    (repo / "src" / ".rlmignore").write_text("!b.py\n")
    assert rels(repo / "src") == [".gitignore", ".rlmignore", "a.py", "b.py"]


def test_outside_a_work_tree_nothing_above_the_root_is_read(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.py\n")
    make_tree(tmp_path / "r", ["a.py"])
    assert rels(tmp_path / "r") == ["a.py"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", None),
        ("   ", None),
        ("# comment", None),
        ("/", None),
        ("!", None),
    ],
)
def test_lines_that_are_not_patterns(line: str, expected: None) -> None:
    assert parse_pattern(line) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "ignored"),
    [
        ("foo", "a/b/foo", False, True),
        ("foo/", "a/foo", False, False),
        ("foo/", "a/foo", True, True),
        ("/foo", "a/foo", False, False),
        ("/foo", "foo", False, True),
        ("a/b", "x/a/b", False, False),
        ("*.c", "x/y.c", False, True),
        ("x*", "a/xb/c", False, False),
        ("**/foo/bar", "bar", False, False),
        ("**/foo/bar", "x/y/foo/bar", False, True),
        ("a/**", "a", True, False),
        ("a/**", "a/b/c", False, True),
        ("a/**/b", "a/b", False, True),
        ("a**b", "a/x/b", False, False),
        ("a**b", "axxb", False, True),
        ("[!a]b", "cb", False, True),
        ("[!a]b", "ab", False, False),
        ("[a-c]b", "bb", False, True),
        ("[]]x", "]x", False, True),
        ("f[o", "f[o", False, True),
        ("\\!bang", "!bang", False, True),
        ("sp\\ ", "sp ", False, True),
        ("q?", "q/", False, False),
    ],
)
def test_pattern_cases(pattern: str, path: str, is_dir: bool, ignored: bool) -> None:
    stack = IgnoreStack().push(IgnoreRules(tuple(parse_lines([pattern]))))
    assert stack.is_ignored(path, is_dir) is ignored


def test_deeper_rules_override_and_last_match_wins() -> None:
    stack = IgnoreStack().push(IgnoreRules(tuple(parse_lines(["*.txt", "!a.txt", "a.txt"]))))
    assert stack.is_ignored("a.txt", False)
    stack = stack.push(IgnoreRules(tuple(parse_lines(["!*.txt"])), base="sub"))
    assert not stack.is_ignored("sub/a.txt", False)
    assert stack.is_ignored("other/a.txt", False)


def test_split_glob() -> None:
    assert split_glob("src/**/*.py") == (Path("src"), "**/*.py")
    assert split_glob("*.md") == (Path("."), "*.md")
    assert split_glob("a/b/c?.txt") == (Path("a/b"), "c?.txt")


def test_expand_glob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_tree(tmp_path, ["src/a.py", "src/pkg/b.py", "src/pkg/c.txt", "src/gen/d.py", "e.py"])
    (tmp_path / "src" / ".gitignore").write_text("gen/\n")
    base, entries = expand_glob("src/**/*.py")
    assert base == Path("src")
    assert [e.rel for e in entries] == ["a.py", "pkg/b.py"]
    _, top = expand_glob("*.py")
    assert [e.rel for e in top] == ["e.py"]
    _, nothing = expand_glob("nowhere/*.py")
    assert nothing == []

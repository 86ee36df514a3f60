"""Walking folders for ``rlm load DIR``: sorted, ignore-aware, loop-safe.

:func:`walk` lists the regular files under a folder, depth first with the
entries of each folder sorted by name, so two runs over the same tree see the
same files in the same order. It

* never enters or returns :data:`~rlm.io.ignore.ALWAYS_SKIPPED` names
  (``.git``, ``.rlm``, ``.venv``, ``node_modules``, ``__pycache__``);
* honours ``.gitignore`` and ``.rlmignore`` in every folder it walks (and, in a
  git work tree, the ignore files above the root, see
  :func:`~rlm.io.ignore.parent_rules`), pruning ignored folders;
* follows symlinks, but enters each real folder once (so a symlink loop ends)
  and returns each real file once (the plain file is preferred over a link);
* reports broken links, loops and special files (FIFOs, sockets...) through
  ``on_skip`` instead of failing.

:func:`expand_glob` does the same for a glob such as ``src/**/*.py``: it walks
the fixed folder before the first wildcard and keeps what the rest matches.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rlm.io.ignore import ALWAYS_SKIPPED, IgnoreStack, glob_to_regex, parent_rules, read_rules

SkipCallback = Callable[[str, str], None]
"""``on_skip(rel_path, reason)``."""

GLOB_CHARS = "*?["


@dataclass(frozen=True)
class WalkEntry:
    """A regular file found by the walk."""

    path: Path
    """Where to open it (the root joined with ``rel``; may go through symlinks)."""
    rel: str
    """Posix path relative to the walk root."""
    size: int
    mtime: float
    is_link: bool = False


def is_glob(text: str) -> bool:
    return any(ch in text for ch in GLOB_CHARS)


def walk(
    root: str | os.PathLike[str],
    *,
    on_skip: SkipCallback | None = None,
    use_ignore_files: bool = True,
) -> list[WalkEntry]:
    """The loadable-looking files under ``root`` (see the module docstring)."""
    top = Path(root)
    skip: SkipCallback = on_skip or (lambda _rel, _reason: None)
    stack = parent_rules(top) if use_ignore_files else IgnoreStack()
    found: list[WalkEntry] = []
    try:
        root_stat = top.stat()
    except OSError as exc:
        skip(top.as_posix(), f"cannot read folder: {exc.strerror}")
        return found
    seen_dirs = {(root_stat.st_dev, root_stat.st_ino)}
    _walk_dir(top, "", stack, use_ignore_files, seen_dirs, found, skip)
    return _dedupe_files(found, skip)


def _walk_dir(
    folder: Path,
    rel: str,
    stack: IgnoreStack,
    use_ignore_files: bool,
    seen_dirs: set[tuple[int, int]],
    found: list[WalkEntry],
    skip: SkipCallback,
) -> None:
    if use_ignore_files:
        stack = stack.push(read_rules(folder, base=rel))
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        skip(rel or ".", f"cannot read folder: {exc.strerror}")
        return
    for entry in entries:
        if entry.name in ALWAYS_SKIPPED:
            continue
        child_rel = f"{rel}/{entry.name}" if rel else entry.name
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError:
            if entry.is_symlink():
                skip(child_rel, "broken symlink")
            else:
                skip(child_rel, "cannot stat")
            continue
        is_link = entry.is_symlink()
        if stat.S_ISDIR(st.st_mode):
            if stack.is_ignored(child_rel, True):
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                skip(child_rel, "symlink to a folder already walked (loop or duplicate)")
                continue
            seen_dirs.add(key)
            _walk_dir(Path(entry.path), child_rel, stack, use_ignore_files, seen_dirs, found, skip)
        elif stat.S_ISREG(st.st_mode):
            if stack.is_ignored(child_rel, False):
                continue
            found.append(WalkEntry(Path(entry.path), child_rel, st.st_size, st.st_mtime, is_link))
        else:
            if not stack.is_ignored(child_rel, False):
                skip(child_rel, "not a regular file")


def _dedupe_files(found: list[WalkEntry], skip: SkipCallback) -> list[WalkEntry]:
    """Drop links to files already listed (a plain file wins over links to it)."""
    if not any(e.is_link for e in found):
        return found
    owner: dict[tuple[int, int], WalkEntry] = {}
    for entry in found:
        try:
            st = entry.path.stat()
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        current = owner.get(key)
        if current is None or (current.is_link and not entry.is_link):
            owner[key] = entry
    kept: list[WalkEntry] = []
    for entry in found:
        try:
            st = entry.path.stat()
        except OSError:
            kept.append(entry)
            continue
        winner = owner[(st.st_dev, st.st_ino)]
        if winner is entry:
            kept.append(entry)
        else:
            skip(entry.rel, f"same file as {winner.rel}")
    return kept


def split_glob(pattern: str) -> tuple[Path, str]:
    """``src/**/*.py`` -> (``src``, ``**/*.py``): the fixed folder and the rest."""
    path = Path(pattern)
    parts = path.parts
    fixed: list[str] = []
    for i, part in enumerate(parts):
        if is_glob(part):
            rest = "/".join(parts[i:])
            base = Path(*fixed) if fixed else Path(".")
            return base, rest
        fixed.append(part)
    return path.parent, path.name


def expand_glob(
    pattern: str, *, on_skip: SkipCallback | None = None
) -> tuple[Path, list[WalkEntry]]:
    """Walk the fixed folder of ``pattern``; keep files matching the rest.

    ``*``, ``?`` and ``[...]`` stay within one path component and ``**``
    spans folders (zero or more), as in ``glob.glob(recursive=True)``; unlike
    it, names starting with a dot are matched too, and ignore files apply.
    Returns the fixed folder and the entries (``rel`` relative to that folder).
    """
    base, rest = split_glob(pattern)
    regex = re.compile(glob_to_regex(rest) + r"\Z", re.DOTALL)
    if not base.is_dir():
        return base, []
    entries = [e for e in walk(base, on_skip=on_skip) if regex.match(e.rel)]
    return base, entries

"""Walking folders for ``rlm load DIR``: sorted, ignore-aware, loop-safe.

:func:`walk` lists the regular files under a folder, depth first with the
entries of each folder sorted by name, so two runs over the same tree see the
same files in the same order. It

* never enters or returns :data:`~rlm.io.ignore.ALWAYS_SKIPPED` names
  (``.git``, ``.rlm``, ``.venv``, ``node_modules``, ``__pycache__``);
* honours ``.gitignore`` and ``.rlmignore`` in every folder it walks (and, in a
  git work tree, the ignore files above the root, see
  :func:`~rlm.io.ignore.parent_rules`), pruning ignored folders;
* follows symlinks only while they stay inside the root (a link out of the
  folder is skipped with the reason "symlink leaves the folder": a hostile
  folder must not pull in ``~`` or ``/``), enters each real folder once (so a
  symlink loop ends) and returns each real file once (the plain file is
  preferred over a link);
* returns each file as a :class:`WalkedPath`, so the reader opens only the
  file the walk checked (no symlink swapped in between);
* reports broken links, loops, special files (FIFOs, sockets, devices), names
  that are not UTF-8 and folders nested deeper than :data:`MAX_DEPTH` through
  ``on_skip`` and goes on: one odd entry never fails the whole walk. The walk
  keeps its own stack of folders instead of recursing, so depth is no hazard.

:func:`expand_glob` does the same for a glob such as ``src/**/*.py``: it walks
the fixed folder before the first wildcard and keeps what the rest matches.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rlm.errors import InvalidArgumentError
from rlm.io.access import AccessPolicy, is_within, real_path
from rlm.io.ignore import (
    ALWAYS_SKIPPED,
    IGNORE_FILES,
    MAX_PATTERN_LENGTH,
    GlobMatcher,
    IgnoreStack,
    parent_rules,
    read_rules,
)

if TYPE_CHECKING:
    _ConcretePath = Path
else:
    _ConcretePath = type(Path())  # PosixPath or WindowsPath: Path itself cannot be subclassed


class WalkedPath(_ConcretePath):
    """A file's path carrying what the walk decided about it, for the reader to re-check.

    Between the walk's ``stat`` and the reader's ``open`` a hostile folder can
    swap the file for a symlink out of the root (or swap a parent folder).
    :func:`rlm.io.reader.open_file` therefore opens a walked path with
    ``O_NOFOLLOW`` unless the walk itself followed a link there, and refuses
    the descriptor unless its device and inode are the ones the walk saw.
    The check travels with the path so every loader that opens walked files
    gets it without passing anything else along.
    """

    identity: tuple[int, int] | None = None
    """(st_dev, st_ino) of the file the walk stat'ed."""
    via_link: bool = False
    """The walk reached the file through a symlink (one that stays inside the root)."""

    @classmethod
    def of(cls, path: str, st: os.stat_result, *, via_link: bool) -> WalkedPath:
        walked = cls(path)
        walked.identity = (st.st_dev, st.st_ino)
        walked.via_link = via_link
        return walked


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


MAX_DEPTH = 256
"""Folders nested deeper than this are skipped (and reported), not walked."""


def walk(
    root: str | os.PathLike[str],
    *,
    on_skip: SkipCallback | None = None,
    use_ignore_files: bool = True,
    access: AccessPolicy | None = None,
    hidden: bool = False,
) -> list[WalkEntry]:
    """The loadable-looking files under ``root`` (see the module docstring).

    With ``access``, names its deny-list refuses are skipped (and reported).
    Dotfiles and dot-folders (``.gitignore``, ``.github/``) are configuration,
    not content: they are left out, as ripgrep does, unless ``hidden``.
    """
    top = Path(root)
    skip: SkipCallback = on_skip or (lambda _rel, _reason: None)
    stack = parent_rules(top) if use_ignore_files else IgnoreStack()
    found: list[WalkEntry] = []
    try:
        root_stat = top.stat()
    except OSError as exc:
        skip(top.as_posix(), f"cannot read folder: {exc.strerror}")
        return found
    walker = _Walker(real_path(top), use_ignore_files, access, skip, found, hidden)
    walker.seen_dirs.add((root_stat.st_dev, root_stat.st_ino))
    walker.run(top, stack)
    return _dedupe_files(found, skip)


def display_name(name: str) -> str:
    """A name that is not UTF-8 (lone surrogates from the OS) with its bytes escaped."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class _Frame:
    rel: str
    depth: int
    stack: IgnoreStack
    entries: list[os.DirEntry[str]]
    next_index: int = 0


@dataclass
class _Walker:
    """One walk: an explicit stack of open folders, so depth never hits Python's recursion cap."""

    root_real: Path
    use_ignore_files: bool
    access: AccessPolicy | None
    skip: SkipCallback
    found: list[WalkEntry]
    hidden: bool = False
    seen_dirs: set[tuple[int, int]] = field(default_factory=set)

    def run(self, top: Path, stack: IgnoreStack) -> None:
        frames: list[_Frame] = []
        first = self._open(top, "", 0, stack)
        if first is not None:
            frames.append(first)
        while frames:
            frame = frames[-1]
            if frame.next_index >= len(frame.entries):
                frames.pop()
                continue
            entry = frame.entries[frame.next_index]
            frame.next_index += 1
            child = self._visit(entry, frame)
            if child is not None:
                frames.append(child)

    def _open(self, folder: Path, rel: str, depth: int, stack: IgnoreStack) -> _Frame | None:
        if self.use_ignore_files:
            here = rel

            def ignore_skip(name: str, reason: str) -> None:
                self.skip(f"{here}/{name}" if here else name, reason)

            stack = stack.push(read_rules(folder, base=rel, on_skip=ignore_skip))
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.skip(rel or ".", f"cannot read folder: {exc.strerror}")
            return None
        return _Frame(rel, depth, stack, entries)

    def _visit(self, entry: os.DirEntry[str], frame: _Frame) -> _Frame | None:
        """Handle one folder entry; a sub-folder to walk next comes back as a frame."""
        if entry.name in ALWAYS_SKIPPED or (not self.hidden and entry.name.startswith(".")):
            return None
        rel, stack = frame.rel, frame.stack
        if not _is_utf8(entry.name):
            shown = display_name(entry.name)
            self.skip(f"{rel}/{shown}" if rel else shown, "name is not UTF-8")
            return None
        child_rel = f"{rel}/{entry.name}" if rel else entry.name
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError:
            self.skip(child_rel, "broken symlink" if entry.is_symlink() else "cannot stat")
            return None
        is_dir = stat.S_ISDIR(st.st_mode)
        if stack.is_ignored(child_rel, is_dir):
            return None
        if self.access is not None:
            pattern = self.access.denied_name(entry.name)
            if pattern is not None:
                self.skip(child_rel, f"may hold secrets (deny-list pattern {pattern})")
                return None
        is_link = entry.is_symlink()
        if is_link and not is_within(real_path(entry.path), self.root_real):
            self.skip(child_rel, f"symlink leaves the folder (to {real_path(entry.path)})")
            return None
        if is_dir:
            key = (st.st_dev, st.st_ino)
            if key in self.seen_dirs:
                self.skip(child_rel, "symlink to a folder already walked (loop or duplicate)")
                return None
            if frame.depth + 1 > MAX_DEPTH:
                self.skip(child_rel, f"nested deeper than {MAX_DEPTH} folders")
                return None
            self.seen_dirs.add(key)
            return self._open(Path(entry.path), child_rel, frame.depth + 1, stack)
        if stat.S_ISREG(st.st_mode):
            self.found.append(
                WalkEntry(
                    WalkedPath.of(entry.path, st, via_link=is_link),
                    child_rel,
                    st.st_size,
                    st.st_mtime,
                    is_link,
                )
            )
        elif not (self.use_ignore_files and entry.name in IGNORE_FILES):
            self.skip(child_rel, "not a regular file")  # ignore files: reported when read
        return None


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
    pattern: str,
    *,
    on_skip: SkipCallback | None = None,
    access: AccessPolicy | None = None,
    hidden: bool = False,
) -> tuple[Path, list[WalkEntry]]:
    """Walk the fixed folder of ``pattern``; keep files matching the rest.

    ``*``, ``?`` and ``[...]`` stay within one path component and ``**``
    spans folders (zero or more), as in ``glob.glob(recursive=True)``; unlike
    it, ignore files apply, and names starting with a dot are matched only with
    ``hidden`` (as in a folder walk).
    Returns the fixed folder and the entries (``rel`` relative to that folder).
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidArgumentError(
            f"glob pattern of {len(pattern)} characters (max: {MAX_PATTERN_LENGTH})",
            suggestion="Use a shorter pattern, or name the folder to load all of it",
        )
    base, rest = split_glob(pattern)
    matcher = GlobMatcher.compile(rest)  # linear time: the pattern may come from an agent
    if not base.is_dir():
        return base, []
    entries = [
        e
        for e in walk(base, on_skip=on_skip, access=access, hidden=hidden)
        if matcher.matches(e.rel)
    ]
    return base, entries


def check_load_path(policy: AccessPolicy, text: str) -> Path:
    """The real path an agent's ``load`` may read, or :class:`~rlm.errors.AccessDeniedError`.

    A glob is checked through its fixed folder (``docs/**/*.md`` -> ``docs``);
    pass the same policy to :func:`walk` / :func:`expand_glob` so links out of
    that folder and secret-looking names inside it are skipped too.
    """
    target = split_glob(text)[0] if is_glob(text) else Path(text)
    return policy.check(target)

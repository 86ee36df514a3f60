"""``.gitignore`` / ``.rlmignore`` patterns, matched the way git matches them.

A small, dependency-free implementation of gitignore(5):

* blank lines and ``#`` comments are skipped; ``\\#`` and ``\\!`` escape a
  leading ``#`` / ``!``; trailing spaces are dropped unless escaped (``\\ ``);
* ``!pattern`` re-includes what an earlier pattern excluded;
* ``dir/`` (trailing slash) matches directories only;
* a pattern with a slash at its start or in its middle is anchored to the
  folder of the file that holds it; one without matches at any depth;
* ``*`` and ``?`` never match ``/``; ``[...]`` is a character class
  (``[!...]`` / ``[^...]`` negated; POSIX ``[:name:]`` classes are not
  supported); ``**/`` at the start matches in every folder, ``/**`` at the end
  matches everything inside, ``/**/`` matches zero or more folders, and any
  other ``**`` is a plain ``*``;
* the last matching pattern of a file wins, and a file in a deeper folder
  overrides its parents' files (:class:`IgnoreStack`).

As in git, a file inside an excluded folder cannot be re-included: the walker
never descends into an excluded folder (see :mod:`rlm.io.walk`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILES = (".gitignore", ".rlmignore")
"""Read in every walked folder, in this order: ``.rlmignore`` wins over ``.gitignore``."""

ALWAYS_SKIPPED = frozenset({".git", ".rlm", ".venv", "node_modules", "__pycache__"})
"""Names never walked into or loaded, whatever the ignore files say."""


@dataclass(frozen=True)
class IgnorePattern:
    """One compiled line of an ignore file."""

    text: str
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool

    def matches(self, rel: str, is_dir: bool) -> bool:
        """Whether ``rel`` (posix, relative to the ignore file's folder) matches."""
        if self.dir_only and not is_dir:
            return False
        return self.regex.match(rel) is not None


def _bracket(pattern: str, i: int) -> tuple[str, int] | None:
    """Translate the class starting at ``pattern[i] == '['``: (regex, next index)."""
    j = i + 1
    negate = False
    if j < len(pattern) and pattern[j] in "!^":
        negate = True
        j += 1
    parts: list[str] = []
    first = True
    while j < len(pattern):
        ch = pattern[j]
        if ch == "]" and not first:
            body = "".join(parts)
            return f"(?!/)[{'^' if negate else ''}{body}]", j + 1
        first = False
        if ch == "\\" and j + 1 < len(pattern):
            parts.append(re.escape(pattern[j + 1]))
            j += 2
            continue
        parts.append("-" if ch == "-" else re.escape(ch))
        j += 1
    return None  # no closing bracket: '[' is a literal


def glob_to_regex(pattern: str) -> str:
    """The body of a regex matching ``pattern`` against a whole posix path."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            double = j - i >= 2
            at_start = i == 0 or pattern[i - 1] == "/"
            if double and at_start and j < n and pattern[j] == "/":
                out.append("(?:.*/)?")  # '**/' : zero or more folders
                i = j + 1
            elif double and at_start and j == n and i > 0:
                out.append(".+")  # trailing '/**' : everything inside
                i = j
            elif double and at_start and j == n:
                out.append(".*")  # a pattern that is only '**'
                i = j
            else:
                out.append("[^/]*")
                i = j
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            translated = _bracket(pattern, i)
            if translated is None:
                out.append(re.escape(ch))
                i += 1
            else:
                out.append(translated[0])
                i = translated[1]
        elif ch == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _strip_trailing_spaces(line: str) -> str:
    while line.endswith(" ") and not line.endswith("\\ "):
        line = line[:-1]
    return line


def parse_pattern(line: str) -> IgnorePattern | None:
    """Compile one ignore-file line; ``None`` for blanks, comments and no-ops."""
    text = _strip_trailing_spaces(line.rstrip("\r\n"))
    if not text or text.startswith("#"):
        return None
    body = text
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    dir_only = body.endswith("/") and not body.endswith("\\/")
    body = body.rstrip("/") if dir_only else body
    anchored = "/" in body
    body = body.lstrip("/")
    if not body:
        return None
    prefix = "" if anchored else "(?:.*/)?"
    try:
        regex = re.compile(f"{prefix}{glob_to_regex(body)}\\Z", re.DOTALL)
    except re.error:
        return None  # git ignores patterns it cannot parse, so do we
    return IgnorePattern(text=text, regex=regex, negate=negate, dir_only=dir_only)


def parse_lines(lines: Iterable[str]) -> list[IgnorePattern]:
    return [p for p in (parse_pattern(line) for line in lines) if p is not None]


@dataclass(frozen=True)
class IgnoreRules:
    """The patterns of one folder's ignore files.

    ``base`` is that folder relative to the walk root (``""`` for the root);
    for folders above the root, ``base`` is empty and ``prefix`` is the walk
    root relative to that folder, so a path is matched as ``prefix/rel``.
    """

    patterns: tuple[IgnorePattern, ...]
    base: str = ""
    prefix: str = ""

    def decide(self, rel: str, is_dir: bool) -> bool | None:
        """True (ignored), False (re-included) or None (no pattern matched)."""
        if self.base:
            if not rel.startswith(self.base + "/"):
                return None
            rel = rel[len(self.base) + 1 :]
        if self.prefix:
            rel = f"{self.prefix}/{rel}"
        for pattern in reversed(self.patterns):
            if pattern.matches(rel, is_dir):
                return not pattern.negate
        return None


@dataclass(frozen=True)
class IgnoreStack:
    """Rules from the outermost folder to the innermost; deeper rules win."""

    rules: tuple[IgnoreRules, ...] = ()

    def push(self, rules: IgnoreRules | None) -> IgnoreStack:
        if rules is None or not rules.patterns:
            return self
        return IgnoreStack((*self.rules, rules))

    def is_ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether ``rel`` (posix, relative to the walk root) is ignored."""
        for rules in reversed(self.rules):
            decision = rules.decide(rel, is_dir)
            if decision is not None:
                return decision
        return False


def read_rules(folder: Path, base: str = "", prefix: str = "") -> IgnoreRules | None:
    """The ``.gitignore`` then ``.rlmignore`` patterns of ``folder``, if any."""
    patterns: list[IgnorePattern] = []
    for name in IGNORE_FILES:
        patterns.extend(_read_patterns(folder / name))
    if not patterns:
        return None
    return IgnoreRules(tuple(patterns), base=base, prefix=prefix)


def _read_patterns(path: Path) -> list[IgnorePattern]:
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    return parse_lines(raw.decode("utf-8", errors="replace").splitlines())


def parent_rules(root: Path) -> IgnoreStack:
    """Ignore files between the enclosing git work tree's top and ``root`` (exclusive).

    Loading ``repo/src`` honours ``repo/.gitignore`` (and ``repo/.git/info/exclude``)
    as git would. Outside a git work tree nothing above ``root`` is read.
    """
    try:
        resolved = root.resolve()
    except OSError:
        return IgnoreStack()
    top: Path | None = None
    for folder in (resolved, *resolved.parents):
        if (folder / ".git").exists():
            top = folder
            break
    if top is None:
        return IgnoreStack()
    stack = IgnoreStack()
    exclude = _read_patterns(top / ".git" / "info" / "exclude")
    rel_root = resolved.relative_to(top).as_posix()
    if exclude:
        stack = stack.push(IgnoreRules(tuple(exclude), prefix=_dot(rel_root)))
    if top == resolved:
        return stack
    folder = top
    for part in (*Path(rel_root).parts[:-1], None):
        rules = read_rules(folder, prefix=_dot(resolved.relative_to(folder).as_posix()))
        stack = stack.push(rules)
        if part is None:
            break
        folder = folder / part
    return stack


def _dot(rel: str) -> str:
    return "" if rel == "." else rel

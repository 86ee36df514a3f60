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

Ignore files come from the folder being loaded, which may be hostile, so
matching runs in time linear in the path (:class:`GlobMatcher`: a pattern
with several wildcards is run as an automaton, never as a backtracking
regex, because ``*a*a*a*a*b`` takes hours in ``re``), and an ignore file is
read only when it is a small regular file (a FIFO would block the open, a
link to ``/dev/zero`` would never end).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

IGNORE_FILES = (".gitignore", ".rlmignore")
"""Read in every walked folder, in this order: ``.rlmignore`` wins over ``.gitignore``."""

ALWAYS_SKIPPED = frozenset({".git", ".rlm", ".venv", "node_modules", "__pycache__"})
"""Names never walked into or loaded, whatever the ignore files say."""

MAX_IGNORE_FILE_BYTES = 1 << 20
"""Bigger ignore files are skipped (git's own cap is 100 MB; real ones are a few KB)."""
MAX_PATTERN_LENGTH = 4096
"""Longer lines are skipped: no real path pattern is that long."""
MAX_PATTERNS_PER_FILE = 10_000
"""Lines past this many are dropped: each pattern is tried against every path."""

IgnoreSkip = Callable[[str, str], None]
"""``on_skip(file_name, reason)`` for an ignore file that was not read."""

# --- glob tokens --------------------------------------------------------------

_LIT, _ONE, _STAR, _ANY_STAR, _DIRS_OPT = range(5)
"""Token kinds: a literal character; one character of a class; ``[^/]*``;
``.*``; ``(?:.*/)?`` (nothing, or anything ending in ``/``)."""

_NOT_SLASH = "[^/]"
_ANY = "."


@dataclass(frozen=True)
class _Token:
    kind: int
    text: str = ""
    """_LIT: the character; _ONE: the regex of the one-character class."""


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


def _stars(pattern: str, i: int) -> tuple[list[_Token], int]:
    """The tokens for the run of ``*`` starting at ``i``, and the next index."""
    n = len(pattern)
    j = i
    while j < n and pattern[j] == "*":
        j += 1
    double = j - i >= 2
    at_start = i == 0 or pattern[i - 1] == "/"
    if double and at_start and j < n and pattern[j] == "/":
        return [_Token(_DIRS_OPT)], j + 1  # '**/' : zero or more folders
    if double and at_start and j == n and i > 0:
        return [_Token(_ONE, _ANY), _Token(_ANY_STAR)], j  # trailing '/**' : everything inside
    if double and at_start and j == n:
        return [_Token(_ANY_STAR)], j  # a pattern that is only '**'
    return [_Token(_STAR)], j


def glob_tokens(pattern: str) -> list[_Token]:
    """``pattern`` as a list of tokens matching a whole posix path."""
    out: list[_Token] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            tokens, i = _stars(pattern, i)
            out.extend(tokens)
        elif ch == "?":
            out.append(_Token(_ONE, _NOT_SLASH))
            i += 1
        elif ch == "[":
            translated = _bracket(pattern, i)
            if translated is None:
                out.append(_Token(_LIT, ch))
                i += 1
            else:
                out.append(_Token(_ONE, translated[0]))
                i = translated[1]
        elif ch == "\\" and i + 1 < n:
            out.append(_Token(_LIT, pattern[i + 1]))
            i += 2
        else:
            out.append(_Token(_LIT, ch))
            i += 1
    return out


_TOKEN_REGEX = {_STAR: "[^/]*", _ANY_STAR: ".*", _DIRS_OPT: "(?:.*/)?"}


def _tokens_regex(tokens: Iterable[_Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.kind == _LIT:
            parts.append(re.escape(token.text))
        elif token.kind == _ONE:
            parts.append(token.text)
        else:
            parts.append(_TOKEN_REGEX[token.kind])
    return "".join(parts)


def glob_to_regex(pattern: str) -> str:
    """The body of a regex matching ``pattern`` against a whole posix path.

    Only safe to run with ``re`` when the pattern has at most one wildcard run;
    :class:`GlobMatcher` decides that.
    """
    return _tokens_regex(glob_tokens(pattern))


# --- linear-time matching -----------------------------------------------------

_CHAR, _SPLIT, _MATCH = range(3)
_DFA_CACHE_LIMIT = 4096
"""Cached automaton steps per pattern; the cache is cleared when it fills up."""


class _Automaton:
    """A Thompson NFA over glob tokens, run with a lazily built DFA cache.

    Each step costs at most the number of pattern tokens, whatever the path,
    so a match is O(len(path) * len(pattern)): no backtracking, ever. Steps
    already taken for a (state set, character) pair are remembered, so a tree
    of many similar names mostly costs dictionary look-ups.
    """

    def __init__(self, tokens: list[_Token]) -> None:
        # node: (kind, test, next1, next2); test is None (any), a char, or a regex
        self._nodes: list[tuple[int, object, int, int]] = []
        self._start = self._build(tokens)
        self._steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}
        self._first = self._closure({self._start})

    def _add(self, kind: int, test: object = None, a: int = -1, b: int = -1) -> int:
        self._nodes.append((kind, test, a, b))
        return len(self._nodes) - 1

    def _patch(self, node: int, a: int, b: int = -1) -> None:
        kind, test, _, old_b = self._nodes[node]
        self._nodes[node] = (kind, test, a, b if b >= 0 else old_b)

    def _build(self, tokens: list[_Token]) -> int:
        """Build backwards from the match node: each token points at the rest."""
        nxt = self._add(_MATCH)
        for token in reversed(tokens):
            if token.kind == _LIT:
                nxt = self._add(_CHAR, token.text, nxt)
            elif token.kind == _ONE:
                test: object = token.text
                if token.text == _ANY:
                    test = None
                elif token.text != _NOT_SLASH:
                    test = re.compile(token.text, re.DOTALL)
                nxt = self._add(_CHAR, test, nxt)
            elif token.kind in (_STAR, _ANY_STAR):
                loop = self._add(_SPLIT, None, -1, nxt)
                body = self._add(_CHAR, _NOT_SLASH if token.kind == _STAR else None, loop)
                self._patch(loop, body)
                nxt = loop
            else:  # _DIRS_OPT: nothing, or any text then '/'
                slash = self._add(_CHAR, "/", nxt)
                loop = self._add(_SPLIT, None, -1, slash)
                body = self._add(_CHAR, None, loop)
                self._patch(loop, body)
                nxt = self._add(_SPLIT, None, nxt, loop)
        return nxt

    def _closure(self, states: Iterable[int]) -> frozenset[int]:
        seen: set[int] = set()
        stack = list(states)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            kind, _, a, b = self._nodes[node]
            if kind == _SPLIT:
                stack.append(a)
                stack.append(b)
        return frozenset(seen)

    def _accepts(self, node: int, ch: str) -> bool:
        test = self._nodes[node][1]
        if test is None:
            return True
        if test == _NOT_SLASH:
            return ch != "/"
        if isinstance(test, str):
            return ch == test
        assert isinstance(test, re.Pattern)
        return test.fullmatch(ch) is not None

    def _step(self, states: frozenset[int], ch: str) -> frozenset[int]:
        key = (states, ch)
        cached = self._steps.get(key)
        if cached is not None:
            return cached
        moved = [
            self._nodes[n][2] for n in states if self._nodes[n][0] == _CHAR and self._accepts(n, ch)
        ]
        result = self._closure(moved)
        if len(self._steps) >= _DFA_CACHE_LIMIT:
            self._steps.clear()
        self._steps[key] = result
        return result

    def fullmatch(self, text: str) -> bool:
        states = self._first
        for ch in text:
            states = self._step(states, ch)
            if not states:
                return False
        return any(self._nodes[n][0] == _MATCH for n in states)


@dataclass(frozen=True)
class GlobMatcher:
    """Whether a whole path matches a glob, in time linear in the path.

    A pattern with at most one wildcard run (``*.py``, ``build/``,
    ``src/**/x``) is compiled to a ``re`` regex, which is then linear too and
    runs in C; anything with more wildcards runs as an :class:`_Automaton`.
    """

    pattern: str
    _regex: re.Pattern[str] | None = field(repr=False, compare=False)
    _automaton: _Automaton | None = field(repr=False, compare=False)

    @classmethod
    def compile(cls, pattern: str, *, automaton: bool | None = None) -> GlobMatcher:
        """``automaton`` forces (True) or forbids (False) the automaton; tests use it."""
        tokens = glob_tokens(pattern)
        wildcards = sum(1 for t in tokens if t.kind in _TOKEN_REGEX)
        use_automaton = wildcards > 1 if automaton is None else automaton
        if use_automaton:
            return cls(pattern, None, _Automaton(tokens))
        regex = re.compile(_tokens_regex(tokens) + r"\Z", re.DOTALL)
        return cls(pattern, regex, None)

    def matches(self, path: str) -> bool:
        if self._regex is not None:
            return self._regex.match(path) is not None
        assert self._automaton is not None
        return self._automaton.fullmatch(path)


# --- patterns and rules -------------------------------------------------------


@dataclass(frozen=True)
class IgnorePattern:
    """One compiled line of an ignore file."""

    text: str
    matcher: GlobMatcher
    negate: bool
    dir_only: bool
    anchored: bool = True
    """False for a pattern without a slash: it is matched against the last name only."""

    def matches(self, rel: str, is_dir: bool) -> bool:
        """Whether ``rel`` (posix, relative to the ignore file's folder) matches."""
        if self.dir_only and not is_dir:
            return False
        if not self.anchored:
            # git: a pattern without a slash matches the name at any depth. Its
            # wildcards never match '/', so that is the last component.
            rel = rel.rpartition("/")[2]
        return self.matcher.matches(rel)


def _strip_trailing_spaces(line: str) -> str:
    while line.endswith(" ") and not line.endswith("\\ "):
        line = line[:-1]
    return line


def parse_pattern(line: str) -> IgnorePattern | None:
    """Compile one ignore-file line; ``None`` for blanks, comments, no-ops and monsters."""
    text = _strip_trailing_spaces(line.rstrip("\r\n"))
    if not text or text.startswith("#") or len(text) > MAX_PATTERN_LENGTH:
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
    try:
        matcher = GlobMatcher.compile(body)
    except re.error:
        return None  # git ignores patterns it cannot parse, so do we
    return IgnorePattern(
        text=text, matcher=matcher, negate=negate, dir_only=dir_only, anchored=anchored
    )


def parse_lines(lines: Iterable[str]) -> list[IgnorePattern]:
    patterns: list[IgnorePattern] = []
    for line in lines:
        pattern = parse_pattern(line)
        if pattern is not None:
            patterns.append(pattern)
            if len(patterns) >= MAX_PATTERNS_PER_FILE:
                break
    return patterns


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


def read_rules(
    folder: Path, base: str = "", prefix: str = "", *, on_skip: IgnoreSkip | None = None
) -> IgnoreRules | None:
    """The ``.gitignore`` then ``.rlmignore`` patterns of ``folder``, if any."""
    patterns: list[IgnorePattern] = []
    for name in IGNORE_FILES:
        patterns.extend(_read_patterns(folder / name, on_skip))
    if not patterns:
        return None
    return IgnoreRules(tuple(patterns), base=base, prefix=prefix)


def read_small_regular_file(path: Path, limit: int = MAX_IGNORE_FILE_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    Opened non-blocking so a FIFO cannot hang the open, and checked with
    ``fstat`` on the open descriptor (not the path, which could be swapped in
    between). Reads at most ``limit + 1`` bytes, so a file that grows or lies
    about its size cannot make us read for ever. Raises ``OSError`` (missing
    file, permission) or ``ValueError`` (not a small regular file; the message
    says why).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_size > limit:
            raise ValueError(f"larger than {limit} bytes")
        pieces: list[bytes] = []
        total = 0
        while total <= limit:
            piece = os.read(fd, min(1 << 16, limit + 1 - total))
            if not piece:
                break
            pieces.append(piece)
            total += len(piece)
        if total > limit:
            raise ValueError(f"larger than {limit} bytes")
        return b"".join(pieces)
    finally:
        os.close(fd)


def _read_patterns(path: Path, on_skip: IgnoreSkip | None = None) -> list[IgnorePattern]:
    try:
        raw = read_small_regular_file(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        if on_skip is not None and os.path.lexists(path):
            on_skip(path.name, f"ignore file not read: {exc.strerror}")
        return []
    except ValueError as exc:
        if on_skip is not None:
            on_skip(path.name, f"ignore file not read: {exc}")
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

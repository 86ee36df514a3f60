"""Ignore patterns match in linear time, with exactly the regex semantics.

A hostile ``.gitignore`` line such as ``*a*a*a*a*a*a*a*a*a*a*a*a*b`` made the
old backtracking regex run for hours on one long name. Patterns with more
than one wildcard now run as an automaton; these tests prove it agrees with
the regex translation everywhere the regex is fast enough to ask.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlm.io.ignore import (
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS_PER_FILE,
    GlobMatcher,
    glob_to_regex,
    parse_lines,
    parse_pattern,
)

PATTERN_ATOMS = ["a", "b", "/", "*", "**", "**/", "/**", "?", "[ab]", "[!a]", "[", "\\*", "."]
PATH_ALPHABET = "ab/.*"


def _regex_matches(pattern: str, path: str) -> bool:
    return re.match(glob_to_regex(pattern) + r"\Z", path, re.DOTALL) is not None


@given(
    st.lists(st.sampled_from(PATTERN_ATOMS), min_size=1, max_size=6).map("".join),
    st.text(alphabet=PATH_ALPHABET, max_size=10),
)
def test_automaton_agrees_with_the_regex(pattern: str, path: str) -> None:
    automaton = GlobMatcher.compile(pattern, automaton=True)
    regex = GlobMatcher.compile(pattern, automaton=False)
    expected = _regex_matches(pattern, path)
    assert automaton.matches(path) == expected
    assert regex.matches(path) == expected


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.py", "x.py", True),
        ("*.py", "d/x.py", False),
        ("a/**/z", "a/z", True),
        ("a/**/z", "a/b/c/z", True),
        ("a/**", "a/b/c", True),
        ("a/**", "a", False),
        ("**", "any/thing", True),
        ("*a*b*", "xaybz", True),
        ("*a*b*", "xbyaz", False),
        ("[!a]?", "ba", True),
        ("[!a]?", "/a", False),
    ],
)
def test_examples_both_ways(pattern: str, path: str, expected: bool) -> None:
    assert GlobMatcher.compile(pattern, automaton=True).matches(path) is expected
    assert GlobMatcher.compile(pattern, automaton=False).matches(path) is expected


@pytest.mark.timeout(20)
def test_catastrophic_pattern_answers_at_once() -> None:
    """The review's pattern: 13 stars against a 204-character name (hours with ``re``)."""
    pattern = parse_pattern("*a" * 12 + "*b")
    assert pattern is not None
    name = "a" * 200 + ".txt"
    for _ in range(200):  # a folder of such names
        assert pattern.matches(name, False) is False
    assert pattern.matches("a" * 200 + "b", False) is True


def test_unanchored_patterns_match_the_last_name_at_any_depth() -> None:
    pattern = parse_pattern("*x*y*")
    assert pattern is not None
    assert pattern.matches("deep/er/axbyc", False)
    assert not pattern.matches("xy/dir/plain", False)  # the folder part never counts


def test_oversized_lines_and_files_are_bounded() -> None:
    assert parse_pattern("a" * (MAX_PATTERN_LENGTH + 1)) is None
    assert parse_pattern("a" * MAX_PATTERN_LENGTH) is not None
    lines = [f"p{i}" for i in range(MAX_PATTERNS_PER_FILE + 50)]
    assert len(parse_lines(lines)) == MAX_PATTERNS_PER_FILE

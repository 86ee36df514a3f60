"""Fixtures for the agent commands: a hash-embedded store with one loaded document."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

WORDS = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma",
    "omega", "river", "stone", "cloud", "ember", "lantern", "quiet", "harbour", "copper", "meadow",
]  # fmt: skip


def make_document(size: int, seed: int = 1) -> list[str]:
    """Paragraphs of pseudo-random sentences totalling about ``size`` bytes."""
    rng = random.Random(seed)
    paras: list[str] = []
    total = 0
    while total < size:
        sentences = []
        for _ in range(rng.randint(3, 6)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
            sentences.append(" ".join(words).capitalize() + ".")
        paras.append(f"Section {len(paras)}. " + " ".join(sentences))
        total += len(paras[-1]) + 2
    return paras


def join(paras: list[str]) -> str:
    return "\n\n".join(paras) + "\n"


@pytest.fixture
def db(cli: Cli, hash_embedder: None, isolated_env: Path) -> str:
    """An initialised database path (pure-logic tests: hash embedder)."""
    path = str(isolated_env / "agents.db")
    assert cli("-d", path, "init").code == 0
    return path


@pytest.fixture
def doc(cli: Cli, db: str, isolated_env: Path) -> str:
    """A ~40 KB document loaded as buffer 'doc' with 1000-byte chunks."""
    path = isolated_env / "doc.txt"
    path.write_text(join(make_document(40_000)), encoding="utf-8")
    result = cli(
        "-d", db, "load", str(path), "--name", "doc", "--chunk-size", "1000", "--overlap", "100"
    )
    assert result.code == 0, result.err
    return "doc"

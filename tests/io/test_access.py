"""The file-access policy an MCP server puts between an agent and the disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rlm.errors import AccessDeniedError
from rlm.io.access import DEFAULT_DENY, AccessPolicy


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.md").write_text("a\n")
    (tmp_path / "outside.txt").write_text("outside\n")
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / ".ssh" / "id_rsa").write_text("KEY\n")
    return root


def test_paths_below_the_root_are_allowed(tree: Path) -> None:
    policy = AccessPolicy.create([tree])
    assert policy.check(tree / "docs" / "a.md") == (tree / "docs" / "a.md").resolve()
    assert policy.check(tree) == tree.resolve()
    assert policy.check(tree / "not-yet.txt")  # existence is the reader's business


def test_dot_dot_cannot_leave_the_root(tree: Path) -> None:
    policy = AccessPolicy.create([tree])
    with pytest.raises(AccessDeniedError) as info:
        policy.check(tree / "docs" / ".." / ".." / "outside.txt")
    assert info.value.error_type == "AccessDenied"
    assert "outside the allowed roots" in info.value.message
    with pytest.raises(AccessDeniedError):
        policy.check("/etc/passwd")


def test_symlink_escapes_are_refused(tree: Path) -> None:
    os.symlink(tree.parent / "outside.txt", tree / "docs" / "link.txt")
    os.symlink(tree.parent / "home", tree / "home_link")
    policy = AccessPolicy.create([tree])
    for path in (tree / "docs" / "link.txt", tree / "home_link" / ".ssh" / "id_rsa"):
        with pytest.raises(AccessDeniedError, match="outside the allowed roots"):
            policy.check(path)


def test_a_link_inside_the_root_to_a_secret_is_refused(tree: Path) -> None:
    (tree / ".env").write_text("TOKEN=x\n")
    os.symlink(tree / ".env", tree / "docs" / "config.txt")
    policy = AccessPolicy.create([tree])
    with pytest.raises(AccessDeniedError, match=r"'\.env' may hold secrets"):
        policy.check(tree / "docs" / "config.txt")


def test_relative_paths_resolve_against_the_working_folder(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree / "docs")
    policy = AccessPolicy.for_cwd()
    assert policy.roots == ((tree / "docs").resolve(),)
    assert policy.check("a.md") == (tree / "docs" / "a.md").resolve()
    with pytest.raises(AccessDeniedError):
        policy.check("../../outside.txt")


@pytest.mark.parametrize(
    "rel",
    [
        ".ssh/id_rsa",
        ".ssh/config",
        ".aws/credentials",
        ".gnupg/pubring.kbx",
        ".env",
        ".env.production",
        "keys/id_ed25519.pub",
        "certs/server.pem",
        "certs/server.key",
        ".netrc",
        ".pgpass",
        ".git-credentials",
    ],
)
def test_secrets_are_denied_by_default_even_inside_a_root(tmp_path: Path, rel: str) -> None:
    policy = AccessPolicy.create([tmp_path])
    with pytest.raises(AccessDeniedError, match="may hold secrets"):
        policy.check(tmp_path / rel)
    assert AccessPolicy.create([tmp_path], allow_secrets=True).denied_reason(tmp_path / rel) is None


def test_ordinary_names_are_not_denied(tmp_path: Path) -> None:
    policy = AccessPolicy.create([tmp_path])
    for rel in ("environment.md", "src/keys.py", "docs/ssh.md", "monkey.txt", "README"):
        assert policy.denied_reason(tmp_path / rel) is None, rel


def test_the_answer_does_not_depend_on_existence(tree: Path) -> None:
    policy = AccessPolicy.create([tree])
    existing = policy.denied_reason(tree.parent / "outside.txt")
    missing = policy.denied_reason(tree.parent / "no-such-file.txt")
    assert existing == missing == "outside the allowed roots"


def test_several_roots_and_direct_construction(tree: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    policy = AccessPolicy((tree, other))
    assert policy.deny == DEFAULT_DENY
    assert policy.root_of(other / "x.txt") == other.resolve()
    assert policy.denied_reason(other / ".ssh" / "id_rsa") is not None


def test_load_paths_and_globs_are_checked_through_their_fixed_folder(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlm.io.walk import check_load_path

    monkeypatch.chdir(tree)
    policy = AccessPolicy.for_cwd()
    assert check_load_path(policy, "docs/**/*.md") == (tree / "docs").resolve()
    assert check_load_path(policy, "docs/a.md") == (tree / "docs" / "a.md").resolve()
    for outside in ("../outside.txt", "/etc/*", "../home/.ssh/*", "/etc/passwd"):
        with pytest.raises(AccessDeniedError):
            check_load_path(policy, outside)

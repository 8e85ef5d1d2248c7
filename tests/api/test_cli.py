"""The ``pdl`` command describes itself: every command and option with its default, its
version; and tokens are listed and revoked from it, never the last admin token."""

import argparse
from collections.abc import Iterator
from pathlib import Path

from services.runtime.cli import package_version, parser
from tests.api.processes import pdl


def commands(root: argparse.ArgumentParser,
             path: str = "pdl") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser under ``root``, by its command line, ``root`` first."""
    yield path, root
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            described = {choice.dest for choice in action._choices_actions}
            for name, sub in action.choices.items():
                assert name in described, f"'{path} {name}' has no help"
                yield from commands(sub, f"{path} {name}")


def test_every_command_and_option_is_described_with_its_default() -> None:
    for path, command in commands(parser()):
        for action in command._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                                   argparse._SubParsersAction)):
                continue
            text = action.help or ""
            where = f"{path} {'/'.join(action.option_strings) or action.dest}"
            assert text, f"{where} is not described"
            if action.option_strings:
                assert "default" in text, f"{where} does not say its default: {text!r}"


def test_the_version_is_the_installed_packages() -> None:
    result = pdl("--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"pdl {package_version()}"
    assert package_version() != "unknown"


def test_tokens_are_listed_by_name_with_role_and_never_the_token(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    made = pdl(*data, "token", "create", "--name", "bob", "--role", "viewer").stdout.strip()
    pdl(*data, "token", "create", "--name", "ann", "--role", "admin")

    listed = pdl(*data, "token", "list")

    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(name, role) for name, role, _ in rows] == [("ann", "admin"), ("bob", "viewer")]
    assert made not in listed.stdout


def test_a_revoked_token_is_gone_and_the_last_admin_token_stays(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    pdl(*data, "token", "create", "--name", "bob", "--role", "viewer")
    pdl(*data, "token", "create", "--name", "ann", "--role", "admin")

    revoked = pdl(*data, "token", "revoke", "bob")
    last = pdl(*data, "token", "revoke", "ann")
    unknown = pdl(*data, "token", "revoke", "nobody")

    assert revoked.returncode == 0 and revoked.stdout == "revoked bob\n"
    assert last.returncode == 1 and last.stdout == ""
    assert last.stderr.count("\n") == 1 and "'ann' is the last admin token" in last.stderr
    assert unknown.returncode == 1 and "no token named 'nobody'" in unknown.stderr
    assert pdl(*data, "token", "list").stdout.startswith("ann\tadmin\t")

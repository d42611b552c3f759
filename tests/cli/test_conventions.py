"""The command line's conventions: --version, a help text for every option, and help that reads as plain text."""

from __future__ import annotations

import argparse
import importlib.metadata
import re

import pytest

from statefun_faas.cli import COMMANDS, main
from statefun_faas.cli.parsers import parser

#: reStructuredText markup that docstrings use and a terminal shows as is
RST = re.compile(r"``|`[^`]+`_?|:(class|func|mod|meth|attr|data|exc):")


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """The top parser and every subcommand's, by command name ('' for the top)."""
    top = parser()
    (commands,) = [action for action in top._actions if isinstance(action, argparse._SubParsersAction)]
    return {"": top, **commands.choices}


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"statefun-faas {importlib.metadata.version('statefun-faas')}\n"


def test_every_command_has_a_parser() -> None:
    assert set(_parsers()) - {""} == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(_parsers()))
def test_every_option_and_argument_has_help(command: str) -> None:
    quiet = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
    missing = [
        action.dest
        for action in _parsers()[command]._actions
        if not isinstance(action, quiet) and not (action.help or "").strip()
    ]
    assert missing == [], f"statefun-faas {command}: no help for {missing}"


@pytest.mark.parametrize("command", sorted(_parsers()))
def test_help_has_no_restructuredtext_markup(command: str) -> None:
    text = _parsers()[command].format_help()
    assert RST.search(text) is None, text

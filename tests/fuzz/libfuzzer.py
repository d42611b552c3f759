"""The command line every atheris target of tests/fuzz takes: libFuzzer's flags plus ``--seconds N``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def libfuzzer_arguments(argv: list[str], corpus: Path, seed: Callable[[Path], None]) -> list[str]:
    """``--seconds N`` as ``-max_total_time=N``; a corpus ``seed`` writes into ``corpus`` unless one is given."""
    arguments = [argv[0]]
    rest = iter(argv[1:])
    for argument in rest:
        arguments.append(f"-max_total_time={next(rest)}" if argument == "--seconds" else argument)
    if not any(argument.startswith("-max_len=") for argument in arguments):
        arguments.append("-max_len=4096")
    if not any(not argument.startswith("-") for argument in arguments[1:]):
        seed(corpus)
        arguments.append(str(corpus))
    return arguments

"""Crash points for the durability tests: ``STATEFUN_FAAS_FAILPOINT=NAME[:N]`` kills the process with
SIGKILL the N-th time (default the first) the runtime passes the point ``NAME``.

Points: ``after-ingress-commit`` (a message is stored and not yet applied), ``before-apply`` (a function
answered and its response is not yet committed). Unset, :func:`hit` costs one comparison.
"""

from __future__ import annotations

import os
import signal

ENV = "STATEFUN_FAAS_FAILPOINT"
_name, _, _count = os.environ.get(ENV, "").partition(":")
_remaining = {_name: int(_count or "1")} if _name else {}


def hit(name: str) -> None:
    if not _remaining or name not in _remaining:
        return
    _remaining[name] -= 1
    if _remaining[name] <= 0:
        os.kill(os.getpid(), signal.SIGKILL)

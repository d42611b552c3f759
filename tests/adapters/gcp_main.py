"""The ``main.py`` the functions-framework server loads in the Google tests: ``--target statefun``."""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))  # for ``tests``; statefun_faas stays the installed one

from statefun_faas.adapters.gcp import http_function
from tests.adapters.conformance import MAX_BODY, MAX_INVOCATIONS, TOKENS
from tests.adapters.support import FUNCTIONS

statefun = http_function(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)

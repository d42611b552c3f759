"""The shop's playground registry with carts that expire after one idle second, for ``statefun-faas serve``."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # served as a file: make the tests package importable

from tests.examples.support import example_module  # noqa: E402

CART_IDLE = timedelta(seconds=1)
shop = example_module("shopping_cart", "functions")
functions = shop.shop(shop.playground_receipt, CART_IDLE)

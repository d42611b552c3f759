"""What `statefun-faas package` copies besides the dependencies."""

from __future__ import annotations

from pathlib import Path

from statefun_faas.cli.target import load_functions
from statefun_faas.deploy.sources import copy_target

FUNCTIONS = """
from statefun_faas import Context, Message, StatefulFunctions
from shipping_rates import RATE

functions = StatefulFunctions()


@functions.bind("shop/shipping")
def shipping(context: Context, message: Message) -> None:
    assert RATE
"""


def test_a_file_target_brings_the_modules_next_to_it_that_it_imports(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "shipping_functions.py").write_text(FUNCTIONS, encoding="utf-8")
    (app / "shipping_rates.py").write_text("RATE = 3\n", encoding="utf-8")
    (app / "unrelated.py").write_text("raise SystemExit('never imported')\n", encoding="utf-8")
    package = tmp_path / "package"
    package.mkdir()
    load_functions(f"{app / 'shipping_functions.py'}:functions")  # as `statefun-faas package` does first
    module, attribute = copy_target(str(app / "shipping_functions.py"), "functions", package)
    assert (module, attribute) == ("shipping_functions", "functions")
    assert sorted(path.name for path in package.iterdir()) == ["shipping_functions.py", "shipping_rates.py"]

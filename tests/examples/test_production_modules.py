"""Each example's module.prod.yaml: its endpoint is exactly what ``statefun-faas module`` writes from a
deployment's URL and token, with the file's own ingresses and egresses kept (``--base``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from statefun_faas.moduleyaml.model import KAFKA_EGRESS, KINESIS_EGRESS
from statefun_faas.moduleyaml.reader import load_module
from tests.examples.support import EXAMPLES
from tests.runtime.processes import cli

NAMESPACES = {"shopping_cart": "shop", "reminders": "reminders", "cross_language": "xlang"}


@pytest.mark.parametrize("example", sorted(NAMESPACES))
def test_the_endpoint_is_what_statefun_faas_module_writes(example: str, tmp_path: Path) -> None:
    prod = EXAMPLES / example / "module.prod.yaml"
    expected = load_module(prod)
    (endpoint,) = expected.endpoints
    url, _, token = endpoint.url_path_template.replace("{function.name}", "").partition("?token=")
    out = tmp_path / "module.yaml"
    functions = f"{NAMESPACES[example]}/*"
    done = cli("module", "url", url, "--functions", functions, "--token", token, "--base", str(prod), "-o", str(out))
    assert done.returncode == 0, done.stderr
    regenerated = load_module(out)
    assert regenerated.endpoints == expected.endpoints
    assert (regenerated.ingresses, regenerated.egresses) == (expected.ingresses, expected.egresses)
    assert {egress.kind for egress in expected.egresses} <= {KAFKA_EGRESS, KINESIS_EGRESS}
    assert expected.warnings == ()

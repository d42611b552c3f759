"""An Azure Key Vault reference the platform could not resolve is never taken for a token.

App Service hands a Function App the reference's own text (``@Microsoft.KeyVault(...)``) as the
setting's value when the app's identity can not read the secret. That text names the secret
but is no secret: as STATEFUN_FAAS_TOKENS it would let anyone holding the function key through
the token check. The adapter refuses it when the app loads, saying what to fix.
"""

from __future__ import annotations

import pytest

from statefun_faas.adapters.azure import function_app
from statefun_faas.adapters.edge import parse_tokens
from tests.adapters.conformance import FUNCTIONS

UNRESOLVED = "@Microsoft.KeyVault(SecretUri=https://statefun-kv.vault.azure.net/secrets/statefun-tokens/)"


def test_the_function_app_refuses_to_load_with_an_unresolved_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEFUN_FAAS_TOKENS", UNRESOLVED)
    with pytest.raises(ValueError, match="STATEFUN_FAAS_TOKENS is an unresolved Key Vault reference") as refused:
        function_app(FUNCTIONS, tokens=None)  # as `statefun-faas package azure` writes it
    assert "Key Vault Secrets User role on the secret" in str(refused.value)


def test_a_resolved_value_is_read_as_tokens() -> None:
    assert parse_tokens(" current-0123 , next-4567 ") == ("current-0123", "next-4567")
    with pytest.raises(ValueError, match="unresolved Key Vault reference"):
        parse_tokens(f"  {UNRESOLVED}")

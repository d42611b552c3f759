"""Endpoint URL templates: a deployed function's URL plus the function name and the token.

The StateFun runtime sends no headers of its own, so the credential travels in the URL:
``?token=`` or a ``/t/<token>/`` path prefix for our adapters, ``?code=`` for an Azure
function key. Whatever is written here is checked so that the runtime can use it as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from statefun_faas.deploy import DeployError

PLACEHOLDER = "{function.name}"
TokenStyle = Literal["query", "path"]
# Unreserved URL characters only: anything else may be re-encoded by the runtime's HTTP client.
_TOKEN = re.compile(r"[A-Za-z0-9._~-]+")
_AZURE_KEY = re.compile(r"[A-Za-z0-9._~=/-]+")
_NEW_TOKEN_HINT = "make one with: python -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class Credentials:
    """What goes into the URL besides the address: our token, or an Azure function key."""

    token: str | None = None
    token_style: TokenStyle = "query"
    azure_code: str | None = None


def url_template(base: str, function_part: str, credentials: Credentials, *, allow_http: bool = False) -> str:
    """``base`` + ``/`` + ``function_part`` (``{function.name}`` or a name), with the credentials appended."""
    parts = urlsplit(base.strip())
    _check_base(base, parts.scheme, parts.netloc, parts.path, parts.fragment, allow_http)
    path = parts.path.rstrip("/")
    if PLACEHOLDER not in path and function_part:
        path = f"{path}/{function_part}"
    query = parts.query
    if credentials.token is not None:
        _check_secret(credentials.token, _TOKEN, "token")
        if credentials.token_style == "path":
            path = _with_path_token(base, path, credentials.token)
        else:
            query = _add_query(query, "token", credentials.token)
    if credentials.azure_code is not None:
        _check_secret(credentials.azure_code, _AZURE_KEY, "Azure function key")
        query = _add_query(query, "code", credentials.azure_code)
    return urlunsplit((parts.scheme, parts.netloc, path or "/", query, ""))


def _check_base(base: str, scheme: str, netloc: str, path: str, fragment: str, allow_http: bool) -> None:
    if scheme not in ("https", "http") or not netloc:
        raise DeployError(f"{base!r} is not an absolute http(s) URL; give the deployed function's URL")
    if scheme == "http" and not allow_http:
        raise DeployError(
            f"{base!r} is plain http: the token would travel unencrypted; use the https URL "
            f"(or --allow-http for a local test)"
        )
    if "//" in path.rstrip("/"):
        raise DeployError(f"{base!r} has an empty path segment ('//'); remove the doubled slash")
    if fragment:
        raise DeployError(f"{base!r} has a '#' fragment, which HTTP clients drop; remove it")
    leftover = path.replace(PLACEHOLDER, "")
    if "{" in leftover or "}" in leftover:
        raise DeployError(
            f"{base!r} has a placeholder other than {PLACEHOLDER}; the StateFun runtime only replaces {PLACEHOLDER}"
        )


def _check_secret(value: str, allowed: re.Pattern[str], what: str) -> None:
    if not value:
        raise DeployError(f"the {what} is empty; {_NEW_TOKEN_HINT}")
    if not allowed.fullmatch(value):
        raise DeployError(
            f"the {what} has characters that need URL escaping, which the StateFun runtime may re-encode; "
            f"use letters, digits and -._~ only ({_NEW_TOKEN_HINT})"
        )


def _with_path_token(base: str, path: str, token: str) -> str:
    prefix = urlsplit(base.strip()).path.rstrip("/")
    if prefix:
        raise DeployError(
            f"{base!r} already has a path ({prefix!r}); the /t/<token>/ prefix must come first, "
            f"so use the query form (--token-in query)"
        )
    return f"/t/{token}{path}"


def _add_query(query: str, name: str, value: str) -> str:
    return f"{query}&{name}={value}" if query else f"{name}={value}"

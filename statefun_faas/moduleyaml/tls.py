"""TLS for calls to an endpoint, from the async transport's properties as StateFun reads them.

``trust_cacerts`` (PEM CA certificates: trusted instead of the system's), ``client_cert`` and
``client_key`` (PEM, the key in PKCS8, for mutual TLS) and ``client_key_password`` (a file holding the
key's password). Values are file paths: ``file:`` prefixes are dropped; ``classpath:`` names (a Java
resource) and relative paths are looked up next to the module.yaml that declares the endpoint.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TLS_FILES = ("trust_cacerts", "client_cert", "client_key", "client_key_password")


def context_for(properties: Mapping[str, Any], base: Path, endpoint: str) -> ssl.SSLContext | None:
    """The SSL context of an endpoint with TLS properties, else None (the system's trust is used).

    Raises ValueError naming the property and file when a file is missing or unusable."""
    files = {name: _path(str(properties[name]), base) for name in TLS_FILES if properties.get(name)}
    if not files:
        return None
    cert, key = files.get("client_cert"), files.get("client_key")
    if (cert is None) != (key is None):
        raise ValueError(f"endpoint {endpoint}: client_cert and client_key go together; give both or neither")
    try:
        context = ssl.create_default_context(cafile=files.get("trust_cacerts"))
        if cert is not None and key is not None:
            password = files.get("client_key_password")
            secret = Path(password).read_text(encoding="utf-8").strip() if password else None
            context.load_cert_chain(cert, key, password=secret)
    except (OSError, ssl.SSLError) as error:
        named = ", ".join(f"{name} {path}" for name, path in files.items())
        raise ValueError(f"endpoint {endpoint}: TLS files unusable ({named}): {error}") from None
    return context


def _path(value: str, base: Path) -> str:
    for prefix in ("file://", "file:", "classpath:"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    path = Path(value)
    return str(path if path.is_absolute() else base / path)

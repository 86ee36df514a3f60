"""``rlm mcp --http [HOST:]PORT``: the same tools over the SDK's streamable HTTP, shared.

The endpoint is the SDK's default, ``/mcp``. Three rules keep a shared server
safe:

* **A bearer token.** Every request must carry ``Authorization: Bearer TOKEN``
  (compared in constant time); anything else is a 401 with the rlm error
  envelope. The token comes from ``RLM_MCP_TOKEN`` or ``--token-file``, never
  from the command line (where ``ps`` would show it). Without a token the
  server listens only on a loopback address.
* **Read-only unless ``--allow-write``.** No ``load`` tool, no recorded runs,
  no stored reports.
* **Roots.** ``load`` reads only below the ``--root`` folders (default: the
  server's working folder), checked on real paths, with a deny-list for
  secret-looking names (see :mod:`rlm.mcp.access`).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlm.errors import ConfigError, RlmError, UsageError

log = logging.getLogger("rlm.mcp")

TOKEN_ENV = "RLM_MCP_TOKEN"
ENDPOINT = "/mcp"
DEFAULT_HOST = "127.0.0.1"

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{ENDPOINT}"


def parse_listen(value: str) -> Listen:
    """``PORT``, ``HOST:PORT`` or ``[V6]:PORT``; the host defaults to 127.0.0.1."""
    text = value.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = DEFAULT_HOST, text
    host = host.strip("[]") or DEFAULT_HOST
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 < number < 65536:
        raise UsageError(
            f"--http: {value!r} is not [HOST:]PORT",
            suggestion="e.g. --http 8765 (127.0.0.1) or --http 0.0.0.0:8765 (with a token)",
        )
    return Listen(host, number)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(token_file: str | None) -> str | None:
    """The bearer token: ``--token-file`` first, else ``RLM_MCP_TOKEN``; None if neither."""
    if token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the token file {token_file}: {exc.strerror}",
                suggestion="Write the token on the first line of a file only you can read",
            ) from None
        if not token:
            raise ConfigError(f"the token file {token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def check_listen(listen: Listen, token: str | None) -> None:
    """Refuse a non-loopback address without a token (anyone on the network could call)."""
    if token is None and not listen.loopback:
        raise ConfigError(
            f"refusing to listen on {listen.host} without a bearer token",
            suggestion=f"Set {TOKEN_ENV} or pass --token-file FILE, or listen on 127.0.0.1",
        )


def _envelope(error: RlmError) -> bytes:
    return json.dumps(error.to_dict(), ensure_ascii=False).encode("utf-8")


class BearerAuth:
    """ASGI middleware: HTTP requests need ``Authorization: Bearer <token>``.

    Lifespan events pass through, so the SDK's session manager starts and
    stops with the server.
    """

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    def authorised(self, scope: Scope) -> bool:
        for key, value in scope.get("headers", []):
            if key.lower() == b"authorization":
                return hmac.compare_digest(bytes(value), self.expected)
        return False

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.authorised(scope):
            await self.app(scope, receive, send)
            return
        body = _envelope(
            RlmError(
                "unauthorised: a valid bearer token is required",
                error_type="Unauthorized",
                suggestion="Send 'Authorization: Bearer <token>' (the server's RLM_MCP_TOKEN)",
            )
        )
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="rlm"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def http_app(server: Any, listen: Listen, token: str | None) -> Any:
    """The SDK's streamable HTTP app for ``server`` at ``/mcp``, behind the token check."""
    app = server.streamable_http_app(streamable_http_path=ENDPOINT, host=listen.host)
    return BearerAuth(app, token) if token is not None else app


def serve_http(
    server: Any, listen: Listen, token: str | None, *, log_level: str = "warning"
) -> None:
    """Serve until interrupted (uvicorn, one process; calls run side by side, see
    :mod:`rlm.mcp.calls`)."""
    import uvicorn

    check_listen(listen, token)
    if token is None:
        log.warning("no bearer token: any local process can call %s", listen.url)
    log.info("serving MCP over HTTP at %s", listen.url)
    uvicorn.run(
        http_app(server, listen, token), host=listen.host, port=listen.port, log_level=log_level
    )

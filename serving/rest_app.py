"""The REST API on a production HTTP stack: a Starlette app served by uvicorn.

uvicorn (httptools parser, uvloop) gives HTTP/1.1 keep-alive, a bounded
connection count and a graceful shutdown: on stop it closes the listening
socket, lets every request in flight finish and closes idle connections.
Bodies are read up to a size limit (413 beyond), and a request waits for the
model at most ``--rest_api_timeout_in_ms`` (504 beyond). The metrics, when on,
are served at their path on the same port.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from serving.metrics import CONTENT_TYPE, Metrics
from serving.rest_api import error_body
from serving.rest_handler import RestHandler

log = logging.getLogger("serving.server")
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
GRACEFUL_SHUTDOWN_S = 60


def json_response(status: int, payload: dict[str, Any]) -> Response:
    """``payload`` as UTF-8 JSON; a lone surrogate echoed in a message becomes its escape."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8", "backslashreplace")
    return Response(data, status_code=status, media_type="application/json")


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or ``None`` once it grows over ``limit`` bytes."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def make_app(handler: RestHandler, max_body_bytes: int, metrics_path: str | None) -> Starlette:
    """The ASGI app: the metrics page (if on) and every TF Serving REST route."""

    async def api(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        if method not in ("GET", "POST"):
            return json_response(405, error_body(f"Method {request.method} is not supported"))
        body = None
        if method == "POST":
            body = await _read_body(request, max_body_bytes)
            if body is None:
                message = f"Request body exceeds {max_body_bytes} bytes"
                return json_response(413, error_body(message))
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return json_response(*await handler.handle_async(method, target, body))

    routes = []
    metrics = handler.core.metrics
    if metrics_path is not None and metrics is not None:
        routes.append(Route(metrics_path, _metrics_page(metrics), methods=["GET"]))
    routes.append(Route("/{path:path}", api, methods=METHODS))
    return Starlette(routes=routes)


def _metrics_page(metrics: Metrics) -> Any:
    async def page(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return page


class RestServer:
    """uvicorn serving ``app`` on ``host:port`` in a thread of its own (port 0: any free)."""

    def __init__(self, app: Starlette, host: str, port: int, keep_alive_s: int = 60) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_keep_alive=keep_alive_s,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            limit_concurrency=4096,
            backlog=2048,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="rest-api", daemon=True)

    def start(self, timeout_s: float = 30.0) -> tuple[str, int]:
        """Start serving; the bound address once the socket listens."""
        self._thread.start()
        waited = 0.0
        while not self.server.started:
            if not self._thread.is_alive() or waited > timeout_s:
                raise OSError("the REST server did not start (is the port in use?)")
            threading.Event().wait(0.01)
            waited += 0.01
        sockets = [s for server in self.server.servers for s in server.sockets]
        host, port = sockets[0].getsockname()[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish, then return."""
        self.server.should_exit = True
        self._thread.join(GRACEFUL_SHUTDOWN_S + 10)

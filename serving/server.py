"""Serve a translation model over TensorFlow Serving's REST API.

``python -m serving.server --model_base_path serving/models/NAME --port 8501``

* ``POST /v1/models/NAME[/versions/N]:predict`` with ``{"instances": [...]}``
  or ``{"inputs": ...}`` and an optional ``"signature_name"``;
* ``GET /v1/models/NAME[/versions/N]`` (version status) and
  ``GET /v1/models/NAME[/versions/N]/metadata`` (signature definitions);
  ``HEAD`` gives the same status and headers without the body.

The base path is polled for new integer version folders, which are loaded
while the current ones keep serving; the highest version answers requests
that name none. Concurrent requests are batched together (see
``serving.request_batcher``). Needs only TensorFlow and tensorflow-text.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from core.startup_logs import configure_logging, import_tensorflow
from serving.model_registry import InvalidInput, ModelRegistry
from serving.request_batcher import DynamicBatcher, describe
from serving.rest_api import (
    ApiError,
    Limits,
    Route,
    error_body,
    metadata_response,
    parse_predict,
    parse_route,
    predict_response,
    servable_not_found,
    status_response,
)

log = logging.getLogger("serving.server")
REQUEST_TIMEOUT_S = 300.0


class ModelServer:
    """The API without the HTTP transport: ``handle`` maps a request to a status and JSON."""

    def __init__(self, registry: ModelRegistry, batcher: DynamicBatcher, limits: Limits) -> None:
        self.registry = registry
        self.batcher = batcher
        self.limits = limits

    def handle(self, method: str, path: str, body: bytes | None) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON object for one request; errors are ``{"error": ...}``."""
        try:
            route = parse_route(method, path)
            if route.model != self.registry.name:
                raise servable_not_found(route.model, route.version)
            if route.kind == "status":
                return 200, self._status(route)
            servable = self._servable(route)
            if route.kind == "metadata":
                return 200, metadata_response(
                    route.model, servable.version, servable.signature_defs
                )
            return 200, self._predict(servable, body or b"")
        except ApiError as err:
            return err.status, error_body(err.message)

    def _status(self, route: Route) -> dict[str, Any]:
        rows = self.registry.status(route.version)
        if not rows:
            which = f"version {route.version}" if route.version is not None else "any version"
            raise ApiError(404, f"Could not find {which} of model {route.model}")
        return status_response(rows)

    def _servable(self, route: Route) -> Any:
        try:
            return self.registry.get(route.version)
        except KeyError:
            raise servable_not_found(route.model, route.version) from None

    def _predict(self, servable: Any, body: bytes) -> dict[str, Any]:
        request = parse_predict(body, servable.inputs, self.limits, servable.defaults)
        if not request.texts:
            names = sorted(servable.signature_defs[request.signature_name]["outputs"])
            return predict_response({name: [] for name in names}, request.columnar)
        key = (servable, request.signature_name, request.options)
        future = self.batcher.submit(key, request.texts)
        try:
            outputs = future.result(timeout=REQUEST_TIMEOUT_S)
        except FutureTimeout:
            raise ApiError(504, "The model did not answer in time") from None
        except InvalidInput as err:  # the batcher logged it
            raise ApiError(400, f"Prediction failed: {describe(err)}") from None
        except Exception as err:  # the model call failed; the batcher logged it
            raise ApiError(500, f"Prediction failed: {describe(err)}") from None
        return predict_response(outputs, request.columnar)


class _Handler(BaseHTTPRequestHandler):
    """JSON over HTTP/1.1 (keep-alive); everything else is ``ModelServer.handle``."""

    protocol_version = "HTTP/1.1"
    server_version = "nmt-serving/1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: _HTTPServer

    def do_GET(self) -> None:
        self._send(*self.server.app.handle("GET", self.path, None))

    def do_HEAD(self) -> None:
        """GET's status and headers without its body (``_send`` writes none for HEAD)."""
        self.do_GET()

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            self._send(411, error_body("Content-Length is required"))
        elif not length.isdigit():
            self.close_connection = True
            self._send(400, error_body("Invalid Content-Length"))
        elif int(length) > self.server.max_body_bytes:
            self.close_connection = True  # the body is not read: drop the connection
            limit = self.server.max_body_bytes
            self._send(413, error_body(f"Request body of {length} bytes exceeds {limit} bytes"))
        else:
            body = self.rfile.read(int(length))
            self._send(*self.server.app.handle("POST", self.path, body))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own errors (bad request line, ...) as JSON too."""
        self.close_connection = True
        self._send(code, error_body(message or HTTPStatus(code).phrase))

    def _not_allowed(self) -> None:
        self._send(405, error_body(f"Method {self.command} is not supported"))

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        # backslashreplace: a lone surrogate echoed in a message becomes its JSON escape
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8", "backslashreplace")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":  # HEAD: the headers GET would send, only
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients may connect at once

    def __init__(self, address: tuple[str, int], app: ModelServer, max_body_bytes: int) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.max_body_bytes = max_body_bytes


def make_http_server(
    app: ModelServer, host: str = "127.0.0.1", port: int = 8501, max_body_bytes: int = 1 << 22
) -> ThreadingHTTPServer:
    """A threading HTTP server for ``app`` bound to ``host:port`` (port 0: any free port)."""
    return _HTTPServer((host, port), app, max_body_bytes)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m serving.server",
        description=__doc__.split("\n\n")[2].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--model_base_path", type=Path, required=True, help="folder with versions 1/, 2/, ...")
    add("--port", type=int, default=8501, help="REST API port (0: any free port)")
    add("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    add("--model_name", help="name in the URLs (default: the base path's folder name)")
    add("--max_batch_size", type=int, default=64, help="rows per model call")
    add("--batch_timeout_ms", type=float, default=5.0, help="longest wait to fill a batch")
    add("--max_instances", type=int, help="texts per request (default: --max_batch_size)")
    add("--max_text_length", type=int, default=4096, help="characters per text")
    add("--max_versions", type=int, default=0, help="serve only the N highest (0: all)")
    add("--poll_seconds", type=float, default=2.0, help="how often to look for new versions")
    add("--verbose", action="store_true", help="also show other libraries' and native logs")
    return parser


def run_batch(key: Any, rows: list[Any]) -> dict[str, list[Any]]:
    """Run one batch on the servable, signature and options of its key."""
    servable, signature, options = key
    return servable.run(signature, options, rows)  # type: ignore[no-any-return]


def build(args: argparse.Namespace) -> tuple[ThreadingHTTPServer, ModelRegistry, DynamicBatcher]:
    """The registry (already polled once and watching), the batcher and the bound server."""
    name = args.model_name or args.model_base_path.resolve().name
    limits = Limits(args.max_instances or args.max_batch_size, args.max_text_length)
    registry = ModelRegistry(args.model_base_path, name, max_versions=args.max_versions)
    registry.start(args.poll_seconds)
    if not registry.versions():
        log.warning("%s: no loadable version under %s yet", name, args.model_base_path)
    batcher = DynamicBatcher(run_batch, args.max_batch_size, args.batch_timeout_ms / 1000)
    body_limit = 65536 + limits.max_instances * limits.max_text_length * 6
    app = ModelServer(registry, batcher, limits)
    try:
        return make_http_server(app, args.host, args.port, body_limit), registry, batcher
    except OSError:
        registry.stop()
        batcher.close()
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until interrupted (Ctrl-C or SIGTERM)."""
    args = _parser().parse_args(argv)
    configure_logging(args.verbose)
    import_tensorflow()
    try:
        server, registry, batcher = build(args)
    except OSError as err:
        print(
            f"serving.server: error: cannot serve on {args.host}:{args.port}: {err}",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, lambda *_: _interrupt())
    host, port = server.server_address[:2]
    log.info(
        "serving %s (versions %s) at http://%s:%d", registry.name, registry.versions(), host, port
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("shutting down")
    finally:
        server.server_close()
        registry.stop()
        batcher.close()
        sizes = list(batcher.batch_sizes)
        if sizes:
            mean = sum(sizes) / len(sizes)
            log.info("batch sizes: %d batches, mean %.1f, max %d", len(sizes), mean, max(sizes))
    return 0


def _interrupt() -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())

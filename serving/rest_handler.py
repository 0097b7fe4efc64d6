"""TF Serving's REST API over ``ServerCore``, without the HTTP transport.

``handle_async`` (for an event loop) maps a method, a URL path and a body to an
HTTP status and a JSON object; errors are
``{"error": message}`` with the status TF Serving sends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from serving.rest_api import (
    ApiError,
    PredictRequest,
    Route,
    error_body,
    metadata_response,
    parse_predict,
    parse_route,
    predict_response,
    status_response,
)
from serving.server_core import ServerCore
from serving.status_codes import grpc_code

Response = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class _Pending:
    """A predict request that passed validation and waits for the model."""

    route: Route
    servable: Any
    request: PredictRequest


class RestHandler:
    """Routes REST requests to ``core``; every answer is counted in its metrics."""

    def __init__(self, core: ServerCore) -> None:
        self.core = core

    async def handle_async(self, method: str, path: str, body: bytes | None) -> Response:
        """Status and JSON object for one request; waiting for the model holds no thread."""
        start = time.monotonic()
        try:
            prepared = self._prepare(method, path, body)
            if isinstance(prepared, _Pending):
                request = prepared.request
                outputs = await self.core.predict_async(
                    prepared.servable, request.signature_name, request.texts, request.options
                )
                prepared = self._answer(prepared, outputs, start)
            return prepared
        except ApiError as err:
            return self._error(err, method, path, start)

    def _prepare(self, method: str, path: str, body: bytes | None) -> Response | _Pending:
        """A final answer (status, metadata, empty predict) or a validated predict request."""
        route = parse_route(method, path)
        if route.kind == "status":
            rows = self.core.status(route.model, route.version, route.label)
            self._count(route, "", "OK")
            return 200, status_response(rows)
        servable = self.core.servable(route.model, route.version, route.label)
        if route.kind == "metadata":
            self._count(route, "", "OK")
            return 200, metadata_response(
                route.model, servable.version, servable.signature_defs, servable.blessing
            )
        limits = self.core.limits
        request = parse_predict(body or b"", servable.inputs, limits, servable.defaults)
        if not request.texts:
            names = sorted(servable.signature_defs[request.signature_name]["outputs"])
            self._count(route, request.signature_name, "OK")
            return 200, predict_response({name: [] for name in names}, request.columnar)
        return _Pending(route, servable, request)

    def _answer(self, pending: _Pending, outputs: dict[str, list[Any]], start: float) -> Response:
        request = pending.request
        self.core.record(
            "predict", "rest", pending.route.model, request.signature_name, "OK", start
        )
        return 200, predict_response(outputs, request.columnar)

    def _count(self, route: Route, signature: str, status: str) -> None:
        self.core.record(route.kind, "rest", route.model, signature, status, time.monotonic())

    def _error(self, err: ApiError, method: str, path: str, start: float) -> Response:
        try:
            route = parse_route(method, path)  # again: only the error path needs it here
            model, kind = route.model, route.kind
        except ApiError:
            model, kind = "", "unknown"
        self.core.record(kind, "rest", model, "", grpc_code(err.status).name, start)
        return err.status, error_body(err.message)

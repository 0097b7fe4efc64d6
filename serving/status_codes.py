"""TF Serving's error codes and the HTTP statuses its REST API sends for them.

The REST layer raises ``ApiError`` with an HTTP status; the gRPC layer sends the
canonical code that TF Serving's REST handler maps to that status (its
``ToHTTPStatusCode``), so both APIs report one failure the same way.
"""

from __future__ import annotations

import grpc

# Canonical code -> HTTP status, as tensorflow_model_server's REST API answers.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}

# HTTP status -> the code gRPC clients get for the same failure; HTTP-only statuses
# (405 method, 411 length, 413 body size) cannot arise over gRPC.
GRPC_CODE: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    404: grpc.StatusCode.NOT_FOUND,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def grpc_code(http_status: int) -> grpc.StatusCode:
    """The gRPC code for an ``ApiError``'s HTTP status (``INTERNAL`` for other 5xx)."""
    return GRPC_CODE.get(http_status, grpc.StatusCode.INTERNAL)

"""What the REST and gRPC APIs share: finding a servable, predicting through the batcher.

Both APIs resolve a model spec (name, version or version label) and run a
signature on texts with scalar options through one ``DynamicBatcher``, under
one set of limits; failures are ``ApiError`` with TF Serving's HTTP status,
which the gRPC layer turns into the matching status code.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from serving.metrics import Metrics
from serving.model_manager import ModelManager
from serving.model_registry import InvalidInput, ModelRegistry
from serving.request_batcher import DynamicBatcher, QueueFull, describe
from serving.rest_api import ApiError, Limits, Options, servable_not_found

DEFAULT_TIMEOUT_S = 300.0


class ServerCore:
    """The served models, the batcher, the limits and the metrics."""

    def __init__(
        self,
        manager: ModelManager,
        batcher: DynamicBatcher,
        limits: Limits,
        metrics: Metrics | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.manager = manager
        self.batcher = batcher
        self.limits = limits
        self.metrics = metrics
        self.timeout_s = timeout_s
        self.accepted = 0  # predict requests handed to the batcher
        self.answered = 0  # ... and answered with outputs
        self._count_lock = threading.Lock()

    def registry(self, model: str, version: int | None = None) -> ModelRegistry:
        """The registry of ``model``; 404 if it is not configured."""
        try:
            return self.manager.registry(model)
        except KeyError:
            raise servable_not_found(model, version) from None

    def servable(self, model: str, version: int | None = None, label: str | None = None) -> Any:
        """The loaded servable a model spec names; 404 if there is none."""
        registry = self.registry(model, version)
        try:
            return registry.get(version, label)
        except KeyError:
            if label is not None and label not in registry.labels:
                raise ApiError(404, f"Unrecognized servable version label: {label}") from None
            raise servable_not_found(
                model, version if label is None else registry.labels[label]
            ) from None

    def status(
        self, model: str, version: int | None = None, label: str | None = None
    ) -> list[tuple[int, str, str, str]]:
        """``(version, state, error_code, message)`` rows of a model; 404 if none match."""
        registry = self.registry(model, version)
        if label is not None:
            if label not in registry.labels:
                raise ApiError(404, f"Unrecognized servable version label: {label}")
            version = registry.labels[label]
        rows = registry.status(version)
        if not rows:
            which = f"version {version}" if version is not None else "any version"
            raise ApiError(404, f"Could not find {which} of model {model}")
        return rows

    def submit(
        self, servable: Any, signature: str, texts: list[str], options: Options
    ) -> Future[dict[str, list[Any]]]:
        """Queue a prediction; the future gives the outputs as JSON-ready lists."""
        with self._count_lock:
            self.accepted += 1
        return self.batcher.submit((servable, signature, options), texts)

    def _answered(self, outputs: dict[str, list[Any]]) -> dict[str, list[Any]]:
        with self._count_lock:
            self.answered += 1
        return outputs

    async def predict_async(
        self,
        servable: Any,
        signature: str,
        texts: list[str],
        options: Options,
        timeout_s: float | None = None,
    ) -> dict[str, list[Any]]:
        """Outputs of ``signature`` on ``texts``, waiting at most ``timeout_s`` (and never
        longer than the server's own timeout); the wait does not hold a thread."""
        future = self.submit(servable, signature, texts, options)
        wait = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        try:
            return self._answered(
                await asyncio.wait_for(asyncio.wrap_future(future), max(wait, 0.0))
            )
        except Exception as err:
            raise self.failure(err) from None

    @staticmethod
    def failure(err: BaseException) -> ApiError:
        """The ``ApiError`` a failed prediction gives (the batcher logged model errors)."""
        if isinstance(err, ApiError):
            return err
        if isinstance(err, FutureTimeout | asyncio.TimeoutError | TimeoutError):
            return ApiError(504, "The model did not answer in time")
        if isinstance(err, QueueFull):
            return ApiError(429, str(err))
        if isinstance(err, InvalidInput):
            return ApiError(400, f"Prediction failed: {describe(err)}")
        return ApiError(500, f"Prediction failed: {describe(err)}")

    def record(
        self, api: str, protocol: str, model: str, signature: str, status: str, start: float
    ) -> None:
        """Count a request in the metrics, if they are on (predict: with its latency)."""
        if self.metrics is not None:
            seconds = time.monotonic() - start if api == "predict" else None
            self.metrics.record(api, protocol, model, signature, status, seconds)

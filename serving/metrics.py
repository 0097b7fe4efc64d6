"""Prometheus metrics of the server (``--monitoring_config_file``), with ``prometheus_client``.

Exposed in the text exposition format on the REST port at the configured path
(TF Serving's default ``/monitoring/prometheus/metrics``):

* ``nmt_serving_requests_total{model, signature, api, protocol, status}``: requests
  answered, by API (predict, metadata, status, reload) and status code name;
* ``nmt_serving_request_latency_seconds{model, signature, protocol}``: predict latency;
* ``nmt_serving_batch_size``: rows per model call (padding included);
* ``nmt_serving_queue_rows``: rows waiting for a batch when scraped.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS_S = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The server's counters and histograms in a registry of their own."""

    def __init__(self, queue_rows: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "nmt_serving_requests",
            "Requests answered, by model, signature, API, protocol and status code",
            ("model", "signature", "api", "protocol", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "nmt_serving_request_latency_seconds",
            "Predict latency from request received to response ready",
            ("model", "signature", "protocol"),
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "nmt_serving_batch_size",
            "Rows per model call, padding to an allowed batch size included",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_rows = Gauge(
            "nmt_serving_queue_rows", "Rows waiting for a batch", registry=self.registry
        )
        self.queue_rows.set_function(queue_rows)

    def record(
        self,
        api: str,
        protocol: str,
        model: str,
        signature: str,
        status: str,
        seconds: float | None = None,
    ) -> None:
        """Count one answered request; predict requests also give their latency."""
        self.requests.labels(model, signature, api, protocol, status).inc()
        if seconds is not None and status == "OK":
            self.latency.labels(model, signature, protocol).observe(seconds)

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)

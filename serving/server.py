"""Serve translation models over TensorFlow Serving's gRPC and REST APIs, in one process.

``python -m serving.server --model_name=NAME --model_base_path=serving/models/NAME``

gRPC (``--port``, 8500): ``PredictionService.Predict`` / ``GetModelMetadata`` and
``ModelService.GetModelStatus`` / ``HandleReloadConfigRequest``. REST
(``--rest_api_port``, 8501): ``POST /v1/models/NAME[/versions/N|/labels/L]:predict``,
``GET /v1/models/NAME[...]`` (status) and ``.../metadata``. Several models come
from ``--model_config_file``; version folders are polled and loaded while the
current ones keep serving; ``--enable_batching`` batches concurrent requests of
both APIs together. Takes tensorflow_model_server's flags and files
(``serving.server_flags``), so a deployment written for one runs on the other.
Needs only TensorFlow and tensorflow-text. SIGTERM or Ctrl-C: stop accepting,
finish every request in flight, exit 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.startup_logs import configure_logging, import_tensorflow
from serving.metrics import Metrics
from serving.model_manager import ConfigFileWatcher, ModelManager
from serving.request_batcher import DynamicBatcher
from serving.rest_api import Limits
from serving.rest_app import RestServer, make_app
from serving.rest_handler import RestHandler
from serving.server_config import (
    BatchingSettings,
    ConfigFileError,
    ModelEntry,
    read_batching_parameters,
    read_model_config,
    read_monitoring_config,
)
from serving.server_core import ServerCore
from serving.server_flags import FlagError, parse

log = logging.getLogger("serving.server")
GRPC_GRACE_S = 60.0


def run_batch(key: Any, rows: list[Any]) -> dict[str, list[Any]]:
    """Run one batch on the servable, signature and options of its key."""
    servable, signature, options = key
    return servable.run(signature, options, rows)  # type: ignore[no-any-return]


def make_batcher(settings: BatchingSettings) -> DynamicBatcher:
    """The batcher both APIs share; without batching, each request runs on its own."""
    return DynamicBatcher(
        run_batch,
        settings.max_batch_size,
        settings.batch_timeout_s,
        num_threads=settings.num_batch_threads,
        max_queued_rows=settings.max_enqueued_batches * settings.max_batch_size
        if settings.enabled
        else 0,
        allowed_batch_sizes=settings.allowed_batch_sizes,
        pad_row="",
        batching=settings.enabled,
        thread_name=settings.thread_pool_name,
    )


def model_entries(args: argparse.Namespace) -> list[ModelEntry]:
    """The models the flags name: the config file's, or the one base path."""
    if args.model_config_file is not None:
        return read_model_config(args.model_config_file)
    name = args.model_name or args.model_base_path.resolve().name
    return [ModelEntry(name, args.model_base_path)]


@dataclass
class Running:
    """A started server: its parts, and the ports it answers on (REST ``None``: off)."""

    core: ServerCore
    grpc: Any
    grpc_port: int
    rest: RestServer | None
    rest_port: int | None
    watcher: ConfigFileWatcher | None

    def stop(self) -> None:
        """Stop accepting on both APIs, finish the requests in flight, then unload."""
        if self.watcher is not None:
            self.watcher.stop()
        grpc_done = self.grpc.begin_stop(GRPC_GRACE_S)
        if self.rest is not None:
            self.rest.stop()
        grpc_done.result(GRPC_GRACE_S + 10)
        self.grpc.halt()
        self.core.batcher.close()
        self.core.manager.stop()


def start(args: argparse.Namespace) -> Running:
    """Load the models, bind both APIs and start serving (``OSError`` if a port is taken)."""
    from serving.grpc_api import GrpcServer

    batching = (
        read_batching_parameters(args.batching_parameters_file)
        if args.enable_batching
        else BatchingSettings()
    )
    metrics_path = (
        read_monitoring_config(args.monitoring_config_file)
        if args.monitoring_config_file is not None
        else None
    )
    entries = model_entries(args)
    limits = Limits(args.max_instances or batching.max_batch_size, args.max_text_length)
    manager = ModelManager(entries, args.file_system_poll_wait_seconds)
    batcher = make_batcher(batching)
    metrics = Metrics(batcher.queued_rows) if metrics_path is not None else None
    if metrics is not None:
        batcher.on_batch = metrics.batch_size.observe
    core = ServerCore(manager, batcher, limits, metrics, args.rest_api_timeout_in_ms / 1000)
    body_limit = 65536 + limits.max_instances * limits.max_text_length * 6
    try:
        grpc_server = GrpcServer(core, f"{args.host}:{args.port}", body_limit)
        grpc_port = grpc_server.start()
        rest, rest_port = None, None
        if args.rest_api_port != 0:
            rest = RestServer(
                make_app(RestHandler(core), body_limit, metrics_path), args.host, args.rest_api_port
            )
            rest_port = rest.start()[1]
    except OSError:
        batcher.close()
        manager.stop()
        raise
    watcher = None
    if args.model_config_file is not None and args.model_config_file_poll_wait_seconds > 0:
        watcher = ConfigFileWatcher(
            args.model_config_file, manager, args.model_config_file_poll_wait_seconds
        )
        watcher.start()
    return Running(core, grpc_server, grpc_port, rest, rest_port, watcher)


def _configure_threads(args: argparse.Namespace) -> None:
    import tensorflow as tf

    if args.tensorflow_intra_op_parallelism:
        tf.config.threading.set_intra_op_parallelism_threads(args.tensorflow_intra_op_parallelism)
    if args.tensorflow_inter_op_parallelism:
        tf.config.threading.set_inter_op_parallelism_threads(args.tensorflow_inter_op_parallelism)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGTERM or Ctrl-C; 2 on bad flags, files or ports."""
    try:
        args = parse(list(argv) if argv is not None else None, __doc__.split("\n\n")[1])
    except FlagError as err:
        print(f"serving.server: error: {err}", file=sys.stderr)
        return 2
    configure_logging(args.verbose)
    import_tensorflow()
    _configure_threads(args)
    try:
        running = start(args)
    except (ConfigFileError, OSError) as err:
        print(f"serving.server: error: {err}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.set())
    manager = running.core.manager
    served = {name: manager.registry(name).versions() for name in manager.names()}
    log.info("serving %s", ", ".join(f"{name} (versions {v})" for name, v in served.items()))
    log.info("gRPC API at %s:%d", args.host, running.grpc_port)
    if running.rest_port is not None:
        log.info("REST API at http://%s:%d", args.host, running.rest_port)
    while not stopping.wait(1.0):
        pass
    log.info("shutting down: finishing the requests in flight")
    running.stop()
    core = running.core
    log.info("predict requests: %d accepted, %d answered", core.accepted, core.answered)
    sizes = list(running.core.batcher.batch_sizes)
    if sizes:
        mean = sum(sizes) / len(sizes)
        log.info("batch sizes: %d batches, mean %.1f, max %d", len(sizes), mean, max(sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())

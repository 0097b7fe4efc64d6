"""tensorflow_model_server's command-line flags, with its meanings, for ``serving.server``.

Flags are written as TF Serving writes them (``--port=8500``, ``--enable_batching``
or ``--enable_batching=true``). TF Serving flags that make no sense for this
server are refused with one line naming the flag, never silently ignored. Flags
of this server alone: ``--host`` (loopback unless set), ``--max_instances``,
``--max_text_length`` and ``--verbose``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# tensorflow_model_server flags this server does not take, and why.
REFUSED = {
    "grpc_socket_path": "gRPC over a UNIX socket is not offered",
    "rest_api_num_threads": "the REST API is asynchronous (uvicorn): it has no thread pool",
    "grpc_max_threads": "the gRPC API is asynchronous (grpc.aio): it has no thread pool",
    "rest_api_enable_cors_support": "CORS is not offered",
    "allow_version_labels_for_unavailable_models": "labels may always name any version",
    "num_load_threads": "versions load one at a time",
    "num_unload_threads": "versions unload one at a time",
    "max_num_load_retries": "a failed version is retried when its files change",
    "load_retry_interval_micros": "a failed version is retried when its files change",
    "flush_filesystem_caches": "there is no file system cache to flush",
    "tensorflow_session_parallelism": "use --tensorflow_intra_op_parallelism",
    "ssl_config_file": "TLS is not offered: put a TLS-terminating proxy in front",
    "use_alts_credentials": "ALTS is not offered",
    "platform_config_file": "only the 'tensorflow' platform is served",
    "per_process_gpu_memory_fraction": "GPU memory settings are not offered",
    "saved_model_tags": "the 'serve' tag is always loaded",
    "grpc_channel_arguments": "gRPC channel arguments are not offered",
    "enable_model_warmup": "warm-up records are not replayed",
    "remove_unused_fields_from_bundle_metagraph": "the meta graph is not trimmed",
    "prefer_tflite_model": "TensorFlow Lite models are not served",
    "num_tflite_pools": "TensorFlow Lite models are not served",
    "num_tflite_interpreters_per_pool": "TensorFlow Lite models are not served",
    "num_tflite_interpreters": "TensorFlow Lite models are not served",
    "enable_signature_method_name_check": "signatures are checked by their inputs",
    "xla_cpu_compilation_enabled": "XLA is not offered",
    "enable_profiler": "the profiler is not offered",
    "thread_pool_factory_config_file": "thread pools are not configurable",
    "mixed_precision": "the export's own precision is used",
    "skip_initialize_tpu": "TPUs are not used",
    "enable_grpc_healthcheck_service": "use ModelService.GetModelStatus",
    "model_base_path_prefix": "give --model_base_path",
}


class FlagError(ValueError):
    """A command line this server cannot run with."""


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parser(description: str) -> argparse.ArgumentParser:
    """The flags, with TF Serving's names and defaults (REST on 8501 as in its image)."""
    result = argparse.ArgumentParser(
        prog="python -m serving.server",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = result.add_argument
    add("--port", type=int, default=8500, help="gRPC port (0: any free port)")
    add("--rest_api_port", type=int, default=8501, help="REST port; 0 turns REST off")
    add("--rest_api_timeout_in_ms", type=int, default=30000, help="longest REST predict wait")
    add("--model_name", help="model name (default: the base path's folder name)")
    add("--model_base_path", type=Path, help="folder with versions 1/, 2/, ...")
    add("--model_config_file", type=Path, help="text-format ModelServerConfig")
    add(
        "--model_config_file_poll_wait_seconds",
        type=float,
        default=0.0,
        help="re-read --model_config_file this often (0: never)",
    )
    add(
        "--file_system_poll_wait_seconds",
        type=float,
        default=1.0,
        help="look for new versions this often",
    )
    add(
        "--enable_batching",
        type=_bool,
        nargs="?",
        const=True,
        default=False,
        help="batch concurrent requests (--batching_parameters_file)",
    )
    add("--batching_parameters_file", type=Path, help="text-format BatchingParameters")
    add("--monitoring_config_file", type=Path, help="text-format MonitoringConfig")
    add("--tensorflow_intra_op_parallelism", type=int, default=0, help="0: TensorFlow's own")
    add("--tensorflow_inter_op_parallelism", type=int, default=0, help="0: TensorFlow's own")
    add("--host", default="127.0.0.1", help="address to bind both APIs (default: loopback)")
    add("--max_instances", type=int, help="texts per request (default: the batch size)")
    add("--max_text_length", type=int, default=4096, help="characters per text")
    add("--verbose", action="store_true", help="also show other libraries' and native logs")
    return result


def parse(argv: list[str] | None, description: str) -> argparse.Namespace:
    """Parsed and cross-checked flags; ``FlagError`` for refused or conflicting ones."""
    args, unknown = parser(description).parse_known_args(argv)
    for item in unknown:
        name = item.lstrip("-").split("=", 1)[0]
        if item.startswith("--") and name in REFUSED:
            raise FlagError(f"--{name} is not supported by this server: {REFUSED[name]}")
    if unknown:
        parser(description).parse_args(argv)  # argparse's own error for unknown flags
    if (args.model_config_file is None) == (args.model_base_path is None):
        raise FlagError("give exactly one of --model_base_path and --model_config_file")
    if args.batching_parameters_file is not None and not args.enable_batching:
        raise FlagError("--batching_parameters_file needs --enable_batching")
    if args.model_config_file is not None and args.model_name is not None:
        raise FlagError("--model_name goes with --model_base_path, not --model_config_file")
    return args

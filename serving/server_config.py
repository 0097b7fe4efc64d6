"""tensorflow_model_server's configuration files, read with protobuf's ``text_format``.

* ``--model_config_file``: a text-format ``ModelServerConfig`` (the message of
  ``tensorflow-serving-api``): the models, their base paths, version policies
  and version labels.
* ``--batching_parameters_file``: a text-format ``BatchingParameters``.
* ``--monitoring_config_file``: a text-format ``MonitoringConfig``.

``tensorflow-serving-api`` ships the first message but not the other two, so
``serving.config_messages`` builds them from TF Serving's field names and
numbers. Every error names the file and, for syntax errors, the line.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import text_format

from serving.config_messages import batching_parameters_class, monitoring_config_class

DEFAULT_MAX_BATCH_SIZE = 64
DEFAULT_METRICS_PATH = "/monitoring/prometheus/metrics"


class ConfigFileError(ValueError):
    """A configuration file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class VersionPolicy:
    """Which version folders to serve: ``latest`` N, ``all`` or ``specific`` ones."""

    kind: str = "latest"
    num_versions: int = 1
    versions: tuple[int, ...] = ()

    def select(self, on_disk: list[int]) -> list[int]:
        """The versions to serve among ``on_disk`` (ascending)."""
        if self.kind == "all":
            return list(on_disk)
        if self.kind == "specific":
            return [v for v in on_disk if v in self.versions]
        return list(on_disk[-self.num_versions :])


@dataclass(frozen=True)
class ModelEntry:
    """One model of the server's configuration."""

    name: str
    base_path: Path
    policy: VersionPolicy = VersionPolicy()
    labels: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchingSettings:
    """How concurrent requests share model calls (TF Serving's ``BatchingParameters``).

    ``enabled`` false: every request runs on its own, ``num_batch_threads`` at a time.
    """

    enabled: bool = False
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    batch_timeout_s: float = 0.0
    num_batch_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_enqueued_batches: int = 10
    allowed_batch_sizes: tuple[int, ...] = ()
    thread_pool_name: str = "model_server_batch_threads"


def _parse(path: Path, message: Any, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigFileError(f"{path}: cannot read the {what}: {err}") from None
    try:
        return text_format.Parse(text, message)
    except text_format.ParseError as err:  # its message starts with line:column
        raise ConfigFileError(f"{path}:{err}") from None


def read_model_config(path: Path) -> list[ModelEntry]:
    """The models of a text-format ``ModelServerConfig`` (``model_config_list`` only)."""
    from tensorflow_serving.config import model_server_config_pb2

    config = _parse(path, model_server_config_pb2.ModelServerConfig(), "model config")
    return model_entries(config, str(path))


def model_entries(config: Any, source: str) -> list[ModelEntry]:
    """The models of a ``ModelServerConfig`` message read from ``source``."""
    if config.WhichOneof("config") == "custom_model_config":
        raise ConfigFileError(f"{source}: custom_model_config is not supported")
    entries = [_model_entry(source, model) for model in config.model_config_list.config]
    names = [entry.name for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigFileError(f"{source}: model name(s) listed twice: {', '.join(duplicates)}")
    if not entries:
        raise ConfigFileError(f"{source}: model_config_list lists no model")
    return entries


def _model_entry(path: str, model: Any) -> ModelEntry:
    where = f"{path}: model {model.name!r}"
    if not model.name or not model.base_path:
        raise ConfigFileError(f"{path}: every model needs a name and a base_path")
    if model.model_platform not in ("", "tensorflow"):
        raise ConfigFileError(f"{where}: model_platform must be 'tensorflow'")
    if model.HasField("logging_config"):
        raise ConfigFileError(f"{where}: logging_config (request logging) is not supported")
    labels = dict(model.version_labels)
    if any(version < 1 for version in labels.values()):
        raise ConfigFileError(f"{where}: version labels must point to versions >= 1")
    return ModelEntry(model.name, Path(model.base_path), _policy(where, model), labels)


def _policy(where: str, model: Any) -> VersionPolicy:
    policy = model.model_version_policy
    kind = policy.WhichOneof("policy_choice") if model.HasField("model_version_policy") else None
    if kind is None:
        return VersionPolicy()
    if kind == "all":
        return VersionPolicy("all")
    if kind == "specific":
        versions = tuple(sorted(set(policy.specific.versions)))
        if not versions:
            raise ConfigFileError(f"{where}: the specific policy lists no versions")
        return VersionPolicy("specific", versions=versions)
    num = policy.latest.num_versions or 1
    return VersionPolicy("latest", num_versions=num)


def read_batching_parameters(path: Path | None) -> BatchingSettings:
    """``BatchingSettings`` from a text-format ``BatchingParameters`` file (``None``:
    the defaults), validated as TF Serving validates them."""
    if path is None:
        return BatchingSettings(enabled=True)
    params = _parse(path, batching_parameters_class()(), "batching parameters")
    defaults = BatchingSettings(enabled=True)

    def value(name: str, default: Any) -> Any:
        return getattr(params, name).value if params.HasField(name) else default

    settings = BatchingSettings(
        enabled=True,
        max_batch_size=value("max_batch_size", defaults.max_batch_size),
        batch_timeout_s=value("batch_timeout_micros", 0) / 1e6,
        num_batch_threads=value("num_batch_threads", defaults.num_batch_threads),
        max_enqueued_batches=value("max_enqueued_batches", defaults.max_enqueued_batches),
        allowed_batch_sizes=tuple(params.allowed_batch_sizes),
        thread_pool_name=value("thread_pool_name", defaults.thread_pool_name),
    )
    _check_batching(path, settings)
    return settings


def _check_batching(path: Path, settings: BatchingSettings) -> None:
    for name in ("max_batch_size", "num_batch_threads", "max_enqueued_batches"):
        if getattr(settings, name) < 1:
            raise ConfigFileError(f"{path}: {name} must be at least 1")
    if settings.batch_timeout_s < 0:
        raise ConfigFileError(f"{path}: batch_timeout_micros must not be negative")
    sizes = settings.allowed_batch_sizes
    if sizes:
        if any(b <= a for a, b in itertools.pairwise(sizes)) or sizes[0] < 1:
            raise ConfigFileError(f"{path}: allowed_batch_sizes must be increasing and >= 1")
        if sizes[-1] != settings.max_batch_size:
            raise ConfigFileError(
                f"{path}: the last allowed_batch_sizes entry ({sizes[-1]}) must equal "
                f"max_batch_size ({settings.max_batch_size})"
            )


def read_monitoring_config(path: Path) -> str | None:
    """The Prometheus metrics path of a text-format ``MonitoringConfig`` (``None``: off)."""
    config = _parse(path, monitoring_config_class()(), "monitoring config")
    prometheus = config.prometheus_config
    if not prometheus.enable:
        return None
    metrics_path = prometheus.path or DEFAULT_METRICS_PATH
    if not metrics_path.startswith("/") or metrics_path.startswith("/v1/"):
        raise ConfigFileError(f"{path}: the metrics path must start with / and not with /v1/")
    return metrics_path

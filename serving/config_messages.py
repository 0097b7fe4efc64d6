"""Two TF Serving configuration messages that ``tensorflow-serving-api`` does not ship.

``BatchingParameters`` (``session_bundle_config.proto``) and ``MonitoringConfig``
(``monitoring_config.proto``) are built here as protobuf descriptors with TF
Serving's package, field names, numbers and types, so that ``text_format`` reads
the very files tensorflow_model_server reads, and rejects what it would reject.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

_PACKAGE = "tensorflow.serving"
_F = descriptor_pb2.FieldDescriptorProto

# (name, number, label, type, type_name) as in TF Serving's .proto files.
_BATCHING_FIELDS = (
    ("max_batch_size", 1, _F.LABEL_OPTIONAL, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
    ("batch_timeout_micros", 2, _F.LABEL_OPTIONAL, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
    ("max_enqueued_batches", 3, _F.LABEL_OPTIONAL, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
    ("num_batch_threads", 4, _F.LABEL_OPTIONAL, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
    ("thread_pool_name", 5, _F.LABEL_OPTIONAL, _F.TYPE_MESSAGE, ".google.protobuf.StringValue"),
    ("allowed_batch_sizes", 6, _F.LABEL_REPEATED, _F.TYPE_INT64, ""),
    ("pad_variable_length_inputs", 7, _F.LABEL_OPTIONAL, _F.TYPE_BOOL, ""),
)
_PROMETHEUS_FIELDS = (
    ("enable", 1, _F.LABEL_OPTIONAL, _F.TYPE_BOOL, ""),
    ("path", 2, _F.LABEL_OPTIONAL, _F.TYPE_STRING, ""),
)
_MONITORING_FIELDS = (
    (
        "prometheus_config",
        1,
        _F.LABEL_OPTIONAL,
        _F.TYPE_MESSAGE,
        f".{_PACKAGE}.PrometheusConfig",
    ),
)


def _message(file: descriptor_pb2.FileDescriptorProto, name: str, fields: tuple[Any, ...]) -> None:
    message = file.message_type.add(name=name)
    for field_name, number, label, kind, type_name in fields:
        added = message.field.add(name=field_name, number=number, label=label, type=kind)
        if type_name:
            added.type_name = type_name


@functools.cache
def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    file = descriptor_pb2.FileDescriptorProto(
        name="nmt_serving/tf_serving_config.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    _message(file, "BatchingParameters", _BATCHING_FIELDS)
    _message(file, "PrometheusConfig", _PROMETHEUS_FIELDS)
    _message(file, "MonitoringConfig", _MONITORING_FIELDS)
    pool.Add(file)
    return pool


def batching_parameters_class() -> Any:
    """The message class of ``tensorflow.serving.BatchingParameters``."""
    return message_factory.GetMessageClass(
        _pool().FindMessageTypeByName(f"{_PACKAGE}.BatchingParameters")
    )


def monitoring_config_class() -> Any:
    """The message class of ``tensorflow.serving.MonitoringConfig``."""
    return message_factory.GetMessageClass(
        _pool().FindMessageTypeByName(f"{_PACKAGE}.MonitoringConfig")
    )

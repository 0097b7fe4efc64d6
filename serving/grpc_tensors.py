"""TensorProtos of a gRPC ``PredictRequest`` to texts and options, and outputs back.

Inputs are checked as TF Serving checks them against the signature: ``text``
must be ``DT_STRING`` of shape ``[B]``, each option a scalar of the dtype the
signature declares (``tf.make_tensor_proto(5)`` is ``DT_INT32``,
``tf.make_tensor_proto(0.6)`` is ``DT_FLOAT``). Violations are ``ApiError(400)``
(``INVALID_ARGUMENT``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from core.contract import TEXT
from serving.rest_api import ApiError, check_option, check_unicode


def _array(name: str, proto: Any) -> np.ndarray:
    import tensorflow as tf

    try:
        return tf.make_ndarray(proto)  # type: ignore[no-any-return]
    except (TypeError, ValueError) as err:
        raise ApiError(400, f"input '{name}': not a valid TensorProto: {err}") from None


def _dtype_name(dtype: Any) -> str:
    """TF Serving's name of a dtype (``DT_FLOAT``, ``DT_INT32``, ...)."""
    import tensorflow as tf
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Name(tf.as_dtype(dtype).as_datatype_enum)


def read_texts(proto: Any) -> list[str]:
    """The texts of the ``text`` input: ``DT_STRING``, shape ``[B]``, UTF-8."""
    import tensorflow as tf

    if proto.dtype != tf.string.as_datatype_enum:
        raise ApiError(400, f"input '{TEXT}' must be DT_STRING, got {_dtype_name(proto.dtype)}")
    dims = [dim.size for dim in proto.tensor_shape.dim]
    if len(dims) == 1 and len(proto.string_val) == dims[0]:
        values = list(proto.string_val)  # the usual layout, read without a NumPy copy
    else:
        array = _array(TEXT, proto)
        if array.ndim != 1:
            raise ApiError(400, f"input '{TEXT}' must have shape [batch], got {list(array.shape)}")
        values = array.tolist()
    texts = []
    for i, value in enumerate(values):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ApiError(400, f"{TEXT}[{i}]: not valid UTF-8: {err}") from None
        texts.append(check_unicode(text, f"{TEXT}[{i}]"))
    return texts


def read_option(name: str, proto: Any, dtype: Any) -> int | float:
    """A scalar option input of the signature's ``dtype``, within its range."""
    if proto.dtype != dtype.as_datatype_enum:
        expected, got = _dtype_name(dtype), _dtype_name(proto.dtype)
        raise ApiError(400, f"input '{name}' must be {expected}, got {got}")
    array = _array(name, proto)
    if array.ndim != 0:
        raise ApiError(400, f"input '{name}' must be a scalar, got shape {list(array.shape)}")
    return check_option(name, array.item())


def read_inputs(
    inputs: Mapping[str, Any],
    dtypes: Mapping[str, Any],
    defaults: Mapping[str, int | float],
) -> tuple[list[str], tuple[tuple[str, int | float], ...]]:
    """Texts and options (sorted by name, defaults filled in) of a request's inputs."""
    unknown = sorted(set(inputs) - set(dtypes))
    if unknown:
        raise ApiError(400, f"input(s) not in the signature: {', '.join(unknown)}")
    if TEXT not in inputs:
        raise ApiError(400, f"missing input '{TEXT}'")
    texts = read_texts(inputs[TEXT])
    options = []
    for name in sorted(set(dtypes) - {TEXT}):
        if name in inputs:
            options.append((name, read_option(name, inputs[name], dtypes[name])))
        else:
            options.append((name, check_option(name, defaults.get(name))))
    return texts, tuple(options)


def output_proto(values: list[Any], dtype_name: str, rows: int) -> Any:
    """One output (JSON-ready values, one per row) as a TensorProto of ``dtype_name``:
    strings in ``string_val``, numbers in ``tensor_content``, as ``make_tensor_proto``
    lays them out (built directly: it is the per-request cost of gRPC)."""
    import tensorflow as tf
    from tensorflow.core.framework import tensor_pb2

    dtype = tf.as_dtype(dtype_name[3:].lower()) if dtype_name.startswith("DT_") else None
    proto = tensor_pb2.TensorProto()
    if dtype == tf.string or (dtype is None and _holds_text(values)):
        shape = list(np.shape(np.array(values, dtype=object))) if rows else [0]
        proto.dtype = tf.string.as_datatype_enum
        proto.string_val.extend(text.encode("utf-8") for text in _flat(values))
    else:
        array = np.asarray(values, dtype=dtype.as_numpy_dtype if dtype is not None else None)
        shape = list(array.shape) if rows else [0]
        proto.dtype = tf.as_dtype(array.dtype).as_datatype_enum
        proto.tensor_content = array.tobytes()
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


def _flat(values: list[Any]) -> list[Any]:
    return [x for row in values for x in _flat(row)] if isinstance(values, list) else [values]


def _holds_text(values: Any) -> bool:
    while isinstance(values, list) and values:
        values = values[0]
    return isinstance(values, str)

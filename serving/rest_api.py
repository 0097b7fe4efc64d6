"""TensorFlow Serving's REST API for a translation model, as pure functions.

Routing, request parsing and validation, and response shaping, with no I/O
and no TensorFlow: every function takes plain Python values and either returns
plain Python values or raises ``ApiError`` with the HTTP status to send. The
JSON shapes follow https://www.tensorflow.org/tfx/serving/api_rest.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.contract import SERVING_DEFAULT, TEXT
from core.search_options import OPTION_RANGES

# The model metadata field of a version's blessing record (the export gate's decision).
BLESSING = "blessing"
_ROUTE = re.compile(
    r"^/v1/models/(?P<model>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>[A-Za-z]+))?/?$"
)

Options = tuple[tuple[str, int | float], ...]


class ApiError(Exception):
    """An error to send as ``{"error": message}`` with HTTP ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Route:
    """What a URL asks for: ``kind`` is ``status``, ``metadata`` or ``predict``; a
    version is named by number or by label (``/labels/NAME``), or neither."""

    kind: str
    model: str
    version: int | None
    label: str | None = None


@dataclass(frozen=True)
class Limits:
    """Per-request limits; exceeding one is a client error (HTTP 400)."""

    max_instances: int = 64
    max_text_length: int = 4096


@dataclass(frozen=True)
class PredictRequest:
    """A validated predict request: the texts, the scalar options and the response format."""

    signature_name: str
    texts: list[str]
    options: Options
    columnar: bool


def parse_route(method: str, path: str) -> Route:
    """Map ``GET``/``POST`` and a URL path (query string ignored) to a ``Route``."""
    match = _ROUTE.match(path.split("?", 1)[0])
    if match is None:
        raise ApiError(404, f"Malformed request: {method} {path}")
    version = match["version"]
    if version is not None and not version.isdigit():
        raise ApiError(404, f"Malformed request: {method} {path}: version must be an integer")
    number = int(version) if version is not None else None
    if match["verb"] is not None:
        if method != "POST":
            raise ApiError(405, f"Use POST for :{match['verb']} requests")
        if match["verb"] in ("classify", "regress"):
            raise ApiError(501, f"The :{match['verb']} API is not implemented: use :predict")
        if match["verb"] != "predict":
            raise ApiError(400, f"This model supports only :predict, not :{match['verb']}")
        return Route("predict", match["model"], number, match["label"])
    if method != "GET":
        raise ApiError(405, f"Use GET for model {'metadata' if match['metadata'] else 'status'}")
    kind = "metadata" if match["metadata"] else "status"
    return Route(kind, match["model"], number, match["label"])


def servable_not_found(model: str, version: int | None) -> ApiError:
    """TF Serving's 404 for an unknown model or version."""
    spec = f"Specific({model}, {version})" if version is not None else f"Latest({model})"
    return ApiError(404, f"Servable not found for request: {spec}")


def parse_predict(
    body: bytes,
    signatures: Mapping[str, Collection[str]],
    limits: Limits,
    defaults: Mapping[str, int | float],
) -> PredictRequest:
    """Validate a predict body against ``signatures`` (name -> input names).

    Every signature has the batched string input ``text``; the others are the
    scalar options of ``OPTION_RANGES``, filled from ``defaults`` when absent.
    """
    request = _load_json_object(body)
    name = request.get("signature_name", SERVING_DEFAULT)
    if not isinstance(name, str):
        raise ApiError(400, "'signature_name' must be a string")
    if name not in signatures:
        raise ApiError(404, f'Serving signature name: "{name}" not found in signature def')
    allowed = set(signatures[name])
    unknown = set(request) - {"signature_name", "instances", "inputs"}
    if unknown:
        raise ApiError(400, f"Unknown request field(s): {', '.join(sorted(unknown))}")
    if ("instances" in request) == ("inputs" in request):
        raise ApiError(400, "Request must have exactly one of 'instances' or 'inputs'")
    if "instances" in request:
        texts, given = _row_format(request["instances"], allowed)
    else:
        texts, given = _columnar_format(request["inputs"], allowed)
    check_texts(texts, limits)
    options = {key: given.get(key, defaults.get(key)) for key in sorted(allowed - {TEXT})}
    checked = tuple((key, check_option(key, value)) for key, value in options.items())
    return PredictRequest(name, texts, checked, "inputs" in request)


def _load_json_object(body: bytes) -> dict[str, Any]:
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ApiError(400, f"JSON Parse error: {err}") from None
    if not isinstance(request, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return request


def _text(value: Any, where: str) -> str:
    """A string input; ``{"b64": ...}`` holds base64 of UTF-8 bytes, as in TF Serving."""
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise ApiError(400, f"{where}: invalid b64 UTF-8 text: {err}") from None
    if not isinstance(value, str):
        raise ApiError(400, f"{where}: expected a string, got {type(value).__name__}")
    return check_unicode(value, where)


def check_unicode(text: str, where: str) -> str:
    """``text`` if it encodes as UTF-8; JSON's ``\\ud800`` escapes can give lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(text[err.start])
        raise ApiError(
            400, f"{where}: not valid Unicode text: lone surrogate U+{code:04X} at {err.start}"
        ) from None
    return text


def _row_format(instances: Any, allowed: set[str]) -> tuple[list[str], dict[str, Any]]:
    """``instances``: strings, or objects with ``text`` and the same options in each."""
    if not isinstance(instances, list):
        raise ApiError(400, "'instances' must be a list")
    texts: list[str] = []
    options: dict[str, Any] | None = None
    for i, item in enumerate(instances):
        if isinstance(item, dict) and set(item) != {"b64"}:
            _check_names(item, allowed, f"instances[{i}]")
            if TEXT not in item:
                raise ApiError(400, f"instances[{i}]: missing input 'text'")
            texts.append(_text(item[TEXT], f"instances[{i}].text"))
            these = {key: value for key, value in item.items() if key != TEXT}
        else:
            texts.append(_text(item, f"instances[{i}]"))
            these = {}
        if options is not None and these != options:
            raise ApiError(400, "All instances must give the same options; send one request each")
        options = these
    return texts, options or {}


def _columnar_format(inputs: Any, allowed: set[str]) -> tuple[list[str], dict[str, Any]]:
    """``inputs``: a list of texts, or an object with ``text`` (a list) and scalar options."""
    if isinstance(inputs, list):
        inputs = {TEXT: inputs}
    if not isinstance(inputs, dict):
        raise ApiError(400, "'inputs' must be a list of strings or an object")
    _check_names(inputs, allowed, "inputs")
    if TEXT not in inputs:
        raise ApiError(400, "inputs: missing input 'text'")
    if not isinstance(inputs[TEXT], list):
        raise ApiError(400, "inputs.text must be a list of strings (shape [batch])")
    texts = [_text(value, f"inputs.text[{i}]") for i, value in enumerate(inputs[TEXT])]
    return texts, {key: value for key, value in inputs.items() if key != TEXT}


def _check_names(item: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(item) - allowed
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ApiError(400, f"{where}: input(s) not in the signature: {names}")


def check_texts(texts: list[str], limits: Limits) -> None:
    """400 if ``texts`` break ``limits``."""
    if len(texts) > limits.max_instances:
        raise ApiError(
            400, f"Batch of {len(texts)} texts exceeds the limit of {limits.max_instances}"
        )
    for i, text in enumerate(texts):
        if len(text) > limits.max_text_length:
            raise ApiError(
                400,
                f"Text {i} has {len(text)} characters; the limit is {limits.max_text_length}",
            )


def check_option(name: str, value: Any) -> int | float:
    """``value`` of option ``name`` within its ``OPTION_RANGES`` (400 otherwise)."""
    kind, low, high = OPTION_RANGES[name]
    if value is None:
        raise ApiError(400, f"Missing input '{name}'")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"'{name}' must be a number (a scalar), got {type(value).__name__}")
    if kind is int and not float(value).is_integer():
        raise ApiError(400, f"'{name}' must be an integer, got {value}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ApiError(400, f"'{name}' must be between {low} and {high}, got {value}")
    return int(value) if kind is int else float(value)


def predict_response(outputs: Mapping[str, list[Any]], columnar: bool) -> dict[str, Any]:
    """``{"outputs": {name: column}}`` for columnar requests, else
    ``{"predictions": [{name: value}, ...]}`` with one object per instance."""
    if columnar:
        return {"outputs": dict(outputs)}
    names = list(outputs)
    rows = len(outputs[names[0]]) if names else 0
    return {"predictions": [{name: outputs[name][i] for name in names} for i in range(rows)]}


def status_response(versions: Sequence[tuple[int, str, str, str]]) -> dict[str, Any]:
    """``GetModelStatusResponse`` for ``(version, state, error_code, error_message)`` rows."""
    return {
        "model_version_status": [
            {
                "version": str(version),
                "state": state,
                "status": {"error_code": code, "error_message": message},
            }
            for version, state, code, message in versions
        ]
    }


def metadata_response(
    model: str,
    version: int,
    signature_defs: Mapping[str, Any],
    blessing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``GetModelMetadataResponse`` with the SignatureDefMap as TF Serving writes it, and the
    version's blessing record (``BLESSING``) when it has one."""
    metadata: dict[str, Any] = {"signature_def": {"signature_def": dict(signature_defs)}}
    if blessing is not None:
        metadata[BLESSING] = dict(blessing)
    return {
        "model_spec": {"name": model, "signature_name": "", "version": str(version)},
        "metadata": metadata,
    }


def error_body(message: str) -> dict[str, str]:
    """TF Serving's error object."""
    return {"error": message}

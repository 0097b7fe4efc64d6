"""Request parsing and response shaping of the TF Serving REST API, without a server."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from serving.rest_api import (
    ApiError,
    Limits,
    Route,
    error_body,
    metadata_response,
    parse_predict,
    parse_route,
    predict_response,
    servable_not_found,
    status_response,
)

OPTIONS = ("alpha", "beam_size", "max_length_a", "max_length_b")
SIGNATURES = {
    "serving_default": ("text",),
    "translate_with_options": ("text", *OPTIONS),
    "nbest": ("text", *OPTIONS),
}
DEFAULTS = {"beam_size": 3, "alpha": 0.6, "max_length_a": 1.5, "max_length_b": 5}
LIMITS = Limits(max_instances=4, max_text_length=20)


def parse(request: Any, limits: Limits = LIMITS) -> Any:
    body = request if isinstance(request, bytes) else json.dumps(request).encode()
    return parse_predict(body, SIGNATURES, limits, DEFAULTS)


def fails(request: Any, status: int, fragment: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse(request)
    assert caught.value.status == status
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/v1/models/m", Route("status", "m", None)),
        ("GET", "/v1/models/m/versions/12", Route("status", "m", 12)),
        ("GET", "/v1/models/m/metadata", Route("metadata", "m", None)),
        ("GET", "/v1/models/m/versions/3/metadata", Route("metadata", "m", 3)),
        ("POST", "/v1/models/m:predict", Route("predict", "m", None)),
        ("POST", "/v1/models/m/versions/2:predict", Route("predict", "m", 2)),
        ("POST", "/v1/models/m:predict?x=1", Route("predict", "m", None)),
    ],
)
def test_routes(method: str, path: str, route: Route) -> None:
    assert parse_route(method, path) == route


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/v2/models/m", 404),
        ("GET", "/v1/models/m/versions/abc", 404),
        ("POST", "/v1/models/m/versions/x:predict", 404),
        ("GET", "/v1/models/m:predict", 405),
        ("POST", "/v1/models/m", 405),
        ("POST", "/v1/models/m:classify", 501),
        ("POST", "/v1/models/m:regress", 501),
    ],
)
def test_bad_routes(method: str, path: str, status: int) -> None:
    with pytest.raises(ApiError) as caught:
        parse_route(method, path)
    assert caught.value.status == status


def test_servable_not_found_uses_tf_serving_wording() -> None:
    assert servable_not_found("half", None).message.endswith("Latest(half)")
    assert servable_not_found("m", 3).message.endswith("Specific(m, 3)")
    assert servable_not_found("m", 3).status == 404


def test_row_format_strings_objects_and_b64() -> None:
    b64 = base64.b64encode("¿qué?".encode()).decode()
    request = parse({"instances": ["a b", {"text": "c"}, {"b64": b64}]})
    assert request.texts == ["a b", "c", "¿qué?"]
    assert request.signature_name == "serving_default"
    assert request.options == () and not request.columnar


def test_row_format_options_fill_in_defaults() -> None:
    request = parse({"signature_name": "nbest", "instances": [{"text": "a", "beam_size": 5}] * 2})
    assert dict(request.options) == {**DEFAULTS, "beam_size": 5}
    assert isinstance(dict(request.options)["max_length_a"], float)


def test_columnar_format_list_and_object() -> None:
    assert parse({"inputs": ["x", "y"]}).texts == ["x", "y"]
    request = parse(
        {
            "signature_name": "translate_with_options",
            "inputs": {"text": ["x"], "beam_size": 1, "alpha": 0, "max_length_b": 7.0},
        }
    )
    assert request.columnar and request.texts == ["x"]
    assert dict(request.options) == {**DEFAULTS, "beam_size": 1, "alpha": 0.0, "max_length_b": 7}
    assert isinstance(dict(request.options)["max_length_b"], int)


def test_empty_instances_are_allowed() -> None:
    assert parse({"instances": []}).texts == []


@pytest.mark.parametrize(
    ("request_body", "status", "fragment"),
    [
        (b"{not json", 400, "JSON Parse error"),
        (b"\xff\xfe", 400, "JSON Parse error"),
        (b"[1, 2]", 400, "must be a JSON object"),
        ({}, 400, "exactly one of 'instances' or 'inputs'"),
        ({"instances": ["a"], "inputs": ["a"]}, 400, "exactly one of"),
        ({"instances": "a"}, 400, "'instances' must be a list"),
        ({"instances": [1]}, 400, "instances[0]: expected a string, got int"),
        ({"instances": [None]}, 400, "expected a string"),
        ({"instances": [["a"]]}, 400, "expected a string, got list"),
        ({"instances": [{"b64": "!!"}]}, 400, "invalid b64"),
        ({"instances": [{"b64": base64.b64encode(b"\xff").decode()}]}, 400, "invalid b64"),
        ({"instances": [{"txt": "a"}]}, 400, "not in the signature: txt"),
        ({"instances": [{"beam_size": 2}]}, 400, "input(s) not in the signature: beam_size"),
        ({"instances": ["a"], "examples": []}, 400, "Unknown request field(s): examples"),
        ({"signature_name": 3, "instances": ["a"]}, 400, "must be a string"),
        ({"signature_name": "nope", "instances": ["a"]}, 404, '"nope" not found'),
        ({"inputs": "a"}, 400, "'inputs' must be a list of strings or an object"),
        ({"inputs": {"beam_size": 2}}, 400, "input(s) not in the signature"),
        ({"inputs": {"text": "a"}}, 400, "inputs.text must be a list"),
        ({"inputs": [3]}, 400, "inputs.text[0]: expected a string"),
        ({"instances": ["a"] * 5}, 400, "Batch of 5 texts exceeds the limit of 4"),
        ({"inputs": ["x" * 21]}, 400, "Text 0 has 21 characters; the limit is 20"),
        # Valid JSON, but a lone surrogate is no text: it fails here, before any batch.
        (b'{"instances": ["a", "\\ud800 cat"]}', 400, "instances[1]: not valid Unicode"),
        (b'{"inputs": {"text": ["\\udfff"]}}', 400, "lone surrogate U+DFFF at 0"),
        ({"instances": [{"text": "x\udc80"}]}, 400, "instances[0].text: not valid Unicode"),
    ],
)
def test_request_errors(request_body: Any, status: int, fragment: str) -> None:
    fails(request_body, status, fragment)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"beam_size": "5"}, "'beam_size' must be a number"),
        ({"beam_size": True}, "'beam_size' must be a number"),
        ({"beam_size": [5]}, "must be a number (a scalar)"),
        ({"beam_size": 2.5}, "'beam_size' must be an integer"),
        ({"beam_size": 0}, "'beam_size' must be between 1 and 64"),
        ({"beam_size": 65}, "between 1 and 64"),
        ({"alpha": float("nan")}, "'alpha' must be between"),
        ({"max_length_a": -1}, "'max_length_a' must be between"),
        ({"max_length_b": 5000}, "'max_length_b' must be between 0 and 1024"),
    ],
)
def test_option_errors(options: dict[str, Any], fragment: str) -> None:
    fails({"signature_name": "nbest", "inputs": {"text": ["a"], **options}}, 400, fragment)


def test_instances_must_agree_on_options() -> None:
    instances = [{"text": "a", "beam_size": 2}, {"text": "b", "beam_size": 3}]
    fails({"signature_name": "nbest", "instances": instances}, 400, "same options")
    fails({"signature_name": "nbest", "instances": [instances[0], "b"]}, 400, "same options")


def test_missing_option_without_default_is_an_error() -> None:
    with pytest.raises(ApiError, match="Missing input 'alpha'") as caught:
        parse_predict(
            json.dumps({"signature_name": "nbest", "instances": ["a"]}).encode(),
            SIGNATURES,
            LIMITS,
            {"beam_size": 2, "max_length_a": 1.0, "max_length_b": 3},
        )
    assert caught.value.status == 400


def test_predict_response_row_and_columnar() -> None:
    outputs = {"scores": [-1.5, 0.0], "translations": ["x", ""]}
    assert predict_response(outputs, columnar=False) == {
        "predictions": [{"scores": -1.5, "translations": "x"}, {"scores": 0.0, "translations": ""}]
    }
    assert predict_response(outputs, columnar=True) == {"outputs": outputs}
    nbest = {"scores": [[-1.0, -2.0]], "translations": [["a", "b"]]}
    assert predict_response(nbest, columnar=False) == {
        "predictions": [{"scores": [-1.0, -2.0], "translations": ["a", "b"]}]
    }
    assert predict_response({"scores": [], "translations": []}, False) == {"predictions": []}


def test_status_metadata_and_error_shapes() -> None:
    assert status_response([(2, "AVAILABLE", "OK", "")]) == {
        "model_version_status": [
            {
                "version": "2",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    meta = metadata_response("m", 2, {"serving_default": {"method_name": "x"}})
    assert meta["model_spec"] == {"name": "m", "signature_name": "", "version": "2"}
    assert meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert "blessing" not in meta["metadata"]
    blessed = metadata_response("m", 2, {}, {"decision": "blessed"})
    assert blessed["metadata"]["blessing"] == {"decision": "blessed"}
    assert error_body("boom") == {"error": "boom"}

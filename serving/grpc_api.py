"""TF Serving's gRPC API (``PredictionService``, ``ModelService``) over ``ServerCore``.

The generated stubs of ``tensorflow-serving-api`` define the services; every
failure is sent with the status code TF Serving uses (``status_codes``) and a
one-line message, never a traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from core.contract import SERVING_DEFAULT
from serving.grpc_tensors import output_proto, read_inputs
from serving.rest_api import BLESSING, ApiError, check_texts
from serving.server_config import ConfigFileError, model_entries
from serving.server_core import ServerCore
from serving.status_codes import grpc_code

log = logging.getLogger("serving.server")
SIGNATURE_DEF = "signature_def"
# Metadata fields a GetModelMetadataRequest may name: TF Serving's, and the version's blessing
# record (a google.protobuf.Struct; absent for a version exported without one).
METADATA_FIELDS = (SIGNATURE_DEF, BLESSING)


def _spec(request: Any) -> tuple[str, int | None, str | None]:
    """Name, version and version label of a request's ``model_spec``."""
    spec = request.model_spec
    choice = spec.WhichOneof("version_choice")
    version = spec.version.value if choice == "version" else None
    label = spec.version_label if choice == "version_label" else None
    return spec.name, version, label


class _Service:
    """Runs each call, turning ``ApiError`` into its status code and counting it."""

    def __init__(self, core: ServerCore) -> None:
        self.core = core

    async def _call(self, api: str, request: Any, context: Any, body: Callable[[], Any]) -> Any:
        start = time.monotonic()
        signature = getattr(request.model_spec, "signature_name", "") if api == "predict" else ""
        model = request.model_spec.name if hasattr(request, "model_spec") else ""
        try:
            response = body()
            if inspect.isawaitable(response):
                response = await response
        except ApiError as err:
            code = grpc_code(err.status)
            self.core.record(api, "grpc", model, signature, code.name, start)
            await context.abort(code, err.message)
        self.core.record(api, "grpc", model, signature or "", "OK", start)
        return response


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer, _Service):
    """``Predict`` and ``GetModelMetadata``; the other methods are not implemented."""

    async def Predict(self, request: Any, context: Any) -> Any:
        return await self._call(
            "predict", request, context, lambda: self._predict(request, context)
        )

    async def _predict(self, request: Any, context: Any) -> Any:
        servable = self.core.servable(*_spec(request))
        signature = request.model_spec.signature_name or SERVING_DEFAULT
        if signature not in servable.inputs:
            raise ApiError(404, f'Serving signature name: "{signature}" not found in signature def')
        texts, options = read_inputs(request.inputs, servable.inputs[signature], servable.defaults)
        check_texts(texts, self.core.limits)
        outputs_def = servable.signature_defs[signature]["outputs"]
        names = list(request.output_filter) or sorted(outputs_def)
        unknown = sorted(set(names) - set(outputs_def))
        if unknown:
            raise ApiError(400, f"output_filter names unknown output(s): {', '.join(unknown)}")
        remaining = context.time_remaining()
        outputs = (
            await self.core.predict_async(servable, signature, texts, options, remaining)
            if texts
            else {name: [] for name in names}
        )
        response = predict_pb2.PredictResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = servable.version
        response.model_spec.signature_name = signature
        for name in names:
            dtype = outputs_def[name].get("dtype", "")
            response.outputs[name].CopyFrom(output_proto(outputs[name], dtype, len(texts)))
        return response

    async def GetModelMetadata(self, request: Any, context: Any) -> Any:
        return await self._call("metadata", request, context, lambda: self._metadata(request))

    def _metadata(self, request: Any) -> Any:
        fields = list(request.metadata_field)
        if not fields:
            raise ApiError(400, "GetModelMetadataRequest must specify at least one metadata_field")
        unsupported = [name for name in fields if name not in METADATA_FIELDS]
        if unsupported:
            raise ApiError(400, f"Metadata field {unsupported[0]} is not supported")
        servable = self.core.servable(*_spec(request))
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = servable.version
        if SIGNATURE_DEF in fields:
            defs = get_model_metadata_pb2.SignatureDefMap()
            for name, definition in servable.signature_defs.items():
                json_format.ParseDict(definition, defs.signature_def[name])
            response.metadata[SIGNATURE_DEF].Pack(defs)
        if BLESSING in fields and servable.blessing is not None:
            record = struct_pb2.Struct()
            json_format.ParseDict(servable.blessing, record)
            response.metadata[BLESSING].Pack(record)
        return response

    async def _unimplemented(self, what: str, context: Any) -> None:
        self.core.record(what, "grpc", "", "", "UNIMPLEMENTED", time.monotonic())
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            f"{what} is not implemented: translation models answer Predict",
        )

    async def Classify(self, request: Any, context: Any) -> Any:
        await self._unimplemented("Classify", context)

    async def Regress(self, request: Any, context: Any) -> Any:
        await self._unimplemented("Regress", context)

    async def MultiInference(self, request: Any, context: Any) -> Any:
        await self._unimplemented("MultiInference", context)


class ModelService(model_service_pb2_grpc.ModelServiceServicer, _Service):
    """``GetModelStatus`` and ``HandleReloadConfigRequest``."""

    async def GetModelStatus(self, request: Any, context: Any) -> Any:
        return await self._call("status", request, context, lambda: self._status(request))

    def _status(self, request: Any) -> Any:
        response = get_model_status_pb2.GetModelStatusResponse()
        state = get_model_status_pb2.ModelVersionStatus.State
        for version, name, code, message in self.core.status(*_spec(request)):
            row = response.model_version_status.add(version=version, state=state.Value(name))
            row.status.error_code = (
                row.status.DESCRIPTOR.fields_by_name["error_code"]
                .enum_type.values_by_name[code]
                .number
            )
            row.status.error_message = message
        return response

    async def HandleReloadConfigRequest(self, request: Any, context: Any) -> Any:
        return await self._call("reload", request, context, lambda: self._reload(request))

    async def _reload(self, request: Any) -> Any:
        try:
            entries = model_entries(request.config, "ReloadConfigRequest")
        except ConfigFileError as err:
            raise ApiError(400, str(err)) from None
        await asyncio.to_thread(self.core.manager.apply, entries)  # loading takes seconds
        log.info("model config reloaded: %s", ", ".join(entry.name for entry in entries))
        return model_management_pb2.ReloadConfigResponse()


class GrpcServer:
    """Both services on ``grpc.aio`` in an event loop thread of their own: a call waiting
    for the model holds no thread, as on the REST side."""

    def __init__(self, core: ServerCore, address: str, max_message_bytes: int) -> None:
        self.core = core
        self.address = address
        self.options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", -1),
            ("grpc.so_reuseport", 0),
        ]
        self._loop = asyncio.SelectorEventLoop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="grpc-api", daemon=True)
        self._server: Any = None

    def start(self) -> int:
        """Bind and serve; the bound port (``OSError`` if the address cannot be bound)."""
        self._thread.start()
        try:
            return asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(60)
        except OSError:
            self.halt()
            raise

    async def _start(self) -> int:
        self._server = grpc.aio.server(options=self.options)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionService(self.core), self._server
        )
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelService(self.core), self._server
        )
        try:
            port = self._server.add_insecure_port(self.address)
        except RuntimeError as err:  # grpc raises this when the port is taken
            raise OSError(f"cannot bind the gRPC API to {self.address}: {err}") from None
        await self._server.start()
        return int(port)

    def begin_stop(self, grace_s: float) -> futures.Future[None]:
        """Refuse new calls now; the future completes when calls in flight have finished."""
        return asyncio.run_coroutine_threadsafe(self._server.stop(grace_s), self._loop)

    def stop(self, grace_s: float = 0.0) -> None:
        """Stop serving (calls in flight get ``grace_s`` seconds) and end the loop thread."""
        self.begin_stop(grace_s).result(grace_s + 10)
        self.halt()

    def halt(self) -> None:
        """End the event loop thread (after ``begin_stop`` has completed)."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

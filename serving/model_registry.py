"""The versions of one model under a base path, loaded and unloaded as folders come and go.

As TensorFlow Serving does, every integer folder ``<base>/<N>/`` holding a
``saved_model.pb`` is a version, and the model's version policy (latest N,
all, or specific versions) picks the ones to serve; the highest served one
answers requests that name no version, and version labels name versions.
``poll`` loads new versions while the old ones keep serving, then
swaps them in; a folder that disappears is unloaded (requests already running
on it finish). A version that fails to load is reported with its error and
retried once its files change. A version's blessing record (the export gate's
decision, in its ``assets.extra``) is read with it, for the model metadata.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.contract import ASSETS_EXTRA_DIR, BLESSING_ASSET, SAVED_MODEL_FILE, TEXT, version_folders
from core.saved_model import exported_defaults, jsonable, load_saved_model
from serving.server_config import ModelEntry, VersionPolicy

log = logging.getLogger("serving.models")


class InvalidInput(ValueError):
    """The model cannot take a request's inputs: a client error (HTTP 400)."""


@dataclass(eq=False)  # hashed by identity: a batch key holds the servable it runs on
class Servable:
    """One loaded version: its signatures, their input names and dtypes, defaults, and the
    export gate's blessing record (None for a version exported without one)."""

    version: int
    path: Path
    loaded: Any
    inputs: dict[str, dict[str, Any]]  # signature -> input name -> tf.DType
    defaults: dict[str, int | float]
    signature_defs: dict[str, Any]  # the SignatureDefMap as JSON
    blessing: dict[str, Any] | None = None

    def run(
        self, signature: str, options: tuple[tuple[str, Any], ...], texts: list[str]
    ) -> dict[str, list[Any]]:
        """Call ``signature`` on ``texts``; outputs as JSON-ready lists, one row per text.

        Inputs the model cannot take (unconvertible texts, TensorFlow's invalid-argument
        errors) raise ``InvalidInput``.
        """
        import tensorflow as tf

        dtypes = self.inputs[signature]
        try:
            kwargs = {TEXT: tf.constant(texts, tf.string)}
            kwargs.update({name: tf.constant(value, dtypes[name]) for name, value in options})
        except (TypeError, ValueError) as err:  # e.g. a text that is not valid Unicode
            raise InvalidInput(f"the inputs cannot be converted: {err}") from err
        try:
            result = self.loaded.signatures[signature](**kwargs)
        except tf.errors.InvalidArgumentError as err:
            raise InvalidInput(err.message) from err
        return {name: jsonable(result[name].numpy()) for name in sorted(result)}


def signature_defs_json(path: Path) -> dict[str, Any]:
    """The ``signature_def`` map of ``path/saved_model.pb`` in TF Serving's JSON form."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    model = saved_model_pb2.SavedModel()
    model.ParseFromString((path / SAVED_MODEL_FILE).read_bytes())
    defs = model.meta_graphs[0].signature_def
    return {
        name: json_format.MessageToDict(
            defs[name],
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
        for name in sorted(defs)
    }


def read_blessing(path: Path) -> dict[str, Any] | None:
    """The blessing record in ``path/assets.extra``; None if the version has none (exported
    before the gate) or it cannot be read (a warning says why: it never stops serving)."""
    file = path / ASSETS_EXTRA_DIR / BLESSING_ASSET
    if not file.is_file():
        return None
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        log.warning("%s: blessing record not shown: %s", file, err)
        return None
    if not isinstance(record, dict):
        log.warning("%s: blessing record not shown: not a JSON object", file)
        return None
    return record


def load_servable(path: Path, version: int) -> Servable:
    """Load the SavedModel at ``path`` with the signature metadata the API needs."""
    loaded = load_saved_model(path)
    inputs = {}
    for name, function in loaded.signatures.items():
        specs = function.structured_input_signature[1]
        if TEXT not in specs:
            raise ValueError(f"signature {name!r} has no {TEXT!r} input")
        inputs[name] = {key: spec.dtype for key, spec in specs.items()}
    defaults = {
        option: jsonable(value.reshape([1]))[0]
        for option, value in exported_defaults(loaded).items()
    }
    signature_defs = signature_defs_json(path)
    return Servable(version, path, loaded, inputs, defaults, signature_defs, read_blessing(path))


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of every file under ``folder``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


class ModelRegistry:
    """The loaded versions of the model under ``base_path``; ``poll`` syncs them with disk."""

    def __init__(
        self,
        base_path: Path,
        name: str,
        loader: Callable[[Path, int], Any] = load_servable,
        policy: VersionPolicy | None = None,
        labels: dict[str, int] | None = None,
    ) -> None:
        self.base_path = Path(base_path)
        self.name = name
        self.policy = policy or VersionPolicy()
        self.labels = dict(labels or {})
        self._loader = loader
        self._lock = threading.Lock()
        self._servables: dict[int, Any] = {}
        self._loading: set[int] = set()
        self._failed: dict[int, tuple[str, Any]] = {}  # version -> (error, fingerprint)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_entry(
        cls, entry: ModelEntry, loader: Callable[[Path, int], Any] = load_servable
    ) -> ModelRegistry:
        """The registry of one configured model."""
        return cls(entry.base_path, entry.name, loader, entry.policy, entry.labels)

    def reconfigure(self, entry: ModelEntry) -> None:
        """Take a new policy and labels for this model; the next ``poll`` applies them."""
        with self._lock:
            self.policy, self.labels = entry.policy, dict(entry.labels)

    def _on_disk(self) -> list[int]:
        """The version folders with a ``saved_model.pb`` the policy serves, ascending."""
        return self.policy.select(version_folders(self.base_path, complete=True))

    def poll(self) -> None:
        """Load new versions, then unload the ones whose folder is gone or not wanted."""
        wanted = self._on_disk()
        for version in wanted:
            if version not in self._servables:
                self._load(version)
        with self._lock:
            gone = [v for v in self._servables if v not in wanted]
            for version in gone:
                del self._servables[version]
                log.info("%s: unloaded version %d", self.name, version)
            for version in [v for v in self._failed if v not in wanted]:
                del self._failed[version]

    def _load(self, version: int) -> None:
        folder = self.base_path / str(version)
        try:
            fingerprint = _fingerprint(folder)
        except OSError:  # removed or renamed while we looked: next poll decides
            return
        if version in self._failed and self._failed[version][1] == fingerprint:
            return  # unchanged since it last failed
        with self._lock:
            self._loading.add(version)
        try:
            servable = self._loader(folder, version)
        except Exception as err:  # a broken export must not take the server down
            log.error("%s: version %d failed to load: %s", self.name, version, err)
            with self._lock:
                self._loading.discard(version)
                self._failed[version] = (f"{type(err).__name__}: {err}", fingerprint)
            return
        with self._lock:
            self._loading.discard(version)
            self._servables[version] = servable
            self._failed.pop(version, None)
        log.info("%s: loaded version %d from %s", self.name, version, folder)

    def get(self, version: int | None = None, label: str | None = None) -> Any:
        """The servable of ``version`` or of the version ``label`` names (default: the
        highest); ``KeyError`` if it is not loaded or the label is unknown."""
        with self._lock:
            if label is not None:
                version = self.labels[label]
            if version is None:
                if not self._servables:
                    raise KeyError(self.name)
                version = max(self._servables)
            return self._servables[version]

    def versions(self) -> list[int]:
        """Loaded versions, ascending."""
        with self._lock:
            return sorted(self._servables)

    def status(self, version: int | None = None) -> list[tuple[int, str, str, str]]:
        """``(version, state, error_code, error_message)``, highest version first."""
        with self._lock:
            rows = {v: (v, "AVAILABLE", "OK", "") for v in self._servables}
            rows.update({v: (v, "LOADING", "OK", "") for v in self._loading})
            for v, (error, _) in self._failed.items():
                rows[v] = (v, "END", "UNKNOWN", error)
        if version is not None:
            return [rows[version]] if version in rows else []
        return [rows[v] for v in sorted(rows, reverse=True)]

    def start(self, poll_seconds: float) -> None:
        """Poll now, then every ``poll_seconds`` in a background thread."""
        self.poll()
        self._thread = threading.Thread(
            target=self._watch, args=(poll_seconds,), name="model-watcher", daemon=True
        )
        self._thread.start()

    def _watch(self, poll_seconds: float) -> None:
        while not self._stop.wait(poll_seconds):
            try:
                self.poll()
            except OSError as err:  # e.g. the base path vanished for a moment
                log.warning("%s: polling %s failed: %s", self.name, self.base_path, err)

    def stop(self) -> None:
        """Stop watching the base path."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

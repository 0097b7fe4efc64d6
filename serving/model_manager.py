"""The served models: one ``ModelRegistry`` per configured model, replaced as a whole on reload.

A new configuration (from ``HandleReloadConfigRequest`` or a changed
``--model_config_file``) adds the models it lists, re-polls the ones it keeps
with their new policy and labels, and unloads the ones it drops, as
tensorflow_model_server does. Models it keeps serve throughout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from serving.model_registry import ModelRegistry, load_servable
from serving.server_config import ConfigFileError, ModelEntry, read_model_config

log = logging.getLogger("serving.models")


class ModelManager:
    """The registries of the configured models, each watching its base path."""

    def __init__(
        self,
        entries: list[ModelEntry],
        poll_seconds: float,
        loader: Callable[[Path, int], Any] = load_servable,
    ) -> None:
        self.poll_seconds = poll_seconds
        self._loader = loader
        self._lock = threading.Lock()  # serialises reloads
        self._registries: dict[str, ModelRegistry] = {}
        self.apply(entries)

    def registry(self, name: str) -> ModelRegistry:
        """The registry of model ``name``; ``KeyError`` if it is not configured."""
        return self._registries[name]

    def names(self) -> list[str]:
        """The configured model names, sorted."""
        return sorted(self._registries)

    def apply(self, entries: list[ModelEntry]) -> None:
        """Serve exactly ``entries``: start new models, update kept ones, stop dropped ones."""
        with self._lock:
            current = dict(self._registries)
            wanted = {entry.name: entry for entry in entries}
            for name, entry in wanted.items():
                old = current.get(name)
                if old is not None and old.base_path == entry.base_path:
                    old.reconfigure(entry)
                    old.poll()
                    continue
                registry = ModelRegistry.from_entry(entry, self._loader)
                registry.start(self.poll_seconds)
                current[name] = registry
                if old is not None:
                    old.stop()
                log.info("%s: serving from %s (%s)", name, entry.base_path, entry.policy.kind)
            for name in [n for n in current if n not in wanted]:
                current.pop(name).stop()
                log.info("%s: no longer configured, unloaded", name)
            self._registries = current

    def stop(self) -> None:
        """Stop every registry's watcher."""
        for registry in list(self._registries.values()):
            registry.stop()


class ConfigFileWatcher:
    """Re-reads ``--model_config_file`` every ``poll_seconds`` and applies it when it changes.

    A file that cannot be read or parsed is logged and the served models stay as they are.
    """

    def __init__(self, path: Path, manager: ModelManager, poll_seconds: float) -> None:
        self.path = path
        self.manager = manager
        self.poll_seconds = poll_seconds
        self._seen = self._stamp()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="config-watcher", daemon=True)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def start(self) -> None:
        """Watch in a background thread."""
        self._thread.start()

    def check(self) -> bool:
        """Apply the file if it changed since the last look; whether it was applied."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        self._seen = stamp
        try:
            entries = read_model_config(self.path)
        except ConfigFileError as err:
            log.error("model config not reloaded: %s", err)
            return False
        self.manager.apply(entries)
        log.info("model config reloaded from %s", self.path)
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

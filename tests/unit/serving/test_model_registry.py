"""Version discovery, loading and unloading, with a stand-in loader (no TensorFlow)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from serving.model_registry import ModelRegistry, read_blessing
from serving.server_config import ModelEntry, VersionPolicy

ALL = VersionPolicy("all")


class Loader:
    """Returns ``("model", version, path)``; fails for folders holding a ``broken`` file."""

    def __init__(self) -> None:
        self.loads: list[int] = []

    def __call__(self, path: Path, version: int) -> Any:
        self.loads.append(version)
        if (path / "broken").exists():
            raise ValueError("corrupt export")
        return ("model", version, path)


def add_version(base: Path, version: int, broken: bool = False) -> Path:
    """Write a version as exports do: in a hidden folder, then renamed into place."""
    staging = base / f".staging-{version}"
    (staging / "variables").mkdir(parents=True)
    (staging / "saved_model.pb").write_bytes(b"pb")
    if broken:
        (staging / "broken").write_text("x")
    staging.rename(base / str(version))
    return base / str(version)


@pytest.fixture
def loader() -> Loader:
    return Loader()


def test_loads_every_version_and_serves_the_highest(tmp_path: Path, loader: Loader) -> None:
    add_version(tmp_path, 1)
    add_version(tmp_path, 10)
    (tmp_path / "3").mkdir()  # no saved_model.pb: not a version
    (tmp_path / "notes").mkdir()
    registry = ModelRegistry(tmp_path, "m", loader=loader, policy=ALL)
    registry.poll()
    assert registry.versions() == [1, 10]
    assert registry.get()[1] == 10 and registry.get(1)[1] == 1
    with pytest.raises(KeyError):
        registry.get(3)
    assert registry.status() == [(10, "AVAILABLE", "OK", ""), (1, "AVAILABLE", "OK", "")]
    assert registry.status(1) == [(1, "AVAILABLE", "OK", "")]
    assert registry.status(7) == []


def test_new_versions_load_and_removed_ones_unload(tmp_path: Path, loader: Loader) -> None:
    add_version(tmp_path, 1)
    registry = ModelRegistry(tmp_path, "m", loader=loader, policy=ALL)
    registry.poll()
    add_version(tmp_path, 2)
    registry.poll()
    assert registry.versions() == [1, 2] and registry.get()[1] == 2
    assert loader.loads == [1, 2]  # nothing is loaded twice
    shutil.rmtree(tmp_path / "2")
    registry.poll()
    assert registry.versions() == [1] and registry.get()[1] == 1


def test_version_policies_and_labels(tmp_path: Path, loader: Loader) -> None:
    for version in (1, 2, 3):
        add_version(tmp_path, version)
    registry = ModelRegistry(tmp_path, "m", loader=loader)  # TF Serving's default: latest 1
    registry.poll()
    assert registry.versions() == [3]
    entry = ModelEntry("m", tmp_path, VersionPolicy("latest", num_versions=2), {"old": 2})
    registry.reconfigure(entry)
    registry.poll()
    assert registry.versions() == [2, 3] and registry.get(label="old")[1] == 2
    registry.reconfigure(ModelEntry("m", tmp_path, VersionPolicy("specific", versions=(1,))))
    registry.poll()
    assert registry.versions() == [1] and registry.get()[1] == 1
    with pytest.raises(KeyError):
        registry.get(label="old")  # labels are replaced with the configuration


def test_failed_version_is_reported_and_retried_only_when_changed(
    tmp_path: Path, loader: Loader
) -> None:
    add_version(tmp_path, 1)
    folder = add_version(tmp_path, 2, broken=True)
    registry = ModelRegistry(tmp_path, "m", loader=loader, policy=ALL)
    registry.poll()
    registry.poll()
    assert loader.loads == [1, 2]  # the broken version is not reloaded while unchanged
    assert registry.get()[1] == 1  # the healthy version keeps serving
    assert registry.status(2) == [(2, "END", "UNKNOWN", "ValueError: corrupt export")]
    (folder / "broken").unlink()
    registry.poll()
    assert registry.versions() == [1, 2] and registry.status(2)[0][1] == "AVAILABLE"


def test_empty_or_missing_base_path(tmp_path: Path, loader: Loader) -> None:
    registry = ModelRegistry(tmp_path / "absent", "m", loader=loader)
    registry.poll()
    assert registry.versions() == [] and registry.status() == []
    with pytest.raises(KeyError):
        registry.get()


def test_watcher_thread_picks_up_new_versions(tmp_path: Path, loader: Loader) -> None:
    add_version(tmp_path, 1)
    registry = ModelRegistry(tmp_path, "m", loader=loader, policy=ALL)
    registry.start(poll_seconds=0.01)
    try:
        assert registry.versions() == [1]  # ``start`` polls once before returning
        add_version(tmp_path, 5)
        deadline = time.monotonic() + 10
        while registry.versions() != [1, 5]:
            assert time.monotonic() < deadline, "version 5 was not picked up"
            time.sleep(0.01)
    finally:
        registry.stop()


def test_blessing_record_is_read_when_there_is_a_readable_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    version = add_version(tmp_path, 1)
    assert read_blessing(version) is None  # exported before the gate
    (version / "assets.extra").mkdir()
    record = version / "assets.extra" / "blessing.json"
    record.write_text('{"decision": "blessed", "forced": true}')
    assert read_blessing(version) == {"decision": "blessed", "forced": True}
    record.write_text('{"decision": ')
    assert read_blessing(version) is None
    assert "blessing record not shown" in caplog.text

"""Shared test settings: quiet TensorFlow, paths to the repository and real corpora, and the
tiny run that most tests read.

The tiny run is ``configs/tiny.yaml`` through every stage by the ``nmt run`` command, built
once per test session. Under pytest-xdist the workers share it: the first to take the lock
builds it, the others wait for it and read it. It is read-only: a test that changes a run or
an export works on a copy (``shutil.copytree``), and the session fails at teardown if any
file of the shared run changed. Since it never changes, the modules that load its export
many times take ``tiny_exports_loaded_once``: each of its SavedModels is loaded once per
pytest process.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
BUILD_RECORD = "build.json"  # the ``nmt run`` that built the tiny run: its exit status and stderr


import pytest  # noqa: E402


def session_folder(factory: pytest.TempPathFactory) -> Path:
    """A folder of this test session that every pytest-xdist worker sees."""
    base = factory.getbasetemp()
    # Each xdist worker has a base folder of its own inside the session's.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file``, waiting for it if another process has it."""
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fingerprint(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != BUILD_RECORD
    }


def _build_tiny_run(root: Path) -> None:
    """``nmt run configs/tiny.yaml`` into ``root``; its exit status and stderr are recorded."""
    overrides = ["--set", f"run_root={root / 'runs'}"]
    overrides += ["--set", f"export.base_dir={root / 'models'}"]
    command = [sys.executable, "-m", "nmt.cli", "run", str(REPO / "configs" / "tiny.yaml")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(
            [*command, *overrides], cwd=root, env=env, capture_output=True, text=True, timeout=900
        )
        record = {"returncode": done.returncode, "stderr": done.stderr}
    except subprocess.TimeoutExpired as err:  # recorded, so that no other worker builds again
        record = {"returncode": -1, "stderr": f"timed out after {err.timeout} s"}
    (root / BUILD_RECORD).write_text(json.dumps(record), encoding="utf-8")


@pytest.hookimpl(trylast=True)  # after ``-m`` has deselected what it deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the test modules for pytest-xdist's workers (``--dist=loadscope``, a module at a
    time, in this order): first one module that reads the tiny run, whose worker builds it;
    then the modules that do not read it, which keep the other workers busy meanwhile; then
    the other modules that read it. Within each group, modules with slow-tier tests go first,
    so that the last modules to start are short ones and no worker waits long at the end.
    Tests keep their order within a module."""
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    reads = {m: any("tiny_run" in i.fixturenames for i in its) for m, its in modules.items()}
    first = next((m for m in modules if reads[m]), None)

    def rank(module: str) -> tuple[int, int]:
        group = 0 if module == first else 2 if reads[module] else 1
        slow = any(item.get_closest_marker("slow") for item in modules[module])
        return group, 0 if slow else 1

    items[:] = [item for module in sorted(modules, key=rank) for item in modules[module]]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Every stage of ``configs/tiny.yaml`` once per test session, shared and read-only.

    Returns the paths ``config`` (the resolved YAML), ``run_dir``, ``export_base``, ``root``
    and ``build`` (``build.json``: the building command's exit status and stderr).
    """
    shared = session_folder(tmp_path_factory)
    root = shared / "tiny"
    with exclusive(shared / "tiny.lock"):
        if not (root / BUILD_RECORD).is_file():
            root.mkdir(exist_ok=True)
            _build_tiny_run(root)
    build = json.loads((root / BUILD_RECORD).read_text(encoding="utf-8"))
    if build["returncode"] != 0:
        pytest.fail(f"nmt run configs/tiny.yaml failed:\n{build['stderr'][-3000:]}")
    before = fingerprint(root)
    yield {
        "config": root / "runs" / "tiny" / "config.yaml",
        "run_dir": root / "runs" / "tiny",
        "export_base": root / "models" / "tiny",
        "root": root,
        "build": root / BUILD_RECORD,
    }
    after = fingerprint(root)
    changed = sorted(set(before.items()) ^ set(after.items()))
    assert not changed, f"a test changed the shared tiny run: {sorted({p for p, _ in changed})}"


_LOADED_EXPORTS: dict[Path, Any] = {}  # SavedModels loaded so far, by folder


@contextmanager
def saved_models_loaded_once(root: Path) -> Iterator[None]:
    """While it lasts, ``tf.saved_model.load`` of a folder under ``root`` gives the object
    loaded the first time in this process, already traced by its first calls (loading the
    tiny export and tracing its signatures takes seconds every time). For folders whose
    SavedModels are never rewritten once written; other folders, and loads with ``tags`` or
    ``options``, load as usual."""
    import tensorflow as tf

    root = root.resolve()
    load = tf.saved_model.load

    def load_once(export_dir: Any, *args: Any, **kwargs: Any) -> Any:
        path = Path(export_dir).resolve()
        if args or kwargs or not path.is_relative_to(root):
            return load(export_dir, *args, **kwargs)
        if path not in _LOADED_EXPORTS:
            _LOADED_EXPORTS[path] = load(export_dir)
        return _LOADED_EXPORTS[path]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tf.saved_model, "load", load_once)
        yield


@pytest.fixture(scope="module")
def tiny_exports_loaded_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``saved_models_loaded_once`` for the shared tiny run while a module runs."""
    with saved_models_loaded_once(session_folder(tmp_path_factory) / "tiny"):
        yield

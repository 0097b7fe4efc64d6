"""A parent (``train.init_from``) that the experiment cannot start from: one line naming both
sides, exit status 2, before anything is written; and which folder each parent form names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.contract import ASSETS_EXTRA_DIR, METADATA_ASSET, VARIABLES_PREFIX, RunLayout
from nmt.cli import main
from nmt.config import load_config
from nmt.parent import ParentError, checked_parent, resolve_parent

REPO = Path(__file__).resolve().parents[3]
TINY = REPO / "configs" / "tiny.yaml"


def child_args(root: Path, parent: Path | str, *overrides: str) -> list[str]:
    """``nmt``'s arguments after the command: the tiny config as experiment ``child`` under
    ``root``, started from ``parent``."""
    sets = [
        f"run_root={root / 'runs'}",
        f"export.base_dir={root / 'models'}",
        "experiment=child",
        f"train.init_from={parent}",
        *overrides,
    ]
    return [str(TINY), *(arg for value in sets for arg in ("--set", value))]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def copy_run(tiny_run: dict[str, Path], root: Path) -> Path:
    """A copy of the parent's run folder (config, SentencePiece models, checkpoints)."""
    target = root / "parent_run"
    shutil.copytree(tiny_run["run_dir"], target, ignore=shutil.ignore_patterns("tfrecords"))
    return target


def copy_export(tiny_run: dict[str, Path], root: Path) -> Path:
    """A copy of the parent's export version folder."""
    target = root / "parent_export" / "1"
    shutil.copytree(tiny_run["export_base"] / "1", target)
    return target


def no_target_model(tiny_run: dict[str, Path], root: Path) -> Path:
    run = copy_run(tiny_run, root)
    RunLayout(run).target_spm.unlink()
    return run


def no_best_model(tiny_run: dict[str, Path], root: Path) -> Path:
    run = copy_run(tiny_run, root)
    shutil.rmtree(RunLayout(run).best)
    RunLayout(run).best.mkdir()
    return run


def no_variables(tiny_run: dict[str, Path], root: Path) -> Path:
    export = copy_export(tiny_run, root)
    (export / f"{VARIABLES_PREFIX}.index").unlink()
    return export


def ensemble_export(tiny_run: dict[str, Path], root: Path) -> Path:
    export = copy_export(tiny_run, root)
    metadata = export / ASSETS_EXTRA_DIR / METADATA_ASSET
    info = json.loads(metadata.read_text())
    info["members"] = [{"run_dir": "a"}, {"run_dir": "b"}]
    metadata.write_text(json.dumps(info))
    return export


Setup = Callable[[dict[str, Path], Path], Path | str]
CASES: dict[str, tuple[Setup, tuple[str, ...], tuple[str, ...]]] = {
    "missing folder": (lambda run, root: root / "nowhere", (), ("nowhere", "no such folder")),
    "not a run or export": (
        lambda run, root: run["run_dir"] / "eval",
        (),
        ("eval", "not a run folder"),
    ),
    "other language pair": (
        lambda run, root: run["run_dir"],
        ("data.target_lang=fr",),
        ("translates en-es", "experiment child en-fr"),
    ),
    "other architecture": (
        lambda run, root: run["run_dir"],
        ("model.units=64", "model.cell=gru"),
        ("another architecture", "model.cell 'gru' vs 'lstm'", "model.units 64 vs 32"),
    ),
    "other normalisation": (
        lambda run, root: run["run_dir"],
        ("data.cleaning.unicode_form=NFKC",),
        ("normalises text otherwise", "data.cleaning.unicode_form 'NFKC' vs 'NFC'"),
    ),
    "no target SentencePiece model": (
        no_target_model,
        (),
        ("parent_run", "no target SentencePiece model", "target.model is missing"),
    ),
    "no trained model": (no_best_model, (), ("parent_run", "no trained model")),
    "export without variables": (no_variables, (), ("parent_export/1", "no SavedModel variables")),
    "ensemble export": (ensemble_export, (), ("an ensemble of 2 models",)),
    "optimizer from an export": (
        lambda run, root: run["export_base"],
        ("train.init_keep=[optimizer, step]",),
        ("an export holds the model's weights only", "optimizer, step"),
    ),
    "step from a best model": (
        lambda run, root: run["run_dir"],
        ("train.init_keep=[step]",),
        ("best/ holds the model's weights only", "checkpoints/"),
    ),
    "optimizer across loss scaling": (
        lambda run, root: run["run_dir"] / "checkpoints",
        ("train.init_keep=[optimizer]", "train.precision=mixed_float16"),
        ("precision float32", "experiment child in mixed_float16"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_incompatible_parent_is_one_line_and_exit_2_and_nothing_is_written(
    case: str, tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup, overrides, fragments = CASES[case]
    parent = setup(tiny_run, tmp_path)
    before = snapshot(tiny_run["root"])
    for command in ("run", "preprocess", "train"):
        assert main([command, *child_args(tmp_path, parent, *overrides)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(f"nmt: error: train.init_from: parent {parent}: "), err
        for fragment in fragments:
            assert fragment in err, err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "models").exists()
    assert snapshot(tiny_run["root"]) == before


def test_data_encoded_with_other_sentencepiece_models_is_refused_by_train(
    tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The child's data folder was preprocessed with models of its own: ``train`` names both
    models; ``preprocess`` goes on (it encodes the data again with the parent's)."""
    data = tmp_path / "runs" / "child" / "data"
    shutil.copytree(tiny_run["run_dir"] / "data", data)
    ours = data / "sentencepiece" / "source.model"
    ours.write_bytes(ours.read_bytes() + b"\n")
    before = snapshot(tmp_path)
    assert main(["train", *child_args(tmp_path, tiny_run["run_dir"])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    theirs = RunLayout(tiny_run["run_dir"]).source_spm
    assert f"source SentencePiece model {theirs} differs from experiment child's {ours}" in err
    assert snapshot(tmp_path) == before
    config = load_config(TINY, tuple(child_args(tmp_path, tiny_run["run_dir"])[2::2]))
    assert checked_parent(config, "preprocess") is not None


def test_own_run_folder_is_no_parent(
    tiny_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "runs" / "child"
    shutil.copytree(tiny_run["run_dir"], own, ignore=shutil.ignore_patterns("checkpoints"))
    assert main(["preprocess", *child_args(tmp_path, own)]) == 2
    assert "is experiment child's own run folder" in capsys.readouterr().err


def test_a_bad_parent_is_refused_before_tensorflow_is_imported(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from nmt.cli import main\n"
        f"status = main(['train', *{child_args(tmp_path, tmp_path / 'nowhere')!r}])\n"
        "print(status, 'tensorflow' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stdout.split() == ["2", "False"]
    assert done.stderr.count("\n") == 1 and "no such folder" in done.stderr


def test_each_parent_form_names_its_weights(tiny_run: dict[str, Path]) -> None:
    run, export = tiny_run["run_dir"], tiny_run["export_base"]
    layout = RunLayout(run)
    best = resolve_parent(str(run))
    assert (best.kind, best.weights, best.training_state) == ("run", layout.best, False)
    assert best.source_spm == layout.source_spm and best.config.experiment == "tiny"
    rolling = resolve_parent(str(layout.checkpoints))
    assert (rolling.weights, rolling.training_state) == (layout.checkpoints, True)
    newest = resolve_parent(str(export))
    assert (newest.kind, newest.weights, newest.training_state) == ("export", export / "1", False)
    assert newest.source_spm == export / "1" / ASSETS_EXTRA_DIR / "source.model"
    assert resolve_parent(str(export / "1")).weights == export / "1"
    assert newest.record()["version"] == 1


def test_a_resumed_child_does_not_read_its_parent(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    """Once the child has checkpoints of its own, ``train`` resumes them: its parent is not
    read, so it may even be gone; ``preprocess`` still needs it."""
    args = child_args(tmp_path, tmp_path / "gone")[2::2]
    config = load_config(TINY, tuple(args))
    shutil.copytree(
        RunLayout(tiny_run["run_dir"]).checkpoints, RunLayout(config.run_dir).checkpoints
    )
    assert checked_parent(config, "train") is None
    with pytest.raises(ParentError, match="no such folder"):
        checked_parent(config, "preprocess")


def test_a_child_whose_checkpoint_files_are_gone_is_refused(
    tiny_run: dict[str, Path], tmp_path: Path
) -> None:
    """A checkpoint state file naming checkpoint files that were deleted is one line (neither
    the child's own weights nor its parent's would be restored)."""
    args = child_args(tmp_path, copy_run(tiny_run, tmp_path))[2::2]
    config = load_config(TINY, tuple(args))
    checkpoints = RunLayout(config.run_dir).checkpoints
    shutil.copytree(RunLayout(tiny_run["run_dir"]).checkpoints, checkpoints)
    for path in checkpoints.glob("ckpt-*"):
        path.unlink()
    with pytest.raises(ParentError, match="whose files are missing: restore them, or remove"):
        checked_parent(config, "train")

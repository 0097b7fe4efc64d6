"""Ensembles in one SavedModel: members' log-probabilities averaged at every search step.

One copy of the tiny run (the session's ``tiny_run``) and a second run with another
architecture (a GRU with untrained weights, saved as its best checkpoint) make the members;
the module exports the run with the other run once, through ``nmt export --ensemble``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sentencepiece as spm
import tensorflow as tf
import yaml

from core.contract import ASSETS_EXTRA_DIR, METADATA_ASSET, TRANSLATE_WITH_OPTIONS, RunLayout
from nmt import cli
from nmt.config import load_config
from nmt.export_stage import EnsembleError, ensemble_members, restore_members
from nmt.translator_setup import make_translator
from seq2seq.checkpointing import model_checkpoint
from seq2seq.config import ModelConfig
from seq2seq.ensemble import EnsembleModel, ensemble, shortlisted_model
from seq2seq.run_models import build_model
from seq2seq.shortlist import ShortlistedModel
from tests.conftest import saved_models_loaded_once
from tests.unit.seq2seq.servable_ops import assert_servable_ops

pytestmark = pytest.mark.usefixtures("tiny_exports_loaded_once")

SENTENCES = ["the black cats eat the fish .", "", "my sister will not open the red windows ."]
OTHER_STEP = 7  # the step number of the other run's best checkpoint


def _options(beam: int, shortlist: int) -> dict[str, tf.Tensor]:
    return {
        "beam_size": tf.constant(beam),
        "alpha": tf.constant(0.6),
        "max_length_a": tf.constant(1.5),
        "max_length_b": tf.constant(5),
        "shortlist": tf.constant(shortlist),
    }


def _translate(function: Any, beam: int, shortlist: int = 0) -> tuple[list[bytes], np.ndarray]:
    """Translations and scores ``[B]`` of ``SENTENCES`` by a ``translate_with_options``."""
    result = function(text=tf.constant(SENTENCES), **_options(beam, shortlist))
    return list(result["translations"].numpy()), result["scores"].numpy()


def _signature(export: Path) -> Any:
    return tf.saved_model.load(str(export)).signatures[TRANSLATE_WITH_OPTIONS]


def _other_run(root: Path, run: Path, name: str, model: dict[str, Any]) -> Path:
    """A run folder with ``run``'s vocabularies and an untrained ``model`` as its best."""
    other = root / name
    shutil.copytree(RunLayout(run).source_spm.parent, RunLayout(other).source_spm.parent)
    raw = yaml.safe_load(RunLayout(run).config_copy.read_text(encoding="utf-8"))
    raw["experiment"], raw["model"] = name, {**raw["model"], **model}
    RunLayout(other).config_copy.write_text(yaml.safe_dump(raw), encoding="utf-8")
    config = load_config(RunLayout(other).config_copy)
    assert isinstance(config.model, ModelConfig)
    built = build_model(config.model, RunLayout(other))
    manager = tf.train.CheckpointManager(model_checkpoint(built), str(RunLayout(other).best), 1)
    manager.save(checkpoint_number=OTHER_STEP)
    return other


@pytest.fixture(scope="module")
def runs(
    tiny_run: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    """A copy of the tiny run (its own exports go to a private folder), a GRU run with the
    same vocabularies and a run whose target vocabulary differs. Each export of the module
    (a new version folder, never rewritten) is loaded once."""
    root = tmp_path_factory.mktemp("ensemble")
    run = root / "runs" / "tiny"
    shutil.copytree(tiny_run["run_dir"], run, ignore=shutil.ignore_patterns(".lock"))
    raw = yaml.safe_load(RunLayout(run).config_copy.read_text(encoding="utf-8"))
    raw["run_root"], raw["export"]["base_dir"] = str(root / "runs"), str(root / "models")
    # The export goes to serving without the gate's scoring: the gate has tests of its own.
    raw["export"]["gate"] = {**raw["export"]["gate"], "no_regression": False}
    RunLayout(run).config_copy.write_text(yaml.safe_dump(raw), encoding="utf-8")
    other = _other_run(root, run, "other", {"cell": "gru", "units": 24, "embedding_size": 12})
    wrong = _other_run(root, run, "wrong", {})
    spm.SentencePieceTrainer.train(  # a smaller target vocabulary
        input=str(RunLayout(run).split_text("train", "es")),
        model_prefix=str(RunLayout(wrong).target_spm.with_suffix("")),
        vocab_size=120,
        model_type="bpe",
        minloglevel=2,
    )
    with saved_models_loaded_once(root / "models"):
        yield {"config": RunLayout(run).config_copy, "run": run, "other": other, "wrong": wrong}


@pytest.fixture(scope="module")
def plain(tiny_run: dict[str, Path]) -> Any:
    """The tiny run's own (plain) export's ``translate_with_options``."""
    return _signature(tiny_run["export_base"] / "1")


@pytest.fixture(scope="module")
def pair_export(runs: dict[str, Path]) -> tuple[int, Path]:
    """``nmt export CONFIG --ensemble OTHER``: its exit status and export folder."""
    status = cli.main(["export", str(runs["config"]), "--ensemble", str(runs["other"])])
    return status, load_config(runs["config"]).export_dir / "1"


def test_ensemble_of_one_is_the_plain_export(runs: dict[str, Path], plain: Any) -> None:
    config = load_config(runs["config"])
    models = restore_members(ensemble_members(config, []), config.decode.precision)
    one = ensemble(models)
    assert one is models[0]
    translator = make_translator(config, one)
    for beam in (1, 3):
        for shortlist in (0, 1):
            words, scores = _translate(translator.translate_with_options, beam, shortlist)
            plain_words, plain_scores = _translate(plain, beam, shortlist)
            assert words == plain_words
            assert scores.tobytes() == plain_scores.tobytes()


def test_model_with_itself_translates_like_the_model(runs: dict[str, Path], plain: Any) -> None:
    """The run ensembled with itself, in this process (``pair_export`` exports an ensemble)."""
    config = load_config(runs["config"])
    models = restore_members(ensemble_members(config, [runs["run"]]), config.decode.precision)
    translator = make_translator(config, ensemble(models))
    for beam in (1, 3):
        words, scores = _translate(translator.translate_with_options, beam)
        plain_words, plain_scores = _translate(plain, beam)
        assert words == plain_words
        np.testing.assert_allclose(scores, plain_scores, rtol=1e-5, atol=1e-5)
    assert words[0] and not words[1]


def test_cli_exports_an_ensemble_with_servable_ops(pair_export: tuple[int, Path]) -> None:
    status, export = pair_export
    assert status == 0
    assert_servable_ops(export)


def test_metadata_lists_the_members(runs: dict[str, Path], pair_export: tuple[int, Path]) -> None:
    info = json.loads((pair_export[1] / ASSETS_EXTRA_DIR / METADATA_ASSET).read_text())
    members = info["members"]
    assert [m["experiment"] for m in members] == ["tiny", "other"]
    assert [Path(m["run_dir"]).resolve() for m in members] == [
        runs["run"].resolve(),
        runs["other"].resolve(),
    ]
    assert Path(members[1]["checkpoint"]).name == f"ckpt-{OTHER_STEP}"
    assert members[1]["step"] == OTHER_STEP and isinstance(members[0]["step"], int)


def test_shortlist_on_and_off_with_two_architectures(pair_export: tuple[int, Path]) -> None:
    signature = _signature(pair_export[1])
    for beam in (1, 3):
        for shortlist in (0, 1):
            words, scores = _translate(signature, beam, shortlist)
            assert len(words) == len(SENTENCES) and words[1] == b""
            assert np.all(np.isfinite(scores)) and np.all(scores <= 0.0)


def test_ensemble_step_shapes_with_and_without_shortlist(runs: dict[str, Path]) -> None:
    config = load_config(runs["config"])
    models = restore_members(ensemble_members(config, [runs["other"]]), "float32")
    pair = ensemble(models)
    assert isinstance(pair, EnsembleModel) and len(pair.members) == 2
    pieces = tf.constant([0, 1, 2, 3, 7, 9])
    short = shortlisted_model(pair, pieces)
    assert isinstance(short, EnsembleModel)
    assert all(isinstance(m, ShortlistedModel) for m in short.members)
    ids = tf.constant([[5, 6, 3, 0]])  # [B, S], 0 = padding
    for model, columns in ((pair, models[0].target_vocab_size), (short, 6)):
        memory, state = model.encode(ids)
        logits, new_state, weights = model.step(tf.constant([2]), state, memory)
        assert logits.shape == [1, columns] and weights.shape == [1, 4]
        # The mean of log-softmaxes: every member's row sums to one, the mean's to at most one.
        assert float(tf.reduce_logsumexp(logits)) <= 1e-5
        np.testing.assert_allclose(tf.reduce_sum(weights, -1).numpy(), [1.0], rtol=1e-5)
        assert len(new_state) == 2


def test_member_with_other_vocabulary_is_a_clear_error(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(runs["config"])
    with pytest.raises(EnsembleError, match="target SentencePiece model differs"):
        ensemble_members(config, [runs["wrong"]])
    status = cli.main(["export", str(runs["config"]), "--ensemble", str(runs["wrong"])])
    error = capsys.readouterr().err.strip()
    assert status == 2
    assert error.startswith(f"nmt: error: {runs['wrong']}: its target SentencePiece model")
    assert "\n" not in error


def test_evaluate_scores_an_ensemble_export(
    runs: dict[str, Path], pair_export: tuple[int, Path], tmp_path: Path
) -> None:
    source, reference = tmp_path / "src.en", tmp_path / "ref.es"
    source.write_text("the black cats eat the fish .\n", encoding="utf-8")
    reference.write_text("los gatos negros comen el pescado .\n", encoding="utf-8")
    out = tmp_path / "report"
    argv = ["evaluate", str(runs["config"]), "--model", str(pair_export[1]), "--src", str(source)]
    status = cli.main([*argv, "--ref", str(reference), "--out", str(out)])
    assert status == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["system"]["kind"] == "saved_model"


def test_member_without_a_trained_model_or_run_folder(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    config = load_config(runs["config"])
    untrained = tmp_path / "untrained"
    shutil.copytree(runs["other"], untrained, ignore=shutil.ignore_patterns("best"))
    with pytest.raises(FileNotFoundError, match="no trained model"):
        ensemble_members(config, [untrained])
    with pytest.raises(EnsembleError, match="not a run folder"):
        ensemble_members(config, [tmp_path / "missing"])

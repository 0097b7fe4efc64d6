"""A run started from a parent (``train.init_from``): preprocessed with the parent's
SentencePiece models, at step 0 the parent's translations, the kept training state, and a
killed child that resumes itself, never its parent."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import sentencepiece as spm
import tensorflow as tf

from core.contract import TRANSLATIONS, RunLayout
from core.saved_model import load_saved_model
from nmt import stages
from nmt.config import ExperimentConfig, load_config
from nmt.translator_setup import make_translator
from seq2seq.decoding.common import max_output_lengths
from seq2seq.decoding.greedy import greedy_search
from seq2seq.model import Seq2Seq
from seq2seq.parent_weights import ParentWeights
from seq2seq.run_models import restore_best
from seq2seq.training import Trainer
from seq2seq.translator import Translator
from tests.e2e.test_resume_after_kill import final_values
from tests.unit.seq2seq.test_exact_resume import DROPOUT, assert_same_weights, run, validations

REPO = Path(__file__).resolve().parents[3]
# The child's own corpus: the tiny config's grammar with another seed (other sentences).
CHILD_DATA = "data.inputs=[{name: child, format: sample, pairs: 300, seed: 12}]"


def child_config(
    tiny_run: dict[str, Path], root: Path, parent: Path, *more: str
) -> ExperimentConfig:
    """The tiny config as experiment ``child`` under ``root``, started from ``parent``."""
    overrides = (
        f"run_root={root / 'runs'}",
        f"export.base_dir={root / 'models'}",
        "experiment=child",
        f"train.init_from={parent}",
        CHILD_DATA,
        *more,
    )
    return load_config(REPO / "configs" / "tiny.yaml", overrides)


@pytest.fixture(scope="module")
def child(tiny_run: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> ExperimentConfig:
    """The child of the tiny run, preprocessed (its own corpus, the parent's models)."""
    config = child_config(tiny_run, tmp_path_factory.mktemp("child"), tiny_run["run_dir"])
    stages.preprocess(config)
    return config


def with_data(child: ExperimentConfig, root: Path, *more: str) -> ExperimentConfig:
    """A config whose run folder under ``root`` holds a copy of ``child``'s data only."""
    shutil.copytree(RunLayout(child.run_dir).data, root / "runs" / "child" / "data")
    overrides = [f"run_root={root / 'runs'}", *more]
    config = load_config(RunLayout(child.run_dir).config_copy, tuple(overrides))
    return config


def dev_sources(config: ExperimentConfig) -> list[str]:
    path = RunLayout(config.run_dir).split_text("dev", config.data.source_lang)
    return path.read_text(encoding="utf-8").splitlines()


def greedy_ids(model: Seq2Seq, translator: Translator, texts: list[str]) -> np.ndarray:
    """The piece ids that greedy search over the whole vocabulary gives ``texts``."""
    ids = translator.source_ids(translator.normalize(tf.constant(texts)))
    return greedy_search(model, ids, max_output_lengths(ids, 1.5, 5)).ids.numpy()


def step_zero_model(config: ExperimentConfig) -> Seq2Seq:
    """The model of ``config``'s run as training starts, before any update."""
    keras.backend.clear_session()
    train = dataclasses.replace(config.train, tensorboard=False)
    trainer = Trainer(
        config.model, train, RunLayout(config.run_dir), parent=stages.parent_weights(config)
    )
    assert trainer.step == 0
    return trainer.model


def greedy(config: ExperimentConfig, model: Seq2Seq) -> Translator:
    decode = dataclasses.replace(config.decode, strategy="greedy")
    return make_translator(config, model, decode, shortlists=False)


def test_preprocessing_encodes_with_the_parents_models(
    tiny_run: dict[str, Path], child: ExperimentConfig
) -> None:
    ours, theirs = RunLayout(child.run_dir), RunLayout(tiny_run["run_dir"])
    assert ours.source_spm.read_bytes() == theirs.source_spm.read_bytes()
    assert ours.target_spm.read_bytes() == theirs.target_spm.read_bytes()
    stats = json.loads((ours.data / "stats.json").read_text())
    assert stats["sentencepiece"]["reused_from"]["source"] == str(theirs.source_spm)
    assert stats["splits"]["train"] > 200  # the child's own corpus
    processor = spm.SentencePieceProcessor(model_file=str(theirs.source_spm))
    first = next(iter(tf.data.TFRecordDataset(sorted(map(str, ours.data.glob("tfrecords/dev-*"))))))
    example = tf.train.Example.FromString(first.numpy())
    ids = list(example.features.feature["source_ids"].int64_list.value)
    assert ids == processor.encode(dev_sources(child)[0])
    assert ours.lexical_table.read_bytes() != theirs.lexical_table.read_bytes()  # rebuilt


def test_step_zero_translates_the_dev_set_as_the_parent_run(
    tiny_run: dict[str, Path], child: ExperimentConfig, tmp_path: Path
) -> None:
    config = with_data(child, tmp_path)
    model = step_zero_model(config)
    parent = restore_best(config.model, RunLayout(tiny_run["run_dir"]))
    texts = dev_sources(config)
    ours, theirs = greedy(config, model), greedy(config, parent)
    np.testing.assert_array_equal(greedy_ids(model, ours, texts), greedy_ids(parent, theirs, texts))
    # The translators differ only in their model's weights: ours, traced once, translates
    # with the child's weights and then with the parent's.
    got = ours.translate(tf.constant(texts))
    model.set_weights(parent.get_weights())
    want = ours.translate(tf.constant(texts))
    for name in got:
        np.testing.assert_array_equal(got[name].numpy(), want[name].numpy())
    record = json.loads(RunLayout(config.run_dir).parent.read_text())
    best = tf.train.latest_checkpoint(str(RunLayout(tiny_run["run_dir"]).best))
    assert (record["kind"], record["checkpoint"]) == ("run", best)
    keras.backend.clear_session()
    train = dataclasses.replace(config.train, tensorboard=False)
    Trainer(config.model, train, RunLayout(config.run_dir))  # from random weights: no parent
    assert not RunLayout(config.run_dir).parent.exists()


@pytest.mark.usefixtures("tiny_exports_loaded_once")
def test_step_zero_translates_the_dev_set_as_the_parent_export(
    tiny_run: dict[str, Path], child: ExperimentConfig, tmp_path: Path
) -> None:
    config = with_data(child, tmp_path, f"train.init_from={tiny_run['export_base']}")
    model = step_zero_model(config)
    texts = dev_sources(config)
    # Greedy over the whole vocabulary, as validation translates (int32 and float32 inputs).
    options = {"beam_size": 1, "alpha": 0.6, "max_length_a": 1.5, "max_length_b": 5}
    inputs = {name: tf.constant(value) for name, value in (options | {"shortlist": 0}).items()}
    served = load_saved_model(tiny_run["export_base"] / "1").signatures["translate_with_options"]
    want = served(text=tf.constant(texts), **inputs)
    ours = greedy(config, model)  # held: a tf.function method keeps only a weak reference
    got = ours.translate_with_options(tf.constant(texts), *inputs.values())
    for name in want:
        np.testing.assert_array_equal(got[name].numpy(), want[name].numpy())
    assert len(set(got[TRANSLATIONS].numpy())) > 1  # not one string for every input
    parent = restore_best(config.model, RunLayout(tiny_run["run_dir"]))
    theirs = greedy(config, parent)
    np.testing.assert_array_equal(greedy_ids(model, ours, texts), greedy_ids(parent, theirs, texts))
    record = json.loads(RunLayout(config.run_dir).parent.read_text())
    assert (record["kind"], record["version"]) == ("export", 1)


@pytest.mark.parametrize("keep", [(), ("step", "optimizer", "schedule", "best_score")])
def test_the_kept_training_state_comes_from_the_parent_the_rest_starts_fresh(
    keep: tuple[str, ...], tiny_run: dict[str, Path], child: ExperimentConfig, tmp_path: Path
) -> None:
    parent = RunLayout(tiny_run["run_dir"]).checkpoints
    keeps = f"train.init_keep=[{', '.join(keep)}]"
    config = with_data(child, tmp_path, f"train.init_from={parent}", keeps)
    keras.backend.clear_session()
    layout = RunLayout(config.run_dir)
    trainer = Trainer(config.model, config.train, layout, parent=stages.parent_weights(config))
    trainer.manager.save(0)
    got, want = final_values(layout.checkpoints), final_values(parent)
    assert got.keys() == want.keys()
    same_parts = {"model_variables", *(["optimizer_variables"] if keep else [])}
    kept_state = {"lr_scale", "plateau_count", "best_score", "best_dev_loss"} if keep else set()
    for name, value in want.items():
        part, variable = name.split("/")[:2]
        if part in same_parts or (part == "state" and variable in kept_state):
            np.testing.assert_array_equal(got[name], value, err_msg=name)
        elif part == "optimizer_variables":  # Adam's moments and the step start at zero
            assert not np.any(got[name]), name
    steps = [v for k, v in want.items() if k.endswith("iteration/.ATTRIBUTES/VARIABLE_VALUE")]
    assert trainer.step == (int(steps[0]) if keep else 0) and int(steps[0]) > 0
    best = float(want["state/best_score/.ATTRIBUTES/VARIABLE_VALUE"])
    assert float(trainer.state.best_score.numpy()) == (best if keep else float("-inf"))
    state = trainer.state
    fresh = (state.epoch, state.batch_in_epoch, state.validated_step, state.bad_validations)
    assert [int(v.numpy()) for v in fresh] == [0, 0, -1, 0]


@pytest.mark.slow  # a killed run resumed, against an uninterrupted one
def test_a_killed_child_resumes_itself_not_its_parent(
    tiny_run: dict[str, Path], child: ExperimentConfig, tmp_path: Path
) -> None:
    """Killed after step 10 (checkpoint at 8) and run again with a parent that no longer
    exists: it resumes its own checkpoint and ends with the weights, optimizer state and
    validation log of a child that was never killed."""
    parent = ParentWeights(RunLayout(tiny_run["run_dir"]).best, record={"kind": "run"})
    straight_root = RunLayout(with_data(child, tmp_path / "straight").run_dir).root
    straight = run(tiny_run, straight_root, DROPOUT, parent=parent)
    root = RunLayout(with_data(child, tmp_path / "killed").run_dir).root
    assert run(tiny_run, root, DROPOUT, kill_after=10, parent=parent) is None
    record = RunLayout(root).parent.read_text()
    gone = ParentWeights(tmp_path / "gone", record={"kind": "run"})
    resumed = run(tiny_run, root, DROPOUT, parent=gone)
    assert straight is not None and resumed is not None
    assert_same_weights(resumed, straight)
    assert validations(root) == validations(straight_root)
    assert RunLayout(root).parent.read_text() == record  # written once, at the start

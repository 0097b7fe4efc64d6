"""The four stages of an experiment, each handed only its own config sections.

Every stage that writes (preprocessing, training, export; ``run_all`` across
all of them) holds the run folder's lock (``core.run_lock``), and the export
also the lock of its ``serving/models/<experiment>/`` folder: a second writer
fails at once with ``FolderLockedError``. Training first checks that the data
folder is the complete output of a preprocessing run (``core.data_complete``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import tensorflow as tf
import yaml

from core.contract import LOCK_FILE, TRANSLATIONS, RunLayout
from core.data_complete import check_complete
from core.run_lock import folder_lock
from nmt.config import ExperimentConfig, to_dict
from nmt.export_stage import export_run
from nmt.parent import checked_parent
from nmt.translator_setup import load_translator, make_translator
from seq2seq.averaged_run import AverageResult, average_last
from seq2seq.cluster import refuse_cluster, this_worker
from seq2seq.dev_scores import DevText, TranslateFn
from seq2seq.evaluation.inputs import EvaluationError
from seq2seq.evaluation.run import evaluate, read_inputs
from seq2seq.evaluation.systems import (
    checkpoint_system,
    resolve_baseline,
    resolve_saved_model,
    saved_model_system,
)
from seq2seq.model import Seq2Seq
from seq2seq.parent_weights import ParentWeights
from seq2seq.training import Trainer, TrainResult

log = logging.getLogger("seq2seq")
STAGES = ("preprocess", "train", "evaluate", "export")


@contextmanager
def writing(config: ExperimentConfig, export: bool = False) -> Iterator[None]:
    """Hold the run folder's lock (and with ``export`` the export folder's) in the block."""
    with ExitStack() as stack:
        stack.enter_context(folder_lock(RunLayout(config.run_dir).lock))
        if export:
            stack.enter_context(folder_lock(config.export_dir / LOCK_FILE))
        yield


def _layout(config: ExperimentConfig) -> RunLayout:
    layout = RunLayout(config.run_dir)
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.config_copy.write_text(
        yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return layout


def preprocess(config: ExperimentConfig) -> dict[str, Any]:
    """Clean, split, train SentencePiece and encode to TFRecords (Apache Beam)."""
    # Imported here: Apache Beam adds about 70 MiB and 0.4 s to every process that
    # imports it, and training, evaluation and export do not need it.
    from pipeline.preprocess import run_preprocess

    parent = checked_parent(config, "preprocess")
    models = (str(parent.source_spm), str(parent.target_spm)) if parent else None
    with writing(config):
        return run_preprocess(config.data, _layout(config).data, models)


def train(config: ExperimentConfig) -> TrainResult:
    """Train (or resume training) the model; the best weights by dev BLEU (or loss) are kept.

    On a worker of a multi-worker cluster other than the chief, nothing in the run folder is
    locked or written: the chief does that. Raises ``IncompleteDataError`` if preprocessing
    did not complete."""
    if not this_worker(config.train.distribution).is_chief:
        check_complete(RunLayout(config.run_dir).data)
        return _train(config, RunLayout(config.run_dir))
    with writing(config):
        check_complete(RunLayout(config.run_dir).data)
        return _train(config, _layout(config))


def _train(config: ExperimentConfig, layout: RunLayout) -> TrainResult:
    trainer = Trainer(
        config.model,
        config.train,
        layout,
        _dev_text(config, layout),
        _dev_translate_fn(config),
        parent_weights(config),
    )
    result = trainer.train()
    if config.train.average.method == "last":
        _average(config, layout, config.train.average.last)
    return result


def parent_weights(config: ExperimentConfig) -> ParentWeights | None:
    """Where the run's first weights come from: its parent's, unless it has none or resumes
    its own checkpoints."""
    parent = checked_parent(config, "train")
    if parent is None:
        return None
    return ParentWeights(
        parent.weights, parent.kind == "export", config.train.init_keep, parent.record()
    )


def _dev_translate_fn(config: ExperimentConfig) -> Callable[[Seq2Seq], TranslateFn]:
    """How validation translates the dev split with a model: greedy, whole vocabulary."""
    greedy = dataclasses.replace(config.decode, strategy="greedy")

    def dev_translate_fn(model: Seq2Seq) -> TranslateFn:
        # Dev BLEU searches the whole vocabulary, so that it is comparable between runs.
        translator = make_translator(config, model, greedy, shortlists=False)

        def translate(batch: list[str]) -> list[str]:
            result = translator.translate(tf.constant(batch))[TRANSLATIONS].numpy()
            return [t.decode("utf-8") for t in result]

        return translate

    return dev_translate_fn


def _dev_text(config: ExperimentConfig, layout: RunLayout) -> DevText:
    return DevText(
        layout.split_text("dev", config.data.source_lang),
        layout.split_text("dev", config.data.target_lang),
        tokenize=config.evaluate.tokenize,
    )


def average(config: ExperimentConfig, last: int | None = None) -> AverageResult:
    """Average the run's last ``last`` checkpoints (default ``train.average.last``); they
    replace the best model if their dev BLEU is higher."""
    with writing(config):
        check_complete(RunLayout(config.run_dir).data)
        return _average(config, RunLayout(config.run_dir), last or config.train.average.last)


def _average(config: ExperimentConfig, layout: RunLayout, last: int) -> AverageResult:
    return average_last(
        config.model,
        layout,
        last,
        _dev_translate_fn(config),
        _dev_text(config, layout),
        config.train.precision,
    )


def _eval_dir(layout: RunLayout, source: Path | None, model: Path | None) -> Path:
    """``eval/`` for the test split with the checkpoint, else ``eval/<source>[_<model>]/``."""
    parts = [source.name] if source is not None else []
    if model is not None:
        parts.append(f"{model.parent.name}-v{model.name}")
    return layout.eval_dir.joinpath(*(["_".join(parts)] if parts else []))


def evaluate_stage(
    config: ExperimentConfig,
    source: Path | None = None,
    references: Sequence[Path] = (),
    model: Path | None = None,
    baseline: str | Path | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Translate and score the test split, or ``source`` against ``references``, with the run's
    checkpoint or an exported ``model``; writes ``report.json`` and ``report.md``. ``baseline``
    (default ``evaluate.baseline``) is scored beside it with the paired tests: ``served``, an
    export or version folder (translated here) or a file of its hypotheses."""
    if (source is None) != (not references):
        raise EvaluationError(
            "--src and --ref go together: give both, or neither for the test split"
        )
    layout = RunLayout(config.run_dir)
    spec = baseline if baseline is not None else config.evaluate.baseline
    base = resolve_baseline(spec, config.export_dir) if spec is not None else None
    hypotheses = base if base is not None and base.is_file() else None
    lang_src, lang_tgt = config.data.source_lang, config.data.target_lang
    data = read_inputs(
        source or layout.split_text("test", lang_src),
        tuple(references) or (layout.split_text("test", lang_tgt),),
        hypotheses,
    )
    resolved = resolve_saved_model(model) if model is not None else None
    if resolved is not None:
        system = saved_model_system(resolved)
    else:
        system = checkpoint_system(load_translator(config), layout, config.decode)
    return evaluate(
        system,
        data,
        out_dir or _eval_dir(layout, source, resolved),
        config.evaluate,
        config.decode.batch_size,
        config.experiment,
        saved_model_system(base) if base is not None and hypotheses is None else None,
    )


def export(config: ExperimentConfig, ensemble: Sequence[Path] = (), force: bool = False) -> Path:
    """Export the next SavedModel version under ``serving/models/<experiment>/``: the run's
    best model, or its ensemble with the best models of the run folders ``ensemble``, if the
    export gate blesses it or ``force`` overrides it (``GateRefused`` otherwise)."""
    with writing(config, export=True):
        return export_run(config, _layout(config), ensemble, force)


def run_all(config: ExperimentConfig, force: bool = False) -> None:
    """Every stage in order, holding the run folder's and the export folder's locks; the
    export passes the gate unless ``force``.

    Not for a multi-worker cluster, where only training runs on every worker."""
    refuse_cluster(config.train.distribution, "run")
    if config.evaluate.baseline is not None:  # a missing baseline is found before training
        resolve_baseline(config.evaluate.baseline, config.export_dir)
    with writing(config, export=True):
        preprocess(config)
        train(config)
        evaluate_stage(config)
        export(config, force=force)

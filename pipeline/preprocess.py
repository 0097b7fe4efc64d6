"""The preprocessing stage: raw parallel text → cleaned splits, SentencePiece, TFRecords.

One Beam pipeline, whose steps are:

1. ``CleanAndSplit`` (parallel): read chunks → clean → bucket by source →
   dedupe, split, remove leakage and sort each bucket.
2. ``WriteCleanOutputs``: merge the sorted parts into ``text/`` and
   ``rejects.tsv`` (streaming).
3. ``TrainSentencePiece`` (single machine, one element): train on a bounded
   sample of the train split; or ``ReuseSentencePiece``: copy a parent run's models
   (``pipeline.parent_subwords``), so the corpus is encoded with the parent's vocabulary.
4. ``EncodeSplits`` (parallel): encode text chunks → ``tfrecords/`` shards.
5. ``LexicalTable`` (parallel passes, each merged by one step): each source
   piece's likeliest target pieces → ``lexical_table.json``.

All inputs are validated before anything is written. ``complete.json`` is removed
first and written last (``core.data_complete``), so a run that stops half-way
(a full disk, a crash) leaves no data folder that training accepts; a write
failure is reported as one ``OutputError`` and the partial shards and models
are removed. Beam options come from
``config.beam_args`` and are passed through untouched, so the same code runs on
any Beam runner; the output folder must be on a file system every worker can
reach (a local folder for local runners).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from core.config_fields import ConfigError
from core.contract import (
    REJECTS_FILE,
    SENTENCEPIECE_DIR,
    SPLITS,
    STATS_FILE,
    TEXT_DIR,
    TFRECORDS_DIR,
    DataLayout,
)
from core.data_complete import completion_record
from pipeline.beam_run import os_error_in, run_pipeline
from pipeline.buckets import CleanAndSplit
from pipeline.config import PreprocessConfig
from pipeline.encoding import EncodeSplits
from pipeline.errors import CorpusError, OutputError
from pipeline.lexical_table import STATS_PART, LexicalTable
from pipeline.parent_subwords import ReuseSentencePiece
from pipeline.readers import FileTask, ResolvedInput, resolve_input
from pipeline.sample_corpus import write_corpus
from pipeline.splitting import LEAKAGE
from pipeline.stats import (
    check_accounting,
    corpus_stats,
    length_histograms,
    read_counts,
    sampling_stats,
)
from pipeline.subwords import TrainSentencePiece
from pipeline.writers import WriteCleanOutputs, read_json

LOG = logging.getLogger("pipeline")

# Input pairs per shuffle bucket when ``shuffle_buckets`` is 0 (auto).
PAIRS_PER_BUCKET = 50_000
MIN_BUCKETS = 4


def _resolve_inputs(config: PreprocessConfig, root: str) -> list[ResolvedInput]:
    """Validates every file input, then generates ``sample`` corpora under ``corpus/``."""
    specs = config.all_inputs
    resolved = {i.name: resolve_input(i) for i in specs if i.format != "sample"}
    samples = [i for i in specs if i.format == "sample"]
    if samples and "://" in root:
        raise ConfigError(f"{root}: 'sample' inputs need a local output folder")
    for spec in samples:
        out_dir = Path(root)
        corpus_dir = out_dir / "corpus" if len(samples) == 1 else out_dir / "corpus" / spec.name
        src, tgt = write_corpus(
            corpus_dir, spec.pairs, spec.seed, config.source_lang, config.target_lang
        )
        resolved[spec.name] = resolve_input(spec, str(src), str(tgt))
    ordered = [resolved[i.name] for i in specs]
    for r in ordered:
        LOG.info("reading: corpus %r: %d pairs in %d chunk(s)", r.name, r.lines, len(r.tasks))
    return ordered


def bucket_count(config: PreprocessConfig, total_pairs: int) -> int:
    """``shuffle_buckets``, or one bucket per ``PAIRS_PER_BUCKET`` pairs (at least 4)."""
    return config.shuffle_buckets or max(MIN_BUCKETS, math.ceil(total_pairs / PAIRS_PER_BUCKET))


def build_pipeline(
    p: beam.Pipeline,
    config: PreprocessConfig,
    tasks: list[FileTask],
    layout: DataLayout,
    buckets: int,
    models: tuple[str, str] | None = None,
) -> None:
    """Adds the whole stage to ``p``; its last step depends on every output. ``models``:
    the parent's source and target SentencePiece models, used instead of training new ones."""
    subwords = (
        ReuseSentencePiece(models, layout)
        if models
        else TrainSentencePiece(config.sentencepiece, layout)
    )
    entries = (
        p
        | "ListChunks" >> beam.Create(list(enumerate(tasks)))
        | "SpreadChunks" >> beam.Reshuffle()
        | "CleanAndSplit"
        >> CleanAndSplit(config.cleaning, config.split, config.roles(), layout, buckets)
    )
    _ = (
        entries
        | "WriteCleanOutputs" >> WriteCleanOutputs(layout)
        | ("ReuseSentencePiece" if models else "TrainSentencePiece") >> subwords
        | "EncodeSplits"
        >> EncodeSplits(layout, config.num_shards, config.sentencepiece.subword_sampling)
        | "LexicalTable" >> LexicalTable(config.lexical_table, layout)
    )


def _prepare(layout: DataLayout) -> None:
    """Removes the completeness record, then a previous run's shards, models and work files
    (folders come with files)."""
    if FileSystems.exists(layout.complete):
        FileSystems.delete([layout.complete])
    patterns = [
        layout.path(TFRECORDS_DIR, "*.tfrecord"),
        layout.path(SENTENCEPIECE_DIR, "*"),
        layout.lexical_table,
    ]
    stale = [m.path for r in FileSystems.match(patterns) for m in r.metadata_list]
    if stale:
        FileSystems.delete(stale)
    _remove_work(layout)


def _remove_work(layout: DataLayout) -> None:
    if FileSystems.exists(layout.work()):
        FileSystems.delete([layout.work()])


def _collect_stats(config: PreprocessConfig, layout: DataLayout) -> dict[str, Any]:
    """Reads the counts the steps wrote, checks the accounting and logs each step."""
    counts = read_counts(layout.work("clean_counts.json"))
    corpora = corpus_stats(counts, [i.name for i in config.all_inputs])
    check_accounting(corpora)
    for name, c in corpora.items():
        kept, total, reasons = c["kept"], c["input"], c["rejected_by_reason"]
        LOG.info("cleaning: corpus %r: kept %d of %d, rejected %s", name, kept, total, reasons)
    split_sizes = {s: counts.get(s, 0) for s in SPLITS}
    leaked = sum(c["rejected_by_reason"].get(LEAKAGE, 0) for c in corpora.values())
    LOG.info("cleaning: split sizes %s; %d leaked train pair(s) removed", split_sizes, leaked)
    sp_stats = read_json(layout.work("sentencepiece.json"))
    if "error" in sp_stats:
        raise CorpusError(sp_stats["error"])
    sizes = sp_stats["source_vocab_size"], sp_stats["target_vocab_size"]
    how = "the parent's" if "reused_from" in sp_stats else "training"
    LOG.info("%s SentencePiece: vocab sizes source %d, target %d", how, *sizes)
    LOG.info("encoding: train into %d shard(s), dev and test into 1", config.num_shards)
    table = read_json(layout.work(STATS_PART))
    LOG.info("lexical table: %s, %d source pieces", table["method"], table["source_pieces"])
    stats = {
        "corpora": corpora,
        "splits": split_sizes,
        "leakage_removed": leaked,
        "length_histograms": length_histograms(read_counts(layout.work("length_counts.json"))),
        "sentencepiece": sp_stats,
        "lexical_table": table,
    }
    if config.sentencepiece.subword_sampling.copies > 0:
        stats["subword_sampling"] = _sampling_section(config, layout, split_sizes["train"])
    return stats


def _sampling_section(config: PreprocessConfig, layout: DataLayout, train_pairs: int) -> dict:
    """The ``subword_sampling`` section of the stats (with sampled copies only)."""
    sampling = config.sentencepiece.subword_sampling
    pieces = read_counts(layout.work("piece_counts.json"))
    settings = {"nbest_size": sampling.nbest_size, "alpha": sampling.alpha, "seed": sampling.seed}
    section = sampling_stats(pieces, train_pairs, sampling.copies, settings)
    per_sentence = section["pieces_per_sentence"]
    LOG.info(
        "subword sampling: %d sampled copies of train; pieces per sentence %s",
        sampling.copies,
        per_sentence,
    )
    return section


def output_root(out_dir: str | Path) -> str:
    """``out_dir`` as an absolute local path, or unchanged if it is a URL (``gs://...``)."""
    text = str(out_dir)
    return text if "://" in text else str(Path(text).resolve())


def _write_completion(layout: DataLayout) -> None:
    """Writes ``complete.json``: every output of the run with its size, last of all."""
    patterns = [
        layout.path(TEXT_DIR, "*"),
        layout.path(SENTENCEPIECE_DIR, "*"),
        layout.path(TFRECORDS_DIR, "*.tfrecord"),
        layout.path(REJECTS_FILE),
        layout.path(STATS_FILE),
        layout.lexical_table,
    ]
    prefix = layout.root.rstrip("/") + "/"
    sizes = {
        m.path[len(prefix) :]: m.size_in_bytes
        for r in FileSystems.match(patterns)
        for m in r.metadata_list
    }
    with FileSystems.create(layout.complete) as handle:
        handle.write(completion_record(sizes))


def _discard(layout: DataLayout) -> None:
    """Removes a failed run's shards, models and work files, where it can."""
    try:
        _prepare(layout)
    except OSError as err:
        LOG.warning("could not remove the partial outputs under %s: %s", layout.root, err)


def _run(config: PreprocessConfig, layout: DataLayout, models: tuple[str, str] | None) -> dict:
    inputs = _resolve_inputs(config, layout.root)
    _prepare(layout)
    tasks = [task for r in inputs for task in r.tasks]
    buckets = bucket_count(config, sum(r.lines for r in inputs))
    LOG.info("cleaning: %d chunk(s) into %d bucket(s)", len(tasks), buckets)
    try:
        options = PipelineOptions(list(config.beam_args))
        run_pipeline(options, build_pipeline, config, tasks, layout, buckets, models)
        stats = _collect_stats(config, layout)
    finally:
        _remove_work(layout)
    with FileSystems.create(layout.stats) as handle:
        handle.write((json.dumps(stats, indent=2) + "\n").encode("utf-8"))
    _write_completion(layout)
    LOG.info("done: stats written to %s", layout.stats)
    return stats


def run_preprocess(
    config: PreprocessConfig, out_dir: str | Path, models: tuple[str, str] | None = None
) -> dict:
    """Runs the whole preprocessing stage into ``out_dir`` and returns its stats.

    ``models``: a parent's source and target SentencePiece models (paths or URLs), which the
    corpus is encoded with instead of models trained on it (``data.sentencepiece``'s training
    settings are then unused; its subword sampling is not).

    ``out_dir`` is a local folder or a URL of a Beam file system that every
    worker can reach. The stats are also written to ``out_dir/stats.json``, and
    ``complete.json`` last. Raises ``CorpusError`` (before writing anything) for
    missing, unreadable, empty or misaligned inputs, and ``OutputError`` (one
    line) when writing fails, for example on a full disk.
    """
    if config.source_lang == config.target_lang:
        raise ConfigError("source_lang and target_lang must differ")
    root = output_root(out_dir)
    layout = DataLayout(root, config.source_lang, config.target_lang, join=FileSystems.join)
    try:
        return _run(config, layout, models)
    except (OSError, RuntimeError) as err:
        cause = os_error_in(err)
        if cause is None:
            raise
        _discard(layout)
        raise OutputError(
            f"{root}: preprocessing stopped, its partial outputs are not usable: {cause}"
        ) from None

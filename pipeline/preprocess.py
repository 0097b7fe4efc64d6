"""The preprocessing stage: raw parallel text → cleaned splits, SentencePiece, TFRecords.

Three steps, each clearly separated:

1. Beam pipeline ``clean``: read → normalize → filter → dedupe → split → write
   ``text/``, ``rejects.tsv`` and counts.
2. SentencePiece training on the train split (single machine, in the driver).
3. Beam pipeline ``encode``: read the split text → encode → ``tfrecords/`` shards
   and length histograms.

All inputs are validated before anything is written. Beam options come from
``config.beam_args`` and are passed through untouched, so the same code runs on
any Beam runner.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.cleaning import CleanPairs
from pipeline.config import PreprocessConfig
from pipeline.dedupe import DropDuplicates
from pipeline.encoding import EncodePairs
from pipeline.readers import FileTask, ReadCorpus, ResolvedInput, resolve_input
from pipeline.sample_corpus import write_corpus
from pipeline.splitting import LEAKAGE, SPLITS, SplitPairs
from pipeline.stats import (
    CountByKey,
    WriteCounts,
    check_accounting,
    corpus_stats,
    length_histograms,
    read_counts,
)
from pipeline.subwords import train_sentencepiece
from pipeline.writers import WriteAlignedText, WriteRejects
from seq2seq.config_fields import ConfigError

LOG = logging.getLogger("pipeline")


@dataclass(frozen=True)
class Layout:
    """Where every output of the stage lives under ``out_dir``."""

    root: Path
    source_lang: str
    target_lang: str

    def texts(self, split: str) -> tuple[str, str]:
        """The aligned ``text/<split>.<lang>`` files: source side, then target side."""
        text = self.root / "text"
        return str(text / f"{split}.{self.source_lang}"), str(text / f"{split}.{self.target_lang}")

    def model(self, side: str) -> str:
        return str(self.root / "sentencepiece" / f"{side}.model")

    def tfrecord_prefix(self, split: str) -> str:
        return str(self.root / "tfrecords" / split)


def _resolve_inputs(config: PreprocessConfig, out_dir: Path) -> list[ResolvedInput]:
    """Validates every file input, then generates ``sample`` corpora under ``corpus/``."""
    resolved = {i.name: resolve_input(i) for i in config.inputs if i.format != "sample"}
    samples = [i for i in config.inputs if i.format == "sample"]
    for spec in samples:
        corpus_dir = out_dir / "corpus" if len(samples) == 1 else out_dir / "corpus" / spec.name
        src, tgt = write_corpus(
            corpus_dir, spec.pairs, spec.seed, config.source_lang, config.target_lang
        )
        resolved[spec.name] = resolve_input(spec, str(src), str(tgt))
    ordered = [resolved[i.name] for i in config.inputs]
    for r in ordered:
        LOG.info("reading: corpus %r: %d pairs in %d file task(s)", r.name, r.lines, len(r.tasks))
    return ordered


def _constant(value: str) -> Callable[[Any], str]:
    return lambda _element: value


def _build_clean(
    p: beam.Pipeline,
    config: PreprocessConfig,
    inputs: list[ResolvedInput],
    paths: Layout,
    work: Path,
) -> None:
    """Pipeline 1: read → clean → dedupe → split → write text, rejects and counts."""
    formats = {i.name: i.format for i in config.inputs}
    records = [
        p | f"Read[{r.name}]" >> ReadCorpus(r, tsv=formats[r.name] == "tsv") for r in inputs
    ] | "FlattenCorpora" >> beam.Flatten()
    cleaned = records | "Clean" >> CleanPairs(config.cleaning)
    kept, rejects = cleaned.kept, [cleaned.rejected]
    if config.cleaning.drop_duplicates:
        deduped = kept | "Dedupe" >> DropDuplicates()
        kept, rejects = deduped.kept, [*rejects, deduped.rejected]
    splits = kept | "Split" >> SplitPairs(config.split)
    all_rejects = [*rejects, splits[LEAKAGE]] | "FlattenRejects" >> beam.Flatten()
    _ = all_rejects | "WriteRejects" >> WriteRejects(str(paths.root / "rejects.tsv"))
    counts = [
        records | "CountInput" >> CountByKey(lambda r: f"{r[0]}/input"),
        all_rejects | "CountRejected" >> CountByKey(lambda r: f"{r[0]}/rejected/{r[4]}"),
    ]
    for split in SPLITS:
        _ = splits[split] | f"WriteText[{split}]" >> WriteAlignedText(*paths.texts(split))
        counts.append(splits[split] | f"CountKept[{split}]" >> CountByKey(lambda r: f"{r[0]}/kept"))
        counts.append(splits[split] | f"CountSplit[{split}]" >> CountByKey(_constant(split)))
    _ = (
        counts
        | "FlattenCounts" >> beam.Flatten()
        | "WriteCounts" >> WriteCounts(str(work / "clean_counts.json"))
    )


def _build_encode(p: beam.Pipeline, config: PreprocessConfig, paths: Layout, work: Path) -> None:
    """Pipeline 2: read split text → encode → TFRecord shards and length counts."""
    lengths = []
    models = (paths.model("source"), paths.model("target"))
    for split in SPLITS:
        task = ResolvedInput(split, (FileTask(split, 1, paths.texts(split)),), 0)
        encoded = (
            p
            | f"ReadText[{split}]" >> ReadCorpus(task)
            | f"ToPair[{split}]" >> beam.Map(lambda r: (r[2], r[3]))
            | f"SpreadPairs[{split}]" >> beam.Reshuffle()
            | f"Encode[{split}]" >> EncodePairs(*models, split)
        )
        _ = encoded.examples | f"WriteTFRecord[{split}]" >> beam.io.WriteToTFRecord(
            paths.tfrecord_prefix(split),
            file_name_suffix=".tfrecord",
            num_shards=config.num_shards if split == "train" else 1,
        )
        lengths.append(encoded.lengths)
    _ = (
        lengths
        | "FlattenLengths" >> beam.Flatten()
        | "CountLengths" >> CountByKey(lambda key: key)
        | "WriteLengthCounts" >> WriteCounts(str(work / "length_counts.json"))
    )


def _prepare_dirs(out_dir: Path) -> None:
    for sub in ("text", "sentencepiece", "tfrecords"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    for stale in (out_dir / "tfrecords").glob("*.tfrecord"):
        stale.unlink()


def _run(options: PipelineOptions, build: Any, *args: Any) -> None:
    with beam.Pipeline(options=options) as p:
        build(p, *args)


def _clean_step(
    config: PreprocessConfig, inputs: list[ResolvedInput], paths: Layout, work: Path
) -> tuple[dict[str, Any], dict[str, int]]:
    """Runs pipeline 1; returns the per-corpus stats and the split sizes."""
    LOG.info("cleaning: %d corpora", len(inputs))
    _run(PipelineOptions(list(config.beam_args)), _build_clean, config, inputs, paths, work)
    counts = read_counts(str(work / "clean_counts.json"))
    corpora = corpus_stats(counts, [i.name for i in config.inputs])
    check_accounting(corpora)
    for name, c in corpora.items():
        kept, total, reasons = c["kept"], c["input"], c["rejected_by_reason"]
        LOG.info("cleaning: corpus %r: kept %d of %d, rejected %s", name, kept, total, reasons)
    split_sizes = {s: counts.get(s, 0) for s in SPLITS}
    LOG.info("cleaning: split sizes %s", split_sizes)
    return corpora, split_sizes


def _subword_step(config: PreprocessConfig, paths: Layout) -> dict[str, Any]:
    """Trains SentencePiece on the train split; returns its stats."""
    sp_stats = train_sentencepiece(
        Path(paths.texts("train")[0]),
        Path(paths.texts("train")[1]),
        config.sentencepiece,
        paths.root / "sentencepiece",
    )
    sizes = sp_stats["source_vocab_size"], sp_stats["target_vocab_size"]
    LOG.info("training SentencePiece: vocab sizes source %d, target %d", *sizes)
    return sp_stats


def _encode_step(
    config: PreprocessConfig, paths: Layout, work: Path, sizes: dict[str, int]
) -> dict[str, Any]:
    """Runs pipeline 2; returns the length histograms."""
    LOG.info("encoding: %s pairs; train into %d shard(s)", sizes, config.num_shards)
    _run(PipelineOptions(list(config.beam_args)), _build_encode, config, paths, work)
    return length_histograms(read_counts(str(work / "length_counts.json")))


def run_preprocess(config: PreprocessConfig, out_dir: Path) -> dict:
    """Runs the whole preprocessing stage into ``out_dir`` and returns its stats.

    The stats are also written to ``out_dir/stats.json``. Raises ``CorpusError``
    (before writing anything) for missing, unreadable or misaligned inputs.
    """
    if config.source_lang == config.target_lang:
        raise ConfigError("source_lang and target_lang must differ")
    out_dir = Path(out_dir).resolve()
    inputs = _resolve_inputs(config, out_dir)
    _prepare_dirs(out_dir)
    paths = Layout(out_dir, config.source_lang, config.target_lang)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=out_dir))
    try:
        corpora, split_sizes = _clean_step(config, inputs, paths, work)
        sp_stats = _subword_step(config, paths)
        histograms = _encode_step(config, paths, work, split_sizes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stats = {
        "corpora": corpora,
        "splits": split_sizes,
        "leakage_removed": sum(c["rejected_by_reason"].get(LEAKAGE, 0) for c in corpora.values()),
        "length_histograms": histograms,
        "sentencepiece": sp_stats,
    }
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    LOG.info("done: stats written to %s", out_dir / "stats.json")
    return stats

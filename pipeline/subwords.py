"""SentencePiece training: the single-machine step between cleaning and encoding.

It runs as one Beam step on one element (so in one worker, after every split
text file is written) and reads and writes through Beam's file systems.

The model is trained on a bounded, deterministic sample of the train split: the
``max_sentences`` sentences with the smallest SHA-1 hash, fed in hash order.
Normalization is left to the cleaning step (SentencePiece's own is ``identity``),
so decoding a sentence's pieces gives back the cleaned text. Special ids are
fixed (``core.contract``): pad=0, unk=1, bos=2, eos=3.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import apache_beam as beam
import sentencepiece as spm
from apache_beam.io.filesystems import FileSystems

from core.contract import BOS_ID, EOS_ID, PAD_ID, SENTENCEPIECE_DIR, UNK_ID, DataLayout
from pipeline.config import SentencePieceConfig
from pipeline.errors import CorpusError

LOG = logging.getLogger("pipeline")

_SEED = 1234
# Unigram training sums floats per thread, so the thread count changes the model:
# it is fixed (not the machine's core count) to keep models byte-identical everywhere.
_THREADS = 8


def _sentences(paths: Iterable[str | Path]) -> Iterator[str]:
    for path in paths:
        with FileSystems.open(str(path)) as raw:
            for line in io.TextIOWrapper(raw, encoding="utf-8", newline="\n"):
                yield line.rstrip("\n")


def _sample_key(sentence: str) -> tuple[bytes, str]:
    return hashlib.sha1(sentence.encode("utf-8")).digest(), sentence


def training_sample(paths: Iterable[str | Path], max_sentences: int) -> list[str]:
    """At most ``max_sentences`` non-empty lines of ``paths`` with the smallest hashes.

    Streams the files and keeps only the sample in memory; the result is in
    hash order, so it does not depend on the order of the input lines.
    """
    candidates = (s for s in _sentences(paths) if s.strip())
    return [s for _, s in heapq.nsmallest(max_sentences, map(_sample_key, candidates))]


def _train(sentences: list[str], config: SentencePieceConfig) -> bytes:
    """The serialized model; the same sentences and config always give the same bytes."""
    writer = io.BytesIO()
    spm.set_random_generator_seed(_SEED)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=writer,
        model_type=config.model_type,
        vocab_size=config.vocab_size,
        hard_vocab_limit=False,
        character_coverage=config.coverage,
        byte_fallback=config.byte_fallback,
        user_defined_symbols=list(config.user_defined_symbols),
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        max_sentence_length=1 << 16,
        num_threads=_THREADS,
        minloglevel=2,
    )
    return writer.getvalue()


def vocab_text(processor: spm.SentencePieceProcessor) -> str:
    """The ``.vocab`` file SentencePiece writes: ``piece<TAB>score`` per id."""
    return "".join(
        f"{processor.id_to_piece(i)}\t{processor.get_score(i):g}\n"
        for i in range(processor.get_piece_size())
    )


def _write(path: str, data: bytes) -> None:
    with FileSystems.create(path) as handle:
        handle.write(data)


def _train_into(sentences: list[str], config: SentencePieceConfig, names: list[str]) -> int:
    """Trains one model, copies it to each ``name`` (.model and .vocab); its vocab size."""
    if not sentences:
        raise CorpusError("no training sentences are left after cleaning; check the inputs")
    model = _train(sentences, config)
    processor = spm.SentencePieceProcessor(model_proto=model)
    vocab = vocab_text(processor).encode("utf-8")
    for name in names:
        _write(f"{name}.model", model)
        _write(f"{name}.vocab", vocab)
    return int(processor.get_piece_size())


def train_sentencepiece(
    source_text: str | Path,
    target_text: str | Path,
    config: SentencePieceConfig,
    out_dir: str | Path,
) -> dict[str, Any]:
    """Trains ``out_dir/{source,target}.model`` (+ ``.vocab``) from the train split.

    With ``config.joint`` one model is trained on both sides and written under
    both names. Returns the SentencePiece section of ``stats.json``.
    """
    source, target = (
        FileSystems.join(str(out_dir), "source"),
        FileSystems.join(str(out_dir), "target"),
    )
    stats: dict[str, Any] = {
        "model_type": config.model_type,
        "vocab_size": config.vocab_size,
        "joint": config.joint,
        "character_coverage": config.coverage,
        "byte_fallback": config.byte_fallback,
        "user_defined_symbols": list(config.user_defined_symbols),
        "max_sentences": config.max_sentences,
        "special_ids": {"pad": PAD_ID, "unk": UNK_ID, "bos": BOS_ID, "eos": EOS_ID},
    }
    if config.joint:
        sample = training_sample([source_text, target_text], config.max_sentences)
        LOG.info("training SentencePiece: joint model on %d sentences", len(sample))
        size = _train_into(sample, config, [source, target])
        stats |= {"training_sentences": {"joint": len(sample)}}
        stats |= {"source_vocab_size": size, "target_vocab_size": size}
        return stats
    counts, sizes = {}, {}
    for side, text, name in (("source", source_text, source), ("target", target_text, target)):
        sample = training_sample([text], config.max_sentences)
        LOG.info("training SentencePiece: %s model on %d sentences", side, len(sample))
        counts[side], sizes[side] = len(sample), _train_into(sample, config, [name])
    stats |= {"training_sentences": counts}
    stats |= {"source_vocab_size": sizes["source"], "target_vocab_size": sizes["target"]}
    return stats


def subword_step(
    index: Any, make_models: Callable[[], dict[str, Any]], layout: DataLayout
) -> Iterator[Any]:
    """Runs ``make_models`` (which writes both models and returns their stats), writes the
    stats and passes ``index`` on.

    A ``CorpusError`` (nothing to train on, an unusable model) is written to the stats as
    ``error`` for the driver to report, and stops the pipeline's encoding (no element).
    """
    try:
        stats = make_models()
    except CorpusError as err:
        stats = {"error": str(err)}
    with FileSystems.create(layout.work("sentencepiece.json")) as handle:
        handle.write(json.dumps(stats).encode("utf-8"))
    if "error" not in stats:
        yield index


class TrainSentencePiece(beam.PTransform):
    """The single-machine step: one element (the text index) in, the same element out.

    Runs once, after the split texts are written, and before any encoding.
    """

    def __init__(self, config: SentencePieceConfig, layout: DataLayout) -> None:
        super().__init__()
        self._config, self._layout = config, layout

    def expand(self, index: beam.PCollection) -> beam.PCollection:
        layout = self._layout
        train = partial(
            train_sentencepiece,
            *layout.texts("train"),
            self._config,
            layout.path(SENTENCEPIECE_DIR),
        )
        return index | "TrainOnTrainSplit" >> beam.FlatMap(subword_step, train, layout)

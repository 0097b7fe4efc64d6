"""SentencePiece models taken from a parent run instead of trained: the step that replaces
``pipeline.subwords.TrainSentencePiece`` when a run starts from a parent (``train.init_from``).

The parent's weights belong to its vocabularies, so the new corpus is encoded with the
parent's models, copied byte for byte into the data folder (with their ``.vocab`` files); the
``data.sentencepiece`` training settings are then unused. Like training, it runs as one Beam
step on one element, after the split texts are written, and reads and writes through Beam's
file systems.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import apache_beam as beam
import sentencepiece as spm
from apache_beam.io.filesystems import FileSystems

from core.contract import BOS_ID, EOS_ID, PAD_ID, SENTENCEPIECE_DIR, UNK_ID, DataLayout
from pipeline.errors import CorpusError
from pipeline.subwords import subword_step, vocab_text

LOG = logging.getLogger("pipeline")
_SPECIAL = {"pad": PAD_ID, "unk": UNK_ID, "bos": BOS_ID, "eos": EOS_ID}


def _read(path: str) -> bytes:
    with FileSystems.open(path) as handle:
        return bytes(handle.read())


def _processor(path: str, model: bytes) -> spm.SentencePieceProcessor:
    """The model's processor; ``CorpusError`` unless its special ids are the fixed ones."""
    processor = spm.SentencePieceProcessor(model_proto=model)
    ids = {
        "pad": processor.pad_id(),
        "unk": processor.unk_id(),
        "bos": processor.bos_id(),
        "eos": processor.eos_id(),
    }
    if ids != _SPECIAL:
        raise CorpusError(f"{path}: special ids {ids}, expected {_SPECIAL}")
    return processor


def reuse_sentencepiece(source_model: str, target_model: str, out_dir: str) -> dict[str, Any]:
    """Copy the parent's ``source_model`` and ``target_model`` to ``out_dir/{source,target}``
    ``.model`` (with ``.vocab``); returns the SentencePiece section of ``stats.json``."""
    stats: dict[str, Any] = {"reused_from": {"source": source_model, "target": target_model}}
    models = {}
    for side, path in (("source", source_model), ("target", target_model)):
        model = models[side] = _read(path)
        processor = _processor(path, model)
        name = FileSystems.join(out_dir, side)
        for suffix, data in ((".model", model), (".vocab", vocab_text(processor).encode())):
            with FileSystems.create(name + suffix) as handle:
                handle.write(data)
        stats[f"{side}_vocab_size"] = int(processor.get_piece_size())
        LOG.info("SentencePiece: the parent's %s model %s", side, path)
    stats |= {"joint": models["source"] == models["target"], "special_ids": _SPECIAL}
    return stats


class ReuseSentencePiece(beam.PTransform):
    """The single-machine step: one element (the text index) in, the same element out."""

    def __init__(self, models: tuple[str, str], layout: DataLayout) -> None:
        super().__init__()
        self._models, self._layout = models, layout

    def expand(self, index: beam.PCollection) -> beam.PCollection:
        copy = partial(reuse_sentencepiece, *self._models, self._layout.path(SENTENCEPIECE_DIR))
        return index | "CopyParentModels" >> beam.FlatMap(subword_step, copy, self._layout)

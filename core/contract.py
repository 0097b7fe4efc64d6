"""The contract between the stages: every name one stage writes and another one reads.

Preprocessing (``pipeline``) writes the data folder that training (``seq2seq``)
reads; training writes the run folder; the export writes a SavedModel that
serving loads. The special ids, folder and file names, TFRecord features,
signature, input and output names, stored defaults, ``assets.extra`` files and
version folders are named here once. Pure Python: no TensorFlow, no Beam.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Special SentencePiece ids, fixed for every model.
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

# --- The data folder ``runs/<experiment>/data/`` (written by preprocessing) ---------------

SPLITS = ("train", "dev", "test")
TEXT_DIR = "text"
SENTENCEPIECE_DIR = "sentencepiece"
TFRECORDS_DIR = "tfrecords"
REJECTS_FILE = "rejects.tsv"
STATS_FILE = "stats.json"
# Each source piece's likeliest target pieces and every target piece by frequency (JSON):
# decoding's shortlists. Keys: method, iterations, top_k, candidates (one list per source
# id), frequent.
LEXICAL_TABLE_FILE = "lexical_table.json"
WORK_DIR = ".work"  # deleted after the run
# Written last, listing every output with its size: training refuses a data folder without it.
COMPLETE_FILE = "complete.json"
# The lock file of a folder that one process at a time writes (run folder, export base).
LOCK_FILE = ".lock"

# TFRecord features: piece ids without BOS/EOS, and their counts.
SOURCE_IDS, SOURCE_LENGTH = "source_ids", "source_length"
TARGET_IDS, TARGET_LENGTH = "target_ids", "target_length"


def text_file(split: str, lang: str) -> str:
    """``<split>.<lang>``: one side of a split's cleaned text, under ``text/``."""
    return f"{split}.{lang}"


def spm_model_file(side: str) -> str:
    """``<side>.model`` (``side`` is ``source`` or ``target``), under ``sentencepiece/``."""
    return f"{side}.model"


def tfrecord_file(split: str, shard: int, shards: int) -> str:
    """``<split>-<shard>-of-<shards>.tfrecord``, under ``tfrecords/``."""
    return f"{split}-{shard:05d}-of-{shards:05d}.tfrecord"


def tfrecord_glob(split: str) -> str:
    """The glob pattern of every TFRecord shard of ``split``."""
    return f"{split}-*.tfrecord"


# Subword regularization: copies of the train split, each with a sampled segmentation of
# every sentence, as TFRecord splits of their own (``train.sampled-00-00000-of-00004.tfrecord``);
# training epoch ``e`` reads copy ``e mod copies``. ``tfrecord_glob("train")`` does not match them.
SAMPLED_SPLIT_PREFIX = "train.sampled-"


def sampled_split(copy: int) -> str:
    """``train.sampled-<copy>``: the split name of sampled copy ``copy`` (0-based)."""
    return f"{SAMPLED_SPLIT_PREFIX}{copy:02d}"


def sampled_copy(filename: str) -> int | None:
    """The copy number of a sampled copy's TFRecord file name, or None for any other file."""
    if not filename.startswith(SAMPLED_SPLIT_PREFIX) or not filename.endswith(".tfrecord"):
        return None
    number = filename[len(SAMPLED_SPLIT_PREFIX) :].split("-", 1)[0]
    return int(number) if number.isdigit() else None


def epoch_copy(epoch: int, copies: int) -> int:
    """The sampled copy that training epoch ``epoch`` (0-based) reads: ``epoch mod copies``."""
    return epoch % copies


@dataclass(frozen=True)
class DataLayout:
    """The data folder ``root`` (``text/``, ``sentencepiece/``, ``tfrecords/``, ...).

    Paths are strings joined with ``join``: ``os.path.join`` by default, Beam's
    ``FileSystems.join`` in the pipeline, so that the same layout works for a
    local folder and for any file system every worker can reach.
    """

    root: str
    source_lang: str
    target_lang: str
    join: Callable[..., str] = os.path.join

    def path(self, *parts: str) -> str:
        """A path under ``root``."""
        return self.join(self.root, *parts)

    def texts(self, split: str) -> tuple[str, str]:
        """The aligned ``text/<split>.<lang>`` files: source side, then target side."""
        return (
            self.path(TEXT_DIR, text_file(split, self.source_lang)),
            self.path(TEXT_DIR, text_file(split, self.target_lang)),
        )

    def model(self, side: str) -> str:
        """``sentencepiece/<side>.model`` (``side`` is ``source`` or ``target``)."""
        return self.path(SENTENCEPIECE_DIR, spm_model_file(side))

    def tfrecord(self, split: str, shard: int, shards: int) -> str:
        """``tfrecords/<split>-<shard>-of-<shards>.tfrecord``."""
        return self.path(TFRECORDS_DIR, tfrecord_file(split, shard, shards))

    @property
    def rejects(self) -> str:
        """``rejects.tsv``: every rejected pair with its corpus, line and reason."""
        return self.path(REJECTS_FILE)

    @property
    def stats(self) -> str:
        """``stats.json``: counts, rejects, SentencePiece settings and length histograms."""
        return self.path(STATS_FILE)

    @property
    def lexical_table(self) -> str:
        """``lexical_table.json``: the shortlists' lexical table."""
        return self.path(LEXICAL_TABLE_FILE)

    @property
    def complete(self) -> str:
        """``complete.json``: the completeness record, written when every output is."""
        return self.path(COMPLETE_FILE)

    def work(self, *parts: str) -> str:
        """A path under the work folder ``.work/`` (deleted after the run)."""
        return self.path(WORK_DIR, *parts)


# --- The run folder ``runs/<experiment>/`` ---------------------------------------------------

CONFIG_FILE = "config.yaml"  # the resolved config, in the run folder and in the export
# The parent a run's weights started from (``train.init_from``), in a fine-tuned run only.
PARENT_FILE = "parent.json"
# TensorFlow's file that names a checkpoint folder's newest checkpoint.
CHECKPOINT_STATE = "checkpoint"


@dataclass(frozen=True)
class RunLayout:
    """Paths inside ``runs/<experiment>/``; the data folder has the names of ``DataLayout``."""

    root: Path

    @property
    def data(self) -> Path:
        """Preprocessing outputs (text, SentencePiece models, TFRecords, stats)."""
        return self.root / "data"

    @property
    def lock(self) -> Path:
        """The lock file every writing stage holds (``core.run_lock``)."""
        return self.root / LOCK_FILE

    @property
    def source_spm(self) -> Path:
        """The source side's SentencePiece model."""
        return self.data / SENTENCEPIECE_DIR / spm_model_file("source")

    @property
    def target_spm(self) -> Path:
        """The target side's SentencePiece model."""
        return self.data / SENTENCEPIECE_DIR / spm_model_file("target")

    @property
    def lexical_table(self) -> Path:
        """The shortlists' lexical table (``data/lexical_table.json``)."""
        return self.data / LEXICAL_TABLE_FILE

    def split_text(self, split: str, lang: str) -> Path:
        """Cleaned text of one side of a split: ``data/text/<split>.<lang>``."""
        return self.data / TEXT_DIR / text_file(split, lang)

    @property
    def checkpoints(self) -> Path:
        """Rolling training checkpoints, for resuming."""
        return self.root / "checkpoints"

    @property
    def best(self) -> Path:
        """Checkpoint folder of the model with the best dev score (BLEU, or loss)."""
        return self.root / "best"

    @property
    def averaged(self) -> Path:
        """Checkpoint folder of the average of the last training checkpoints (``nmt average``)."""
        return self.root / "averaged"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files."""
        return self.root / "tensorboard"

    @property
    def train_log(self) -> Path:
        """One JSON object per validation: step, epoch, losses, dev BLEU, rate, throughput."""
        return self.root / "train_log.jsonl"

    @property
    def eval_dir(self) -> Path:
        """Evaluation reports."""
        return self.root / "eval"

    @property
    def config_copy(self) -> Path:
        """The resolved config the run used."""
        return self.root / CONFIG_FILE

    @property
    def parent(self) -> Path:
        """``parent.json``: the run or export whose weights this run started from, if any."""
        return self.root / PARENT_FILE

    @property
    def checkpoint_folders(self) -> tuple[Path, ...]:
        """Every folder of model checkpoints: best, averaged and the rolling checkpoints."""
        return (self.best, self.averaged, self.checkpoints)


# --- The export ``serving/models/<experiment>/<version>/`` -----------------------------------

SAVED_MODEL_FILE = "saved_model.pb"
# The SavedModel's variables: a TensorFlow checkpoint with this prefix in the version folder.
VARIABLES_PREFIX = "variables/variables"
ASSETS_EXTRA_DIR = "assets.extra"
# Files in ``assets.extra/``: the run's config, both SentencePiece models, version metadata,
# and the blessing record: the export gate's scores, baseline version, test set, sacrebleu
# signature, p-value and decision (forced or not), which the server's model metadata shows.
CONFIG_ASSET = CONFIG_FILE
SOURCE_MODEL_ASSET = spm_model_file("source")
TARGET_MODEL_ASSET = spm_model_file("target")
METADATA_ASSET = "metadata.json"
BLESSING_ASSET = "blessing.json"

# Signatures: the best translation with the exported defaults, with explicit options,
# and every hypothesis of the beam.
SERVING_DEFAULT = "serving_default"
TRANSLATE_WITH_OPTIONS = "translate_with_options"
NBEST = "nbest"
SIGNATURES = (SERVING_DEFAULT, TRANSLATE_WITH_OPTIONS, NBEST)

# Inputs: the texts, and the scalar options of ``translate_with_options`` and ``nbest``.
TEXT = "text"
BEAM_SIZE, ALPHA, MAX_LENGTH_A, MAX_LENGTH_B = "beam_size", "alpha", "max_length_a", "max_length_b"
# int32: 1 searches the lexical shortlist, 0 the whole vocabulary (exports made before
# shortlists have no such input).
SHORTLIST = "shortlist"
OPTIONS = (BEAM_SIZE, ALPHA, MAX_LENGTH_A, MAX_LENGTH_B, SHORTLIST)
# Outputs of every signature.
TRANSLATIONS, SCORES = "translations", "scores"
# Option input -> the exported model's variable that holds its default.
DEFAULT_VARIABLES = {
    BEAM_SIZE: "default_beam_size",
    ALPHA: "default_alpha",
    MAX_LENGTH_A: "default_a",
    MAX_LENGTH_B: "default_b",
    SHORTLIST: "default_shortlist",
}


def _is_version(folder: Path, complete: bool) -> bool:
    if not folder.name.isdigit():
        return False
    return (folder / SAVED_MODEL_FILE).is_file() if complete else folder.is_dir()


def version_folders(base: Path, complete: bool = False) -> list[int]:
    """Integer version folders under ``base``, ascending (none if ``base`` is no folder).

    With ``complete``, only those that hold a ``saved_model.pb``.
    """
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if _is_version(p, complete))


def latest_version(base: Path) -> Path | None:
    """The highest version folder under ``base`` that holds a ``saved_model.pb`` (what a
    server serves by default), or None if there is none."""
    versions = version_folders(base, complete=True)
    return base / str(versions[-1]) if versions else None


def resolve_model(path: Path) -> Path:
    """``path`` if it is a version folder (it holds ``saved_model.pb``), else the highest
    version under it (``resolve_version``; ``FileNotFoundError`` if there is none)."""
    return path if (path / SAVED_MODEL_FILE).is_file() else resolve_version(path, None)


def resolve_version(model_dir: Path, version: int | None) -> Path:
    """The folder of ``version`` under ``model_dir``, or of the highest version."""
    if version is not None:
        path = model_dir / str(version)
        if not (path / SAVED_MODEL_FILE).exists():
            raise FileNotFoundError(f"{path}: no SavedModel for version {version}")
        return path
    versions = version_folders(model_dir)
    if not versions:
        raise FileNotFoundError(f"{model_dir}: no version folders (1, 2, ...) found")
    return model_dir / str(versions[-1])

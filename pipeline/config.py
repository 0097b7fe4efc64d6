"""The ``data`` section of an experiment config: what the preprocessing stage reads and writes.

Each class is a frozen dataclass whose defaults are the preprocessing stage's
own defaults; ``seq2seq.config`` builds them from YAML.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from core.config_fields import choice
from core.languages import default_character_coverage
from core.normalization import UNICODE_FORMS, Normalization

INPUT_FORMATS = ("aligned", "tsv", "sample")


@dataclass(frozen=True)
class InputConfig:
    """One named parallel corpus.

    ``aligned``: two line-aligned files (``source`` and ``target``, Moses style).
    ``tsv``: one tab-separated file (``path``) with the two sides in
    ``source_column`` and ``target_column``.
    ``sample``: the built-in grammar corpus, generated with ``pairs`` and ``seed``.
    Paths may be globs, gzip-compressed (``.gz``) or any Beam file system URL.
    """

    name: str
    format: str = choice("aligned", INPUT_FORMATS)
    source: str = ""
    target: str = ""
    path: str = ""
    source_column: int = 0
    target_column: int = 1
    pairs: int = 24000
    seed: int = 7

    def __post_init__(self) -> None:
        if self.format == "aligned" and not (self.source and self.target):
            raise ValueError(f"input {self.name!r}: format 'aligned' needs 'source' and 'target'")
        if self.format == "tsv" and not self.path:
            raise ValueError(f"input {self.name!r}: format 'tsv' needs 'path'")
        if self.source_column < 0 or self.target_column < 0:
            raise ValueError(f"input {self.name!r}: column indices must be >= 0")
        if self.format == "sample" and self.pairs < 1:
            raise ValueError(f"input {self.name!r}: 'pairs' must be >= 1")


@dataclass(frozen=True)
class CleaningConfig:
    """Normalization and filters applied to every pair; each filter counts its rejects."""

    unicode_form: str = choice("NFC", UNICODE_FORMS)
    normalize_whitespace: bool = True
    unescape_html: bool = True
    max_tokens: int = 100
    max_chars: int = 1000
    max_length_ratio: float = 3.0
    drop_source_equals_target: bool = True
    drop_duplicates: bool = True

    def normalization(self) -> Normalization:
        """The normalisation settings: what cleaning and the exported model both apply."""
        return Normalization(self.unicode_form, self.unescape_html, self.normalize_whitespace)


@dataclass(frozen=True)
class SplitConfig:
    """Hash-based train/dev/test split keyed on the source sentence, or given dev/test files.

    ``dev_inputs`` / ``test_inputs`` (``aligned`` or ``tsv`` corpora) replace the
    hash split for that split: their cleaned pairs are the whole split, and the
    matching fraction is then ignored. Either way, train pairs whose source
    occurs in dev or test are removed from train as ``leakage``.
    """

    dev_fraction: float = 0.05
    test_fraction: float = 0.05
    salt: str = "nmt-split"
    dev_inputs: tuple[InputConfig, ...] = ()
    test_inputs: tuple[InputConfig, ...] = ()

    def __post_init__(self) -> None:
        if not (0.0 <= self.dev_fraction < 1.0 and 0.0 <= self.test_fraction < 1.0):
            raise ValueError("dev_fraction and test_fraction must be in [0, 1)")
        if self.dev_fraction + self.test_fraction >= 1.0:
            raise ValueError("dev_fraction + test_fraction must be below 1")
        for spec in (*self.dev_inputs, *self.test_inputs):
            if spec.format == "sample":
                raise ValueError(
                    f"input {spec.name!r}: dev/test inputs must be aligned or tsv files"
                )

    @property
    def hash_dev_fraction(self) -> float:
        """The share of sources hashed into dev (0 when dev comes from files)."""
        return 0.0 if self.dev_inputs else self.dev_fraction

    @property
    def hash_test_fraction(self) -> float:
        """The share of sources hashed into test (0 when test comes from files)."""
        return 0.0 if self.test_inputs else self.test_fraction


@dataclass(frozen=True)
class SubwordSamplingConfig:
    """Subword regularization (Kudo 2018): copies of the train split with sampled segmentations.

    With ``copies > 0`` preprocessing writes that many extra encodings of the train
    split, each sentence segmented by one of its ``nbest_size`` best segmentations,
    drawn with probability proportional to ``exp(alpha * log-probability)``; training
    epoch ``e`` reads copy ``e mod copies``. The same ``seed`` gives the same copies.
    Dev, test and the lexical table keep the standard (best) segmentation.
    """

    copies: int = 0
    nbest_size: int = 16
    alpha: float = 0.1
    seed: int = 1

    def __post_init__(self) -> None:
        if self.copies < 0:
            raise ValueError("subword_sampling.copies must be >= 0 (0: off)")
        if self.nbest_size < 2:
            raise ValueError("subword_sampling.nbest_size must be >= 2")
        if self.alpha < 0.0:
            raise ValueError("subword_sampling.alpha must be >= 0")


@dataclass(frozen=True)
class SentencePieceConfig:
    """Subword model trained on the train split (a single-machine step)."""

    model_type: str = choice("unigram", ("unigram", "bpe"))
    vocab_size: int = 8000
    joint: bool = True
    character_coverage: float | None = None
    byte_fallback: bool = False
    user_defined_symbols: tuple[str, ...] = ()
    max_sentences: int = 1_000_000
    subword_sampling: SubwordSamplingConfig = field(default_factory=SubwordSamplingConfig)

    def __post_init__(self) -> None:
        if self.vocab_size < 8:
            raise ValueError("vocab_size must be at least 8")
        if self.model_type == "bpe" and self.subword_sampling.copies > 0:
            raise ValueError(
                "subword_sampling.copies > 0 needs model_type 'unigram': BPE models have no "
                "n-best segmentations to sample from (BPE-dropout is not built)"
            )
        if self.character_coverage is not None and not 0.0 < self.character_coverage <= 1.0:
            raise ValueError("character_coverage must be in (0, 1]")

    @property
    def coverage(self) -> float:
        """``character_coverage``, or the default for unknown languages (1.0) if unset."""
        if self.character_coverage is None:
            return default_character_coverage()
        return self.character_coverage

    def for_languages(self, *languages: str) -> SentencePieceConfig:
        """This config with ``character_coverage`` chosen by language where it is not set."""
        if self.character_coverage is not None:
            return self
        coverage = default_character_coverage(*languages)
        return dataclasses.replace(self, character_coverage=coverage)


LEXICAL_METHODS = ("ibm1", "dice")


@dataclass(frozen=True)
class LexicalTableConfig:
    """The lexical table of decoding's shortlists, estimated on the encoded train split.

    ``method``: IBM Model 1 by EM (``ibm1``, ``iterations`` passes) or the Dice
    coefficient of sentence co-occurrence (``dice``, one pass); ``top_k``: target
    pieces kept per source piece (decoding may use fewer).
    """

    method: str = choice("ibm1", LEXICAL_METHODS)
    iterations: int = 5
    top_k: int = 100

    def __post_init__(self) -> None:
        if self.iterations < 1 or self.top_k < 1:
            raise ValueError("iterations and top_k must be >= 1")


@dataclass(frozen=True)
class PreprocessConfig:
    """Everything the preprocessing stage needs, and nothing else.

    ``shuffle_buckets``: how many buckets the cleaned pairs are hashed into (by
    source) for deduplication, splitting and sorting; each bucket is held in
    one worker's memory, so more buckets bound memory on larger corpora
    (0: one per 50,000 input pairs, at least 4). Outputs do not depend on it.
    """

    source_lang: str = "src"
    target_lang: str = "tgt"
    inputs: tuple[InputConfig, ...] = ()
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    sentencepiece: SentencePieceConfig = field(default_factory=SentencePieceConfig)
    lexical_table: LexicalTableConfig = field(default_factory=LexicalTableConfig)
    num_shards: int = 4
    shuffle_buckets: int = 0
    beam_args: tuple[str, ...] = ("--runner=FnApiRunner",)

    def __post_init__(self) -> None:
        if not self.inputs:
            raise ValueError("'inputs' must list at least one corpus")
        names = [i.name for i in self.all_inputs]
        if len(set(names)) != len(names):
            raise ValueError(
                f"input names (inputs, dev_inputs, test_inputs) must be unique: {names}"
            )
        if self.num_shards < 1:
            raise ValueError("num_shards must be >= 1")
        if self.shuffle_buckets < 0:
            raise ValueError("shuffle_buckets must be >= 0 (0 chooses one per 50,000 pairs)")
        # Where the config is silent, the languages choose (frozen: set once, here).
        languages = (self.source_lang, self.target_lang)
        object.__setattr__(self, "sentencepiece", self.sentencepiece.for_languages(*languages))

    @property
    def all_inputs(self) -> tuple[InputConfig, ...]:
        """Every corpus read: ``inputs``, then ``split.dev_inputs``, then ``split.test_inputs``."""
        return (*self.inputs, *self.split.dev_inputs, *self.split.test_inputs)

    def roles(self) -> dict[str, str]:
        """Corpus name → ``train`` (hash-split inputs), ``dev`` or ``test`` (given files)."""
        roles = {i.name: "train" for i in self.inputs}
        roles |= {i.name: "dev" for i in self.split.dev_inputs}
        return roles | {i.name: "test" for i in self.split.test_inputs}

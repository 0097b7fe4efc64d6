"""The seq2seq sections of an experiment config: frozen, typed, checked when built.

``model`` and ``train`` go to training, ``decode`` to decoding, ``evaluate``
and ``export`` to their stages; ``nmt.config`` composes the whole experiment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config_fields import choice

# Keras dtype policies: float32, or float32 weights with float16/bfloat16 computation.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Decoding needs no float32 master weights: weights and computation share one type.
INFERENCE_PRECISIONS = ("float32", "bfloat16", "float16")
# Learning-rate decay after warmup (``seq2seq.schedules``): constant, inverse square root,
# halving on a dev plateau, or half a cosine down to zero at ``train.max_steps``.
LR_DECAYS = ("none", "inverse_sqrt", "plateau", "cosine")


# What a run started from a parent (``train.init_from``) may keep of the parent's training
# state besides its weights: the step count (and with it the warmup and decay position),
# Adam's moments, the plateau decay's rate scale and counter, the best dev score and loss.
INIT_KEEP = ("step", "optimizer", "schedule", "best_score")


# How the decoder's initial state is formed: a tanh layer over both directions' final
# states or over the backward encoder's state at the first source token, or zeros.
BRIDGES = ("final", "backward", "zero")


@dataclass(frozen=True)
class ModelConfig:
    """Encoder-decoder architecture."""

    cell: str = choice("lstm", ("lstm", "gru"))
    embedding_size: int = 256
    units: int = 256
    encoder_layers: int = 1
    bidirectional: bool = True
    decoder_layers: int = 1
    attention: str = choice("luong", ("luong", "bahdanau"))
    luong_score: str = choice("general", ("general", "dot"))
    luong_scale: bool = True
    input_feeding: bool = True
    dropout: float = 0.2
    tie_target_embeddings: bool = False
    share_embeddings: bool = False
    bridge: str = choice("final", BRIDGES)

    def __post_init__(self) -> None:
        for name in ("embedding_size", "units", "encoder_layers", "decoder_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")


@dataclass(frozen=True)
class AverageConfig:
    """Averaged weights (``seq2seq.weight_average``), kept only where they score a higher dev
    BLEU than the best single checkpoint: ``ema`` keeps an exponential moving average during
    training and validates it beside the raw weights; ``last`` averages the last ``last``
    checkpoints when training ends (``nmt average`` does it for any run)."""

    method: str = choice("none", ("none", "last", "ema"))
    last: int = 4
    ema_decay: float = 0.999

    def __post_init__(self) -> None:
        if self.last < 1:
            raise ValueError("average.last must be >= 1")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("average.ema_decay must be in [0, 1)")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, batching and checkpointing."""

    batch_size: int = 64
    batch_unit: str = choice("sentences", ("sentences", "tokens"))
    max_length: int = 100
    epochs: int = 10
    max_steps: int = 0
    max_minutes: float = 0.0
    learning_rate: float = 1e-3
    warmup_steps: int = 0
    lr_decay: str = choice("none", LR_DECAYS)
    decay_factor: float = 0.5
    decay_patience: int = 2
    adam_epsilon: float = 1e-7
    clip_norm: float = 5.0
    label_smoothing: float = 0.1
    shuffle_buffer: int = 20000
    validate_every: int = 0
    dev_bleu: bool = True
    patience: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    tensorboard: bool = True
    distribution: str = choice("auto", ("auto", "one_device", "mirrored", "multi_worker"))
    precision: str = choice("float32", PRECISIONS)
    seed: int = 1234
    average: AverageConfig = field(default_factory=AverageConfig)
    # A parent run or export whose weights the run starts from ("": random weights).
    init_from: str = ""
    # What else the run takes from the parent (``INIT_KEEP``); the rest starts fresh.
    init_keep: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check_init()
        if self.average.method == "last" and self.average.last > self.keep_checkpoints:
            raise ValueError(
                f"average.last ({self.average.last}) needs keep_checkpoints >= it "
                f"({self.keep_checkpoints})"
            )
        if self.batch_size < 1 or self.max_length < 1 or self.epochs < 1:
            raise ValueError("batch_size, max_length and epochs must be >= 1")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError("label_smoothing must be in [0, 1)")
        if self.adam_epsilon <= 0.0:
            raise ValueError("adam_epsilon must be > 0")
        if not 0.0 < self.decay_factor <= 1.0:
            raise ValueError("decay_factor must be in (0, 1]")
        if self.lr_decay == "cosine" and self.max_steps <= self.warmup_steps:
            raise ValueError(
                f"lr_decay cosine ends at max_steps, which must exceed warmup_steps "
                f"(max_steps {self.max_steps}, warmup_steps {self.warmup_steps})"
            )
        if self.batch_unit == "tokens" and self.batch_size < self.max_length:
            raise ValueError("a batch of tokens must hold at least max_length tokens")

    def _check_init(self) -> None:
        unknown = [part for part in self.init_keep if part not in INIT_KEEP]
        if unknown:
            raise ValueError(
                f"init_keep: unknown part(s) {', '.join(map(repr, unknown))}; "
                f"valid options: {', '.join(INIT_KEEP)}"
            )
        if len(set(self.init_keep)) != len(self.init_keep):
            raise ValueError(f"init_keep lists a part twice: {list(self.init_keep)}")
        if self.init_keep and not self.init_from:
            raise ValueError("init_keep needs init_from (a parent to keep them from)")


@dataclass(frozen=True)
class ShortlistConfig:
    """Lexical shortlists (``seq2seq.shortlist``): per batch, searches score only the union of
    the ``top_k`` likeliest target pieces of each source piece, the ``frequent`` most frequent
    target pieces and the special ids. ``enabled`` is the export's default; a request can
    switch it off (the ``shortlist`` input)."""

    enabled: bool = False
    top_k: int = 20
    frequent: int = 100

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.frequent < 0:
            raise ValueError("shortlist top_k must be >= 1 and frequent >= 0")


@dataclass(frozen=True)
class DecodeConfig:
    """How translations are searched for (also the export's defaults)."""

    strategy: str = choice("greedy", ("greedy", "beam"))
    beam_size: int = 5
    length_penalty: float = 0.6
    max_length_a: float = 1.5
    max_length_b: int = 10
    batch_size: int = 64
    precision: str = choice("float32", INFERENCE_PRECISIONS)
    shortlist: ShortlistConfig = field(default_factory=ShortlistConfig)

    def __post_init__(self) -> None:
        if self.beam_size < 1 or self.batch_size < 1:
            raise ValueError("beam_size and batch_size must be >= 1")


BLEU_TOKENIZERS = ("13a", "intl", "none", "char", "zh", "ja-mecab", "ko-mecab", "flores200")


@dataclass(frozen=True)
class BleuVariant:
    """An extra, tokenized BLEU for comparison with older papers (not comparable with default)."""

    tokenize: str = choice("intl", BLEU_TOKENIZERS)
    lowercase: bool = False


@dataclass(frozen=True)
class EvaluateConfig:
    """Scoring with sacrebleu: metrics, bootstrap intervals, paired tests and report contents."""

    # None: chosen by the target language as sacrebleu's command line does (set by the
    # experiment config: ja-mecab for Japanese, zh for Chinese, ko-mecab for Korean, else 13a).
    tokenize: str | None = choice(None, BLEU_TOKENIZERS)
    extra_bleu: tuple[BleuVariant, ...] = ()
    bootstrap: int = 1000
    seed: int = 12345
    paired_test: str = choice("bs", ("bs", "ar"))
    paired_samples: int = 0
    length_buckets: tuple[int, ...] = (10, 20, 30, 40)
    samples: int = 20
    extremes: int = 5
    heatmaps: int = 3
    # Scored beside the system, on the same source, with the paired test: ``served`` (the
    # latest version under the experiment's export folder), an export folder
    # (``serving/models/NAME``: its latest version) or version folder, or a hypothesis file.
    baseline: str | None = None

    def __post_init__(self) -> None:
        if self.baseline is not None and not self.baseline.strip():
            raise ValueError("baseline must be 'served' or a path (or null for none)")
        if self.bootstrap < 0 or self.bootstrap == 1 or self.paired_samples < 0:
            raise ValueError("bootstrap must be 0 (off) or >= 2; paired_samples must be >= 0")
        if self.seed < 1:
            raise ValueError("seed must be >= 1 (sacrebleu treats 0 as unseeded)")
        if min(self.samples, self.extremes, self.heatmaps) < 0:
            raise ValueError("samples, extremes and heatmaps must be >= 0")
        edges = list(self.length_buckets)
        if any(e < 1 for e in edges) or edges != sorted(set(edges)):
            raise ValueError("length_buckets must be increasing positive word counts")


@dataclass(frozen=True)
class GateConfig:
    """What may reach serving (``nmt export``, ``nmt run``): a candidate is refused when its
    test BLEU is below ``min_bleu``, or, with ``no_regression`` and a version already served,
    when it is below that version on the experiment's test split, significantly (sacrebleu's
    paired test, p < ``alpha``) or by more than ``max_drop`` BLEU points."""

    min_bleu: float = 0.0
    no_regression: bool = True
    alpha: float = 0.05
    max_drop: float = 1.0

    def __post_init__(self) -> None:
        if self.min_bleu < 0.0 or self.max_drop < 0.0:
            raise ValueError("gate min_bleu and max_drop must be >= 0")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError("gate alpha must be in (0, 1)")


@dataclass(frozen=True)
class ExportConfig:
    """The versioned SavedModel for TensorFlow Serving, and the gate before it."""

    base_dir: str = "serving/models"
    max_input_length: int = 200
    gate: GateConfig = field(default_factory=GateConfig)

"""How an experiment's model becomes a ``Translator``: the run's tokenizers, normalisation,
decoding defaults and lexical shortlists around a model or an ensemble.

Training's validation, evaluation and the export all build their translators here, so the
three translate with the same set-up.
"""

from __future__ import annotations

from core.contract import RunLayout
from core.startup_logs import quiet_native_logs
from nmt.config import ExperimentConfig
from seq2seq.config import DecodeConfig
from seq2seq.ensemble import EnsembleModel
from seq2seq.model import Seq2Seq
from seq2seq.run_models import restore_best
from seq2seq.shortlist import Shortlist, read_table
from seq2seq.translator import Translator


def load_shortlist(
    config: ExperimentConfig, model: Seq2Seq, decode: DecodeConfig
) -> Shortlist | None:
    """The run's lexical table as the graph's ``Shortlist``, or ``None`` if the run has none
    and shortlists are off. Raises ``ShortlistError`` if they are on and it cannot be read."""
    path = RunLayout(config.run_dir).lexical_table
    if not decode.shortlist.enabled and not path.is_file():
        return None
    settings = decode.shortlist
    candidates, always = read_table(
        path, settings.top_k, settings.frequent, model.source_vocab_size, model.target_vocab_size
    )
    return Shortlist(candidates, always, model.target_vocab_size)


def make_translator(
    config: ExperimentConfig,
    model: Seq2Seq | EnsembleModel,
    decode: DecodeConfig | None = None,
    shortlists: bool = True,
) -> Translator:
    """``model`` (or an ensemble over this run's vocabularies) with this run's tokenizers,
    normalisation and decoding defaults, and with ``shortlists`` the run's lexical table
    (``load_shortlist``)."""
    layout = RunLayout(config.run_dir)
    decode = decode or config.decode
    first = model.members[0] if isinstance(model, EnsembleModel) else model
    shortlist = load_shortlist(config, first, decode) if shortlists else None
    source_spm, target_spm = layout.source_spm.read_bytes(), layout.target_spm.read_bytes()
    # SentencePiece logs "precompiled_charsmap is empty" as it loads each model (ours
    # normalise nothing themselves: the normaliser runs before them).
    with quiet_native_logs():
        return Translator(
            model,
            source_spm,
            target_spm,
            decode,
            config.data.cleaning.normalization(),
            config.export.max_input_length,
            shortlist,
        )


def load_translator(config: ExperimentConfig) -> Translator:
    """The best model of a trained run with its tokenizers and decoding defaults."""
    layout = RunLayout(config.run_dir)
    return make_translator(config, restore_best(config.model, layout, config.decode.precision))

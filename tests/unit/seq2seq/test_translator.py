"""The export's text-to-ids step: EOS, truncation and width padding."""

from __future__ import annotations

from types import SimpleNamespace

import tensorflow as tf

from core.contract import EOS_ID
from seq2seq.translator import SOURCE_WIDTH_MULTIPLE, Translator


def word_lengths(texts: tf.Tensor) -> tf.RaggedTensor:
    """A stand-in tokenizer: one id per word, the word's length plus 3."""
    return tf.strings.length(tf.strings.split(texts)) + 3


def source_ids(texts: list[str], max_input_length: int = 200) -> list[list[int]]:
    translator = SimpleNamespace(
        source_tokenizer=SimpleNamespace(tokenize=word_lengths), max_input_length=max_input_length
    )
    ids = Translator.source_ids(translator, tf.constant(texts))  # type: ignore[arg-type]
    return ids.numpy().tolist()  # type: ignore[no-any-return]


def test_source_ids_end_with_eos_and_pad_to_the_width_multiple() -> None:
    ids = source_ids(["a bb", "ccc", ""])
    assert len(ids[0]) == SOURCE_WIDTH_MULTIPLE
    assert ids[0][:3] == [4, 5, EOS_ID] and not any(ids[0][3:])
    assert ids[1][:2] == [6, EOS_ID] and not any(ids[1][2:])
    assert ids[2][:1] == [EOS_ID] and not any(ids[2][1:])


def test_source_width_is_rounded_up_only_when_needed() -> None:
    words = SOURCE_WIDTH_MULTIPLE - 1  # plus EOS: exactly the multiple
    assert len(source_ids([" ".join(["w"] * words)])[0]) == SOURCE_WIDTH_MULTIPLE
    assert len(source_ids([" ".join(["w"] * (words + 1))])[0]) == 2 * SOURCE_WIDTH_MULTIPLE


def test_long_sources_are_truncated_before_eos() -> None:
    ids = source_ids([" ".join(["w"] * 50)], max_input_length=10)[0]
    assert ids[:10] == [4] * 9 + [EOS_ID]
    assert len(ids) == 2 * SOURCE_WIDTH_MULTIPLE and not any(ids[10:])

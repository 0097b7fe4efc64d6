"""The normalisation of ``core.normalization`` in TensorFlow ops.

This is the implementation inside every export (and the one the serving length
check runs), built from core TensorFlow and tensorflow-text ops only, so stock
TensorFlow Serving runs it. It follows the specification's data: the reference
pattern, HTML5's named references and numeric exceptions as lookup tables, the
line-break and whitespace characters as regular-expression classes. The
conformance test demands the same bytes as the Python implementation.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_text as tf_text

from core.normalization import (
    ENTITY_PATTERN,
    LINE_BREAKS,
    MAX_CODE_POINT,
    REPLACEMENT_CHARACTER,
    WHITESPACE,
    Normalization,
    character_class,
    named_references,
    numeric_exceptions,
)

# Numbers are read from their last 8 digits; a reference with more significant digits
# is out of range whatever they are (10**7 and 16**7 both exceed MAX_CODE_POINT).
_DIGITS = 8
_OUT_OF_RANGE = MAX_CODE_POINT + 1


def _index_table(keys: list[str] | list[int], dtype: tf.DType) -> tf.lookup.StaticHashTable:
    """A table from each key to its position in ``keys``; -1 for anything else."""
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, dtype), tf.range(len(keys), dtype=tf.int64)
    )
    return tf.lookup.StaticHashTable(initializer, default_value=-1)


class GraphNormalizer(tf.Module):
    """Normalises strings ``[B]`` in the graph as ``core.normalization.normalize`` does."""

    def __init__(self, spec: Normalization, name: str = "normalizer") -> None:
        super().__init__(name=name)
        self.spec = spec
        if spec.unescape_html:
            names = named_references()
            self._names = _index_table(list(names), tf.string)
            self._name_texts = tf.constant(list(names.values()))
            # Only names that may stand without ';' can match a prefix; they are ASCII.
            self._longest_prefix = max(len(n) for n in names if not n.endswith(";"))
            numbers = numeric_exceptions()
            self._numbers = _index_table(list(numbers), tf.int64)
            self._number_texts = tf.constant(list(numbers.values()))

    def __call__(self, texts: tf.Tensor) -> tf.Tensor:
        """The normalised ``texts`` ``[B]`` (UTF-8 strings)."""
        texts = tf.strings.regex_replace(texts, "\\x00", "")  # regex_split stops at NUL
        if self.spec.unescape_html:  # most batches have no '&': skip the split then
            has_reference = tf.reduce_any(tf.strings.regex_full_match(texts, "(?s).*&.*"))
            texts = tf.cond(has_reference, lambda: self.unescape(texts), lambda: texts)
        if self.spec.unicode_form != "none":
            texts = tf_text.normalize_utf8(texts, self.spec.unicode_form)
        texts = tf.strings.regex_replace(texts, character_class(LINE_BREAKS), " ")
        if self.spec.normalize_whitespace:
            texts = tf.strings.regex_replace(texts, character_class(WHITESPACE) + "+", " ")
            texts = tf.strings.regex_replace(texts, "^ | $", "")
        return texts

    def unescape(self, texts: tf.Tensor) -> tf.Tensor:
        """``texts`` ``[B]`` with every character reference decoded."""
        pieces = tf_text.regex_split(texts, ENTITY_PATTERN, ENTITY_PATTERN)  # [B, (P)]
        flat = pieces.flat_values
        where = tf.where(tf.strings.regex_full_match(flat, ENTITY_PATTERN))  # [R, 1]
        decoded = self._decode(tf.gather_nd(flat, where))
        flat = tf.tensor_scatter_nd_update(flat, where, decoded)
        return tf.strings.reduce_join(pieces.with_flat_values(flat), axis=1)

    def _decode(self, references: tf.Tensor) -> tf.Tensor:
        """The text of each reference ``[R]`` (``&`` included)."""
        body = tf.strings.regex_replace(references, "^&", "")
        numeric = tf.strings.regex_full_match(body, "#.*")
        return tf.where(numeric, self._decode_numbers(body), self._decode_names(body))

    def _decode_numbers(self, body: tf.Tensor) -> tf.Tensor:
        """Decimal (``#65;``) and hexadecimal (``#x41``) bodies; anything else gives junk."""
        hexadecimal = tf.strings.regex_full_match(body, "#[xX].*")
        base = tf.where(hexadecimal, tf.constant(16, tf.int64), tf.constant(10, tf.int64))
        digits = tf.strings.regex_replace(body, "^#[xX]?0*|;$", "")
        padded = tf.strings.substr(tf.strings.join(["0" * _DIGITS, digits]), -_DIGITS, _DIGITS)
        chars = tf.cast(tf.io.decode_raw(padded, tf.uint8, fixed_length=_DIGITS), tf.int64)
        values = tf.where(
            chars <= ord("9"), chars - ord("0"), tf.bitwise.bitwise_or(chars, 32) - 87
        )
        number = tf.zeros_like(base)
        for position in range(_DIGITS):
            number = number * base + values[:, position]
        too_long = tf.strings.length(digits) > _DIGITS
        out_of_range = tf.constant(_OUT_OF_RANGE, tf.int64)
        number = tf.where(too_long | (number > MAX_CODE_POINT), out_of_range, number)
        invalid = (number >= 0xD800) & (number <= 0xDFFF) | (number > MAX_CODE_POINT)
        safe = tf.cast(tf.where(invalid, tf.constant(0x20, tf.int64), number), tf.int32)
        text = tf.where(
            invalid, REPLACEMENT_CHARACTER, tf.strings.unicode_encode(safe[:, None], "UTF-8")
        )
        exception = self._numbers.lookup(number)
        exception_text = tf.gather(self._number_texts, tf.maximum(exception, 0))
        return tf.where(exception >= 0, exception_text, text)

    def _decode_names(self, body: tf.Tensor) -> tf.Tensor:
        """Named bodies: the whole body, else its longest name prefix, else left as it is."""
        exact = self._names.lookup(body)
        text = tf.where(
            exact >= 0,
            tf.gather(self._name_texts, tf.maximum(exact, 0)),
            tf.strings.join(["&", body]),
        )
        chars = tf.strings.length(body, unit="UTF8_CHAR")
        size = tf.strings.length(body)
        for length in range(2, self._longest_prefix + 1):  # longer prefixes win
            prefix = self._names.lookup(tf.strings.substr(body, 0, length))
            rest = tf.strings.substr(body, tf.minimum(length, size), size)
            match = (prefix >= 0) & (length < chars) & (exact < 0)
            prefix_text = tf.gather(self._name_texts, tf.maximum(prefix, 0))
            text = tf.where(match, tf.strings.join([prefix_text, rest]), text)
        return text

"""The one text normalisation, from corpus to served model: its specification and
its Python implementation.

A line is normalised in five steps, in this order:

0. **NUL characters** are removed, always (the corpus readers remove them too, and
   count such lines as rejects).
1. **HTML character references** (``unescape_html``), decoded exactly as
   :func:`html.unescape` decodes them (the HTML5 rules): every named reference of
   the HTML5 table, with or without the closing ``;`` where HTML5 allows that,
   decimal and hexadecimal references, and HTML5's replacements for invalid code
   points. ``ENTITY_PATTERN``, ``named_references()`` and ``numeric_exceptions()``
   spell those rules out as data, so that another implementation can follow them.
2. **Unicode normalisation** (``unicode_form``: ``NFC``, ``NFKC`` or ``none``) by
   the tables of Unicode ``UNICODE_VERSION``: the version of the ICU library inside
   tensorflow-text, and of ``unicodedata2`` here (Python 3.11's own ``unicodedata``
   is Unicode 14.0 and would leave characters added since unnormalised).
3. **Line breaks**: every character in ``LINE_BREAKS`` (what ``str.splitlines``
   splits on) becomes a space, always, so that a line stays one line.
4. **Whitespace** (``normalize_whitespace``): runs of the characters in
   ``WHITESPACE`` (what ``str.split()`` splits on: Unicode spaces such as U+00A0
   and U+3000 included) become one space, and the ends are stripped.

Nothing else changes: zero-width characters, control characters and combining
marks pass through (Unicode normalisation aside). Beam workers clean corpora with
:func:`normalize`; the exported graph and the serving length check use the
TensorFlow implementation in ``core.normalization_graph``, and a conformance test
demands the same bytes from both on real corpora and on a list of hard cases.
"""

from __future__ import annotations

import html
import html.entities
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import unicodedata2

UNICODE_FORMS = ("NFC", "NFKC", "none")
UNICODE_VERSION = "16.0.0"

# One character reference as html.unescape finds it (its regular expression,
# written so that RE2 reads it the same): '&' and a decimal, hexadecimal or named body.
ENTITY_PATTERN = r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)"
# Every character that str.splitlines() treats as a line boundary.
LINE_BREAKS = (0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)
# Every character for which str.isspace() is true (Python 3.11, Unicode 14).
WHITESPACE = (
    *(0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680),
    *range(0x2000, 0x200B),
    *(0x2028, 0x2029, 0x202F, 0x205F, 0x3000),
)
# The largest code point; decimal and hexadecimal references with more significant
# digits than it has are out of range.
MAX_CODE_POINT = 0x10FFFF
REPLACEMENT_CHARACTER = "\ufffd"


@dataclass(frozen=True)
class Normalization:
    """Which of the steps above apply; the same settings in training and serving."""

    unicode_form: str = "NFC"
    unescape_html: bool = True
    normalize_whitespace: bool = True

    def __post_init__(self) -> None:
        if self.unicode_form not in UNICODE_FORMS:
            raise ValueError(
                f"unicode_form must be one of {UNICODE_FORMS}, not {self.unicode_form!r}"
            )

    @classmethod
    def from_mapping(cls, cleaning: dict[str, Any]) -> Normalization:
        """The settings from a ``data.cleaning`` mapping (a run's or an export's config)."""
        defaults = cls()
        return cls(
            unicode_form=str(cleaning.get("unicode_form", defaults.unicode_form)),
            unescape_html=bool(cleaning.get("unescape_html", defaults.unescape_html)),
            normalize_whitespace=bool(
                cleaning.get("normalize_whitespace", defaults.normalize_whitespace)
            ),
        )


def character_class(code_points: tuple[int, ...]) -> str:
    """A regular-expression class of ``code_points`` (as literal characters: none of them
    is special inside a class) that Python's ``re`` and RE2 read the same way."""
    return "[" + "".join(chr(c) for c in code_points) + "]"


_LINE_BREAK_RE = re.compile(character_class(LINE_BREAKS))


def normalize(text: str, spec: Normalization) -> str:
    """``text`` after the steps that ``spec`` enables (the Python implementation)."""
    text = text.replace("\x00", "")
    if spec.unescape_html:
        text = html.unescape(text)
    if spec.unicode_form != "none" and not text.isascii():  # ASCII is in every form
        form: Any = spec.unicode_form
        text = unicodedata2.normalize(form, text)
    text = _LINE_BREAK_RE.sub(" ", text)
    if spec.normalize_whitespace:
        text = " ".join(text.split())
    return text


@cache
def named_references() -> dict[str, str]:
    """HTML5's named references: body (``amp;``, or ``amp`` where ``;`` may be left out) to text."""
    return dict(html.entities.html5)


def _numeric_candidates() -> list[int]:
    """The code points for which HTML5 may decode a numeric reference to something else."""
    planes = [plane * 0x10000 + low for plane in range(17) for low in (0xFFFE, 0xFFFF)]
    return [*range(0xA0), *range(0xFDD0, 0xFDF0), *planes]


@cache
def numeric_exceptions() -> dict[int, str]:
    """Numeric references that do not decode to their own code point (besides surrogates
    and out-of-range numbers, which give ``REPLACEMENT_CHARACTER``): HTML5's Windows-1252
    mapping of 0x80-0x9F, U+FFFD for 0, and nothing for other control characters and
    non-characters. Read off :func:`html.unescape` itself."""
    decoded = {n: html.unescape(f"&#{n};") for n in _numeric_candidates()}
    return {n: text for n, text in decoded.items() if text != chr(n)}

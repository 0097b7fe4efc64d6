"""The normalisation's specification and its Python implementation."""

from __future__ import annotations

import html
import sys

import pytest

from core.normalization import (
    LINE_BREAKS,
    MAX_CODE_POINT,
    REPLACEMENT_CHARACTER,
    WHITESPACE,
    Normalization,
    character_class,
    named_references,
    normalize,
    numeric_exceptions,
)


def test_whitespace_and_line_breaks_are_those_of_python_str() -> None:
    assert {chr(c) for c in WHITESPACE} == {
        chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()
    }
    breaks = {chr(c) for c in range(sys.maxunicode + 1) if len(f"a{chr(c)}b".splitlines()) == 2}
    assert {chr(c) for c in LINE_BREAKS} == breaks


def test_numeric_exceptions_cover_every_code_point_html_decodes_otherwise() -> None:
    """Every decimal reference decodes to its own character, an exception or U+FFFD."""
    exceptions = numeric_exceptions()
    assert exceptions[0] == REPLACEMENT_CHARACTER and exceptions[0x80] == "\u20ac"
    assert exceptions[0x01] == "" and 0x0D not in exceptions
    for number in range(MAX_CODE_POINT + 2):
        decoded = html.unescape(f"&#{number};")
        if number in exceptions:
            assert decoded == exceptions[number], number
        elif 0xD800 <= number <= 0xDFFF or number > MAX_CODE_POINT:
            assert decoded == REPLACEMENT_CHARACTER, number
        else:
            assert decoded == chr(number), number


def test_named_references_are_html5s() -> None:
    names = named_references()
    assert names["amp;"] == names["amp"] == "&" and names["eacute;"] == "é"
    assert all(text for text in names.values())  # the graph reads "" as "no such name"
    assert all(name.isascii() for name in names)


def test_each_step_follows_its_setting() -> None:
    default = Normalization()
    assert normalize("  Tom &amp;\tJerry\u2028 ", default) == "Tom & Jerry"
    assert normalize("a\u00a0&nbsp;b\u3000c", default) == "a b c"
    assert normalize("&eacute;t&#233; &copy2020", default) == "été ©2020"
    assert normalize("ﬁ e\u0301", Normalization(unicode_form="NFKC")) == "fi é"
    assert normalize("e\u0301", Normalization(unicode_form="none")) == "e\u0301"
    raw = Normalization(unescape_html=False, normalize_whitespace=False)
    assert normalize(" a  &amp;\nb\u00a0", raw) == " a  &amp; b\u00a0"
    assert normalize("zero\u200bwidth\x07", default) == "zero\u200bwidth\x07"
    assert normalize("n\x00ul", Normalization(unescape_html=False)) == "nul"


def test_settings_come_from_a_cleaning_mapping() -> None:
    assert Normalization.from_mapping({}) == Normalization()
    mapping = {"unicode_form": "NFKC", "unescape_html": False, "normalize_whitespace": False}
    assert Normalization.from_mapping(mapping) == Normalization("NFKC", False, False)
    with pytest.raises(ValueError, match="unicode_form"):
        Normalization("NFD")


def test_character_class_matches_exactly_its_characters() -> None:
    import re

    pattern = re.compile(character_class(LINE_BREAKS))
    assert all(pattern.fullmatch(chr(c)) for c in LINE_BREAKS)
    assert not pattern.search("a b\t\u00a0]-^\\")

"""The translation commands' search options: their ranges are the server's, checked while the
arguments are parsed (before a model is loaded or a pipeline starts)."""

from __future__ import annotations

import argparse

import pytest

from core.contract import ALPHA, BEAM_SIZE, MAX_LENGTH_A, MAX_LENGTH_B
from core.search_options import MAX_BEAM_SIZE, add_search_arguments, search_options


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="translate", exit_on_error=False)
    add_search_arguments(parser)
    return parser.parse_args(argv)


def test_options_in_range_are_given_by_signature_input_name() -> None:
    args = parse("--beam-size", "5", "--alpha", "0.6", "--max-length-a", "1.5")
    assert search_options(args) == {BEAM_SIZE: 5, ALPHA: 0.6, MAX_LENGTH_A: 1.5, MAX_LENGTH_B: None}
    assert parse("--beam-size", str(MAX_BEAM_SIZE), "--max-length-b", "0").max_length_b == 0


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (("--beam-size", "0"), "must be between 1 and 64, got 0"),
        (("--beam-size", str(MAX_BEAM_SIZE + 1)), "must be between 1 and 64, got 65"),
        (("--beam-size", "2.5"), "expected an integer, got '2.5'"),
        (("--alpha", "-1"), "must be between 0.0 and 10.0, got -1.0"),
        (("--alpha", "nan"), "must be between 0.0 and 10.0, got nan"),
        (("--max-length-a", "x"), "expected a number, got 'x'"),
        (("--max-length-b", "-3"), "must be between 0 and 1024, got -3"),
    ],
)
def test_an_option_out_of_range_is_refused_while_parsing(
    argv: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(argparse.ArgumentError, match=problem):
        parse(*argv)

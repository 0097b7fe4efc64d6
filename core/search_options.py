"""The search options of the translation commands (``python -m serving.translate`` and
``nmt translate``): beam size, length penalty and output length limit.

An option not given keeps the value stored in the export (``core.saved_model``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from core.contract import ALPHA, BEAM_SIZE, MAX_LENGTH_A, MAX_LENGTH_B, SHORTLIST

DEFAULT_BATCH_SIZE = 64  # sentences per call of the model
# The largest beam a request or a command may ask for.
MAX_BEAM_SIZE = 64
# Scalar option inputs of the export's signatures: (type, smallest, largest). They bound the
# work one request can ask for; the translation commands check their options against them too.
OPTION_RANGES: dict[str, tuple[type, float, float]] = {
    BEAM_SIZE: (int, 1, MAX_BEAM_SIZE),
    ALPHA: (float, 0.0, 10.0),
    MAX_LENGTH_A: (float, 0.0, 10.0),
    MAX_LENGTH_B: (int, 0, 1024),
    SHORTLIST: (int, 0, 1),
}


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """``--batch-size``, ``--beam-size``, ``--alpha``, ``--max-length-a``, ``--max-length-b``."""
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"sentences per call of the model, sorted by length (default {DEFAULT_BATCH_SIZE})",
    )
    stored = " (default: the value stored in the export)"
    parser.add_argument(
        "--beam-size", type=in_range(BEAM_SIZE), help="beam size, 1 for greedy" + stored
    )
    parser.add_argument(
        "--alpha", type=in_range(ALPHA), help="length penalty of beam search" + stored
    )
    parser.add_argument(
        "--max-length-a",
        type=in_range(MAX_LENGTH_A),
        help="output length limit a * source + b: a" + stored,
    )
    parser.add_argument(
        "--max-length-b", type=in_range(MAX_LENGTH_B), help="output length limit: b" + stored
    )


def search_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``add_search_arguments`` by signature input name (``None``: not given)."""
    return {
        BEAM_SIZE: args.beam_size,
        ALPHA: args.alpha,
        MAX_LENGTH_A: args.max_length_a,
        MAX_LENGTH_B: args.max_length_b,
    }


def positive_int(text: str) -> int:
    """An integer >= 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def in_range(name: str) -> Callable[[str], int | float]:
    """An argparse type for option ``name``: a number of its type within its ``OPTION_RANGES``,
    so a bad value is refused before any model is loaded."""
    kind, low, high = OPTION_RANGES[name]

    def parse(text: str) -> int | float:
        try:
            value = int(text) if kind is int else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse

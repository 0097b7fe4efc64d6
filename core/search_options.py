"""The search options of the translation commands (``python -m serving.translate`` and
``nmt translate``): beam size, length penalty and output length limit.

An option not given keeps the value stored in the export (``core.saved_model``).
"""

from __future__ import annotations

import argparse
from typing import Any

from core.contract import ALPHA, BEAM_SIZE, MAX_LENGTH_A, MAX_LENGTH_B

DEFAULT_BATCH_SIZE = 64  # sentences per call of the model


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """``--batch-size``, ``--beam-size``, ``--alpha``, ``--max-length-a``, ``--max-length-b``."""
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"sentences per call of the model, sorted by length (default {DEFAULT_BATCH_SIZE})",
    )
    stored = " (default: the value stored in the export)"
    parser.add_argument("--beam-size", type=int, help="beam size, 1 for greedy" + stored)
    parser.add_argument("--alpha", type=float, help="length penalty of beam search" + stored)
    parser.add_argument(
        "--max-length-a", type=float, help="output length limit a * source + b: a" + stored
    )
    parser.add_argument("--max-length-b", type=int, help="output length limit: b" + stored)


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

"""``nmt translate``: translate files on Beam with an exported model (``pipeline.batch_translate``).

Its own options come first in the help; every option it does not know is a Beam pipeline
option, passed through untouched (``--runner=FnApiRunner`` when none names a runner).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.length_sorted_batches import CHUNK_SIZE
from core.search_options import add_search_arguments, positive_int, search_options


def add_translate_arguments(cmd: argparse.ArgumentParser) -> None:
    """Options of ``nmt translate``: model, inputs, output prefix, search and batching."""
    cmd.add_argument(
        "--model",
        type=Path,
        required=True,
        metavar="DIR",
        help="exported model: serving/models/NAME (its latest version) or NAME/VERSION",
    )
    cmd.add_argument(
        "--input",
        action="extend",
        nargs="+",
        required=True,
        metavar="GLOB",
        help="input files or globs, plain or compressed (.gz), on any Beam file system "
        "(repeatable)",
    )
    cmd.add_argument(
        "--output",
        required=True,
        metavar="PREFIX",
        help="each input's translation goes to PREFIX + its base name (without .gz), the "
        "rejected lines to PREFIX + rejects.tsv; 'out/' writes into the folder out",
    )
    add_search_arguments(cmd)
    cmd.add_argument(
        "--nbest",
        action="store_true",
        help="write every hypothesis of the beam with its score, best first, as one JSON "
        'object per line: {"translations": [...], "scores": [...]}',
    )
    cmd.add_argument(
        "--chunk-lines",
        type=positive_int,
        default=CHUNK_SIZE,
        metavar="N",
        help=f"lines per keyed batch (a unit of work), sorted by length together into "
        f"--batch-size batches (default {CHUNK_SIZE}, as python -m serving.translate)",
    )


def run_translate_command(args: argparse.Namespace) -> None:
    """Runs ``nmt translate`` with the parsed ``args`` (``args.beam_args``: Beam's options)."""
    from pipeline.batch_translate import TranslateSettings, run_translate, with_runner

    settings = TranslateSettings(
        model=args.model,
        inputs=tuple(args.input),
        output=args.output,
        options=search_options(args),
        nbest=args.nbest,
        batch_size=args.batch_size,
        chunk_lines=args.chunk_lines,
        beam_args=with_runner(tuple(args.beam_args)),
    )
    run_translate(settings)

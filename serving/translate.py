"""Translate text with an exported model: ``python -m serving.translate --model DIR``.

Needs only TensorFlow and tensorflow-text (which registers the SentencePiece
ops the graph uses); it never imports the training code. Reads stdin or
``--input``, writes one translation per line to stdout or ``--output``; empty
lines stay empty, in place. Input is read as bytes and decoded line by line: a
line that is not valid UTF-8 is reported with its number and handled as
``--errors`` says (default ``skip``: an empty output line). Translations are
written and flushed a chunk at a time, so an interruption keeps what is done.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from core.contract import resolve_version
from core.length_check import InputSettings, LengthChecker
from core.length_sorted_batches import translate_chunks
from core.saved_model import load_translate_fn
from core.search_options import add_search_arguments, search_options
from core.startup_logs import configure_logging, import_tensorflow, quiet_native_logs
from serving.input_lines import ERROR_POLICIES, LineDecoder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m serving.translate", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="serving/models/<experiment>")
    parser.add_argument("--version", type=int, help="version folder (default: the latest)")
    parser.add_argument("--input", type=Path, help="input file (default: stdin)")
    parser.add_argument("--output", type=Path, help="output file (default: stdout)")
    add_search_arguments(parser)
    parser.add_argument(
        "--errors",
        choices=ERROR_POLICIES,
        default="skip",
        help="input lines that are not valid UTF-8: 'skip' writes an empty line (default), "
        "'replace' translates them with U+FFFD for the bad bytes, 'strict' stops at the first "
        "(exit status 2) after writing the translations of the lines before it",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also show TensorFlow's and SentencePiece's logs"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Translate stdin or ``--input`` line by line; exit status 2 on user errors."""
    args = _parser().parse_args(argv)
    configure_logging(args.verbose)
    options = search_options(args)
    try:
        path = resolve_version(args.model, args.version)
        source = args.input.open("rb") if args.input else sys.stdin.buffer
    except (FileNotFoundError, OSError) as err:
        print(f"serving.translate: error: {err}", file=sys.stderr)
        return 2
    import_tensorflow()
    inputs = InputSettings.read(path)
    # Loading SentencePiece models and running the graph once log notices for no one
    # (an empty normaliser table, oneDNN's int64 fallback): that happens here, quietly.
    with quiet_native_logs():
        translate = load_translate_fn(path, options)
        translate(["."])
        checker = LengthChecker.for_export(inputs, report=_warn) if inputs else None
    sink = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    decoder = LineDecoder(args.errors, report=_warn, universal_newlines=args.input is not None)
    try:
        lines = decoder.decode(source)
        lines = checker.check(lines) if checker else lines
        total = _count_lines(args.input) if args.input and args.output else None
        chunks = translate_chunks(
            translate, lines, args.batch_size, progress=args.output is not None, total=total
        )
        for chunk in chunks:
            sink.write("".join(line + "\n" for line in chunk))
            sink.flush()
    finally:
        if args.input:
            source.close()
        if args.output:
            sink.close()
    for summary in (checker.summary() if checker else None, decoder.summary()):
        if summary:
            _warn(summary)
    if decoder.stopped:
        print(f"serving.translate: error: {decoder.stopped}; stopped there", file=sys.stderr)
        return 2
    return 0


def _warn(message: str) -> None:
    print(f"serving.translate: warning: {message}", file=sys.stderr)


def _count_lines(path: Path) -> int:
    """Lines in ``path``, read in constant memory (for the progress bar's total)."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


if __name__ == "__main__":
    sys.exit(main())

"""Reading and checking the text files of an evaluation (no TensorFlow here).

Lines are read exactly as the ``sacrebleu`` command line reads them (UTF-8,
split on ``\\n`` only, trailing whitespace stripped), so that scores computed
here match the reference tool on the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class EvaluationError(ValueError):
    """A user error in an evaluation's inputs (mismatched line counts, empty files, bad paths)."""


def read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, read the way ``sacrebleu`` reads them."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        with path.open(encoding="utf-8", newline="\n") as f:
            return [line.rstrip() for line in f]
    except UnicodeDecodeError as err:
        raise EvaluationError(
            f"{path}: not valid UTF-8 ({err.reason} at byte {err.start})"
        ) from None


def read_references(paths: Sequence[Path]) -> list[list[str]]:
    """One list of lines per reference file; every file must have the same number of lines."""
    if not paths:
        raise EvaluationError("at least one reference file is needed")
    references = [read_lines(path) for path in paths]
    counts = {len(lines) for lines in references}
    if len(counts) > 1:
        listing = ", ".join(f"{p} ({len(r)} lines)" for p, r in zip(paths, references, strict=True))
        raise EvaluationError(f"reference files differ in line count: {listing}")
    if not references[0]:
        raise EvaluationError(f"{paths[0]}: reference file is empty; nothing to score")
    return references


def check_parallel(
    lines: Sequence[str], path: Path, what: str, references: Sequence[Path], count: int
) -> None:
    """Raise ``EvaluationError`` naming both counts and files unless ``lines`` has ``count``."""
    if len(lines) != count:
        refs = ", ".join(str(p) for p in references)
        raise EvaluationError(
            f"{what} file {path} has {len(lines)} lines but the reference file(s) {refs} "
            f"have {count}; the counts must be equal"
        )

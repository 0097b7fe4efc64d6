"""User-facing errors of the preprocessing stage."""

from __future__ import annotations


class CorpusError(ValueError):
    """A problem with the input corpora (missing, unreadable or misaligned files).

    The message is one line and names the offending file(s) and the problem.
    """


class OutputError(OSError):
    """Writing the stage's outputs failed (a full disk, for example); one line, naming the
    output folder and the system's error."""

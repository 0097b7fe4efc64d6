"""User-facing errors of the preprocessing stage."""

from __future__ import annotations


class CorpusError(ValueError):
    """A problem with the input corpora (missing, unreadable or misaligned files).

    The message is one line and names the offending file(s) and the problem.
    """

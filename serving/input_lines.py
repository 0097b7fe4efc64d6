"""The serving script's input: read as bytes and decoded one line at a time.

A line that is not valid UTF-8 never stops the lines around it: it is
reported with its line number and, by the ``errors`` policy, written as an
empty line (``skip``), decoded with U+FFFD for the bad bytes (``replace``), or
ends the input there (``strict``: the lines before it are still translated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

ERROR_POLICIES = ("strict", "replace", "skip")
_WHAT_HAPPENS = {
    "skip": "written as an empty line",
    "replace": "invalid bytes replaced with U+FFFD",
}


class LineDecoder:
    """Decodes byte lines as UTF-8 under an ``errors`` policy, reporting the bad ones."""

    def __init__(
        self,
        errors: str,
        report: Callable[[str], None],
        universal_newlines: bool = False,
        max_reports: int = 10,
    ) -> None:
        """``universal_newlines``: ``\\r\\n`` and a lone ``\\r`` also end a line, as text
        files opened by Python read them; otherwise only ``\\n`` does, as stdin reads."""
        if errors not in ERROR_POLICIES:
            raise ValueError(f"errors must be one of {', '.join(ERROR_POLICIES)}, not {errors!r}")
        self.errors = errors
        self.report = report
        self.universal_newlines = universal_newlines
        self.max_reports = max_reports
        self.bad = 0
        self.stopped: str | None = None  # strict: why the input ended early

    def decode(self, raw_lines: Iterable[bytes]) -> Iterator[str]:
        """Yield each line decoded and without its line ending; stops at the first bad line
        under ``strict`` (``stopped`` says which)."""
        number = 0
        for raw in raw_lines:
            for line in self._split(raw):
                number += 1
                try:
                    yield line.decode("utf-8")
                except UnicodeDecodeError as err:
                    problem = f"line {number} is not valid UTF-8 ({err.reason} at byte {err.start})"
                    self.bad += 1
                    if self.errors == "strict":
                        self.stopped = problem
                        return
                    if self.bad <= self.max_reports:
                        self.report(f"{problem}; {_WHAT_HAPPENS[self.errors]}")
                    yield line.decode("utf-8", "replace") if self.errors == "replace" else ""

    def _split(self, raw: bytes) -> list[bytes]:
        """The lines in one ``\\n``-terminated chunk of a binary stream, without endings."""
        body = raw[:-1] if raw.endswith(b"\n") else raw
        if not self.universal_newlines:
            return [body]
        if body.endswith(b"\r"):
            body = body[:-1]
        return body.split(b"\r")

    def summary(self) -> str | None:
        """One line on how many lines were not valid UTF-8 (``skip``/``replace``), or ``None``."""
        if not self.bad or self.stopped:
            return None
        return f"{self.bad} line(s) were not valid UTF-8: {_WHAT_HAPPENS[self.errors]}"

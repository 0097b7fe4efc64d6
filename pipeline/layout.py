"""Where every output and intermediate file of the preprocessing stage lives.

Paths are strings joined with Beam's ``FileSystems``, so the same layout works
for a local folder and for any file system every worker can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from apache_beam.io.filesystems import FileSystems

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Layout:
    """The output folder ``root`` (``text/``, ``sentencepiece/``, ``tfrecords/``, ...)."""

    root: str
    source_lang: str
    target_lang: str

    def path(self, *parts: str) -> str:
        """A path under ``root``."""
        return FileSystems.join(self.root, *parts)

    def texts(self, split: str) -> tuple[str, str]:
        """The aligned ``text/<split>.<lang>`` files: source side, then target side."""
        return (
            self.path("text", f"{split}.{self.source_lang}"),
            self.path("text", f"{split}.{self.target_lang}"),
        )

    def model(self, side: str) -> str:
        """``sentencepiece/<side>.model`` (``side`` is ``source`` or ``target``)."""
        return self.path("sentencepiece", f"{side}.model")

    def tfrecord(self, split: str, shard: int, shards: int) -> str:
        """``tfrecords/<split>-<shard>-of-<shards>.tfrecord``."""
        return self.path("tfrecords", f"{split}-{shard:05d}-of-{shards:05d}.tfrecord")

    @property
    def rejects(self) -> str:
        """``rejects.tsv``: every rejected pair with its corpus, line and reason."""
        return self.path("rejects.tsv")

    def work(self, *parts: str) -> str:
        """A path under the work folder ``.work/`` (deleted after the run)."""
        return self.path(".work", *parts)

"""The completeness record of a data folder: written last by preprocessing, checked by training.

Preprocessing removes ``complete.json`` before it writes anything and writes it
after every output, listing each file (relative path) with its size in bytes.
A data folder without it, with an unreadable one, or with a listed file missing
or of another size is incomplete (an interrupted or failed run, a full disk)
and training refuses it with one line. The record is deterministic: the same
outputs give the same bytes. Every TFRecord shard is listed, the sampled copies of
train (subword regularization, ``core.contract.sampled_split``) included, so a
missing or truncated copy is caught like any other split.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from core.contract import COMPLETE_FILE

_RERUN = "run `nmt preprocess` again"


class IncompleteDataError(RuntimeError):
    """The data folder is not the complete output of one preprocessing run (one line)."""


def completion_record(sizes: Mapping[str, int]) -> bytes:
    """The bytes of ``complete.json`` for outputs ``{relative path: size}``."""
    return (json.dumps({"files": dict(sorted(sizes.items()))}, indent=1) + "\n").encode("utf-8")


def _listed_sizes(record: Path) -> dict[str, int]:
    """The sizes listed in ``record``; ``IncompleteDataError`` if it is missing or unreadable."""
    folder = record.parent
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IncompleteDataError(
            f"{folder}: preprocessing did not complete (no {COMPLETE_FILE}); {_RERUN}"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IncompleteDataError(f"{record}: unreadable ({err}); {_RERUN}") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not files:
        raise IncompleteDataError(f"{record}: lists no files; {_RERUN}")
    return files


def check_complete(data_dir: Path) -> None:
    """Raises ``IncompleteDataError`` unless every file ``complete.json`` lists has its size."""
    for name, size in _listed_sizes(data_dir / COMPLETE_FILE).items():
        path = data_dir / name
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            raise IncompleteDataError(f"{path}: missing; {_RERUN}") from None
        if actual != size:
            raise IncompleteDataError(
                f"{path}: {actual} bytes, but preprocessing wrote {size} "
                f"(truncated or changed); {_RERUN}"
            )

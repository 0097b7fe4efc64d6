"""One writer per folder: an advisory lock held by every stage that writes a run or an export.

The lock is ``fcntl.flock`` on a lock file in the folder. The kernel releases it
when the holding process ends, however it ends (SIGKILL, out of memory, a
crash), so a lock never outlives its holder and there is no stale-lock guessing
based on pids, which can be reused. The holder writes its pid, host and command
into the file, only to name it in the error another writer sees. The file is
emptied (not deleted: a process that opened it just before would lock an
orphaned copy) when the lock is released, so a lock file that still names a
holder when the lock is free was left by a process that died: it is taken over
with a warning.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("nmt")

# Lock files this process holds: resolved path -> (file descriptor, nesting depth).
_HELD: dict[str, tuple[int, int]] = {}
# Errors of file systems that do not support flock at all.
_UNSUPPORTED = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL)


class FolderLockedError(RuntimeError):
    """Another process holds the lock; the message is one line naming its pid and host."""


def _holder(fd: int) -> dict[str, Any]:
    """The holder recorded in the lock file (empty if none or unreadable)."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", "replace").strip()
    try:
        holder = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {"pid": "?", "host": "?", "command": text[:80]}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    return (
        f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')} "
        f"({holder.get('command', '?')}, since {holder.get('since', '?')})"
    )


def _gone(holder: dict[str, Any]) -> str:
    """Why a recorded holder no longer holds the lock, for the takeover message."""
    pid = holder.get("pid")
    if holder.get("host") == socket.gethostname() and isinstance(pid, int):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "that process is no longer running"
        except PermissionError:
            pass
    return "it no longer holds the lock"


def _record(fd: int, command: str) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)


def _acquire(path: Path, command: str) -> int | None:
    """The locked file's descriptor; None where the file system has no locks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise FolderLockedError(
            f"{path.parent} is in use by {_describe(holder)}; "
            "wait for it to finish or stop it, then run again"
        ) from None
    except OSError as err:
        os.close(fd)
        if err.errno not in _UNSUPPORTED:
            raise
        log.warning("%s: file locks are not supported here (%s); not locked", path, err)
        return None
    previous = _holder(fd)
    if previous:
        log.warning("taking over the lock %s of %s: %s", path, _describe(previous), _gone(previous))
    _record(fd, command)
    return fd


@contextmanager
def folder_lock(path: Path, command: str = "") -> Iterator[None]:
    """Hold the lock file ``path`` (created with its folder) for the duration of the block.

    Raises ``FolderLockedError`` at once if another process holds it. Nested
    blocks of the same process on the same file share one lock. ``command``
    (default: this process's command line) is recorded for other writers' message.
    """
    key = str(path.resolve())
    if key in _HELD:
        held, depth = _HELD[key]
        _HELD[key] = (held, depth + 1)
        try:
            yield
        finally:
            _HELD[key] = (held, depth)
        return
    acquired = _acquire(path, command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
    if acquired is None:
        yield
        return
    fd = acquired
    _HELD[key] = (fd, 1)
    try:
        yield
    finally:
        del _HELD[key]
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

"""Where each training worker saves a checkpoint: the chief into the run folder, the others
into a private temporary folder that is deleted as soon as the save returns.

With ``MultiWorkerMirroredStrategy`` every worker must take part in every save (a save may
run collective operations, for variables synchronised on read), but only one copy may land
where users and resumed runs look. Every worker restores from the chief's folder, which
must therefore be on storage they all reach (one machine's disk, NFS, a bucket).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import tensorflow as tf


class WorkerCheckpoints:
    """A ``tf.train.CheckpointManager`` over ``directory`` on the chief; elsewhere saves go
    to a temporary folder, removed right after."""

    def __init__(
        self, checkpoint: tf.train.Checkpoint, directory: Path, max_to_keep: int, chief: bool
    ) -> None:
        self.checkpoint, self.directory, self.chief = checkpoint, directory, chief
        self._manager = (
            tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=max_to_keep)
            if chief
            else None
        )

    @property
    def latest(self) -> str | None:
        """The chief's newest complete checkpoint (the state file is replaced atomically)."""
        return tf.train.latest_checkpoint(str(self.directory))

    def save(self, step: int) -> None:
        """Save as number ``step``; every worker must call this at the same step."""
        if self._manager is not None:
            self._manager.save(checkpoint_number=step)
            return
        scratch = tempfile.mkdtemp(prefix="nmt-worker-checkpoint-")
        try:
            tf.train.CheckpointManager(self.checkpoint, scratch, max_to_keep=1).save(
                checkpoint_number=step
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

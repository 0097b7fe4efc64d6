"""An ensemble in one go (``nmt ensemble``): the config's run and more runs of the same config
that differ only in their seed, trained one after another on one preprocessing of the data,
then exported together as one ensemble through the export gate.

Member ``k`` (counted from 0) trains with seed ``train.seed + k``; member 0 is the config's own
run, the others are ``runs/<experiment>_seed<seed>/`` beside it, each with a copy of the
config's run's data folder (so all share its SentencePiece models, as an ensemble must). Every
step resumes: preprocessing runs only if the data folder is not complete, a member's data is
copied only if it has none, and each member's training resumes its own checkpoints (a member
that reached ``train.max_steps`` stops at once).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

from core.contract import RunLayout
from core.data_complete import IncompleteDataError, check_complete
from nmt import stages
from nmt.config import ExperimentConfig

log = logging.getLogger("seq2seq")


def member_configs(config: ExperimentConfig, members: int) -> list[ExperimentConfig]:
    """The config itself, then ``members - 1`` copies with the seeds after ``train.seed`` and
    the experiments ``<experiment>_seed<seed>`` (so their run folders lie beside its own)."""
    if members < 1:
        raise ValueError(f"an ensemble needs at least one member, not {members}")
    configs = [config]
    for k in range(1, members):
        seed = config.train.seed + k
        train = dataclasses.replace(config.train, seed=seed)
        configs.append(
            dataclasses.replace(config, experiment=f"{config.experiment}_seed{seed}", train=train)
        )
    return configs


def _copy_data(source: Path, target: Path) -> None:
    """The config's run's complete data folder into a member's run folder, once."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    partial.rename(target)  # a copy cut short is never taken for data


def train_ensemble(config: ExperimentConfig, members: int, force: bool = False) -> Path:
    """Preprocess (if needed), train every member, export their ensemble; returns the version
    folder. Raises what the stages raise: ``GateRefused`` if the gate refuses the ensemble
    (nothing is written under ``serving/`` then, and ``force`` overrides it)."""
    configs = member_configs(config, members)
    data = RunLayout(config.run_dir).data
    try:
        check_complete(data)
    except IncompleteDataError:
        stages.preprocess(config)
    for k, member in enumerate(configs):
        if k:
            _copy_data(data, RunLayout(member.run_dir).data)
        log.info(
            "ensemble member %d of %d: %s (seed %d)",
            k + 1,
            members,
            member.run_dir,
            member.train.seed,
        )
        stages.train(member)
    return stages.export(config, [member.run_dir for member in configs[1:]], force)

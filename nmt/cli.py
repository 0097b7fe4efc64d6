"""The ``nmt`` command: run the whole pipeline or one stage of it on an experiment config."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from core.contract import LOCK_FILE, RunLayout
from core.run_lock import folder_lock
from core.search_options import positive_int
from nmt.translate_command import add_translate_arguments, run_translate_command

if TYPE_CHECKING:
    from nmt.config import ExperimentConfig

COMMANDS = ("run", "preprocess", "train", "evaluate", "export", "average", "ensemble")
# Exit status of ``nmt export``, ``nmt run`` and ``nmt ensemble`` when the export gate refuses
# the candidate (0: done, 1: a failed write or a lost worker, 2: a user error, 130: interrupted).
EXIT_GATE_REFUSED = 3
# The commands that write the run folder, and so hold its lock.
WRITERS = ("run", "preprocess", "train", "export", "average", "ensemble")
# The commands that read the parent of a run started from one (``train.init_from``).
PARENT_READERS = ("run", "preprocess", "train", "ensemble")
# The commands that write a version under the export folder, and so hold its lock.
EXPORTERS = ("run", "export", "ensemble")


def _add_evaluate_arguments(cmd: argparse.ArgumentParser) -> None:
    """Options of ``nmt evaluate``: what to translate, with which model, against what."""
    cmd.add_argument("--src", type=Path, help="source file to translate (default: the test split)")
    cmd.add_argument(
        "--ref",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="reference file for --src (repeatable for several references)",
    )
    cmd.add_argument(
        "--model",
        type=Path,
        metavar="DIR",
        help="exported SavedModel serving/models/NAME[/VERSION] instead of the run's checkpoint",
    )
    cmd.add_argument(
        "--baseline",
        metavar="BASELINE",
        help="scored beside the system with paired significance tests: 'served' (the latest "
        "exported version), an export folder serving/models/NAME[/VERSION], or a baseline "
        "system's output on the same source (default: evaluate.baseline)",
    )
    cmd.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="report folder (default: runs/<experiment>/eval[/<source>_<model>])",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nmt", description="Neural machine translation: preprocess, train, evaluate, export."
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show other libraries' informational logs and TensorFlow's native logs",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    helps = {
        "run": "all stages in order",
        "preprocess": "clean, split, train SentencePiece, write TFRecords (Apache Beam)",
        "train": "train or resume the model",
        "evaluate": "translate and score with sacrebleu; write report.json and report.md",
        "export": "write a versioned SavedModel under serving/models/<experiment>/",
        "average": "average the last checkpoints; they become the best model if their dev "
        "BLEU is higher",
        "ensemble": "train the members of an ensemble (the run and runs with the next seeds) "
        "on one preprocessing, then export them as one ensemble",
    }
    for name in COMMANDS:
        cmd = sub.add_parser(name, help=helps[name])
        cmd.add_argument("config", type=Path, help="experiment YAML file, e.g. configs/sample.yaml")
        cmd.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="SECTION.KEY=VALUE",
            help="override a config value (repeatable), e.g. --set train.epochs=2",
        )
    _add_evaluate_arguments(sub.choices["evaluate"])
    sub.choices["average"].add_argument(
        "--last",
        type=positive_int,
        metavar="N",
        help="how many of the newest checkpoints to average (default: train.average.last)",
    )
    sub.choices["export"].add_argument(
        "--ensemble",
        type=Path,
        nargs="+",
        default=[],
        metavar="RUN_DIR",
        help="export an ensemble: the config's run with these runs' best models (same "
        "SentencePiece models; log-probabilities averaged at every step)",
    )
    sub.choices["ensemble"].add_argument(
        "--members",
        type=positive_int,
        default=4,
        metavar="N",
        help="models in the ensemble: the config's run (seed train.seed) and N-1 runs "
        "runs/<experiment>_seed<seed> with the next seeds (default: 4)",
    )
    for name in EXPORTERS:
        sub.choices[name].add_argument(
            "--force",
            action="store_true",
            help="export even if the export gate refuses the candidate (recorded in its "
            "blessing record)",
        )
    translate = sub.add_parser(
        "translate",
        help="translate files on Apache Beam with an exported model (RunInference); "
        "options it does not know are Beam pipeline options",
        allow_abbrev=False,
    )
    add_translate_arguments(translate)
    sample = sub.add_parser("sample-corpus", help="write the built-in English-Spanish corpus")
    sample.add_argument("out_dir", type=Path)
    sample.add_argument("--pairs", type=int, default=24000)
    sample.add_argument("--seed", type=int, default=7)
    return parser


def _dispatch(args: argparse.Namespace) -> None:
    if args.command == "translate":
        run_translate_command(args)
        return
    if args.command == "sample-corpus":
        from pipeline.sample_corpus import write_corpus

        for path in write_corpus(args.out_dir, args.pairs, args.seed):
            print(path)
        return
    from nmt.config import load_config
    from nmt.parent import checked_parent

    # The config and its parent are read, and the folders locked, before TensorFlow is
    # imported, so their errors come at once (and a bad parent writes nothing).
    config = load_config(args.config, tuple(args.overrides))
    if args.command in PARENT_READERS:
        checked_parent(config, args.command)
    with ExitStack() as stack:
        if args.command in WRITERS and _writes_run_folder(args.command, config):
            stack.enter_context(folder_lock(RunLayout(config.run_dir).lock))
        if args.command in EXPORTERS:
            stack.enter_context(folder_lock(config.export_dir / LOCK_FILE))
        _run_stage(args, config)


def _writes_run_folder(command: str, config: ExperimentConfig) -> bool:
    """Whether ``command`` writes (and so locks) the run folder: not training on a worker of a
    multi-worker cluster other than the chief (``TF_CONFIG``); ``run`` and ``ensemble`` are
    refused there."""
    from seq2seq.cluster import refuse_cluster, this_worker

    if command in ("run", "ensemble"):
        refuse_cluster(config.train.distribution, command)
    return command != "train" or this_worker(config.train.distribution).is_chief


def _run_stage(args: argparse.Namespace, config: ExperimentConfig) -> None:
    from core.startup_logs import import_tensorflow

    import_tensorflow()
    from nmt import stages

    actions = {
        "preprocess": stages.preprocess,
        "train": stages.train,
    }
    if args.command == "run":
        stages.run_all(config, args.force)
        return
    if args.command == "evaluate":
        stages.evaluate_stage(config, args.src, args.ref, args.model, args.baseline, args.out)
        return
    if args.command == "average":
        stages.average(config, args.last)
        return
    if args.command == "export":
        stages.export(config, args.ensemble, args.force)
        return
    if args.command == "ensemble":
        from nmt.ensemble_training import train_ensemble

        train_ensemble(config, args.members, args.force)
        return
    actions[args.command](config)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the command; user errors (and a run folder another process
    writes) print one line and exit with status 2, a failed write (a full disk) or a lost
    worker of a training cluster with 1, a candidate the export gate refuses with
    ``EXIT_GATE_REFUSED``."""
    parser = _parser()
    args, beam_args = parser.parse_known_args(argv)
    if beam_args and args.command != "translate":
        parser.error(f"unrecognized arguments: {' '.join(beam_args)}")
    args.beam_args = tuple(beam_args)
    from core.startup_logs import configure_logging

    configure_logging(args.verbose)
    from core.config_fields import ConfigError
    from core.data_complete import IncompleteDataError
    from core.run_lock import FolderLockedError
    from pipeline.errors import CorpusError, OutputError
    from seq2seq.cluster import WorkerLostError
    from seq2seq.evaluation.inputs import EvaluationError
    from seq2seq.gate import GateRefused

    user_errors = (ConfigError, CorpusError, EvaluationError, FileNotFoundError)
    try:
        _dispatch(args)
    except (*user_errors, FolderLockedError, IncompleteDataError) as err:
        print(f"nmt: error: {err}", file=sys.stderr)
        return 2
    except (OutputError, WorkerLostError) as err:
        print(f"nmt: error: {err}", file=sys.stderr)
        return 1
    except GateRefused as err:
        print(f"nmt: {err}", file=sys.stderr)
        return EXIT_GATE_REFUSED
    except KeyboardInterrupt:
        print("nmt: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

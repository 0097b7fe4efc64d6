"""tensorflow_model_server's flags: its names, defaults and spellings; refused ones say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.server_flags import FlagError, parse


def test_tf_serving_docker_command_line() -> None:
    args = parse(
        ["--port=8500", "--rest_api_port=8501", "--model_name=m", "--model_base_path=/models/m"],
        "",
    )
    assert (args.port, args.rest_api_port, args.model_name) == (8500, 8501, "m")
    assert args.model_base_path == Path("/models/m") and args.host == "127.0.0.1"
    assert not args.enable_batching and args.file_system_poll_wait_seconds == 1.0


@pytest.mark.parametrize(
    ("flags", "enabled"),
    [
        ([], False),
        (["--enable_batching"], True),
        (["--enable_batching=true"], True),
        (["--enable_batching=false"], False),
    ],
)
def test_boolean_flags_take_tf_serving_spellings(flags: list[str], enabled: bool) -> None:
    assert parse(["--model_base_path=/m", *flags], "").enable_batching is enabled


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--model_base_path=/m", "--ssl_config_file=/x"], "--ssl_config_file is not supported"),
        (["--model_base_path=/m", "--enable_model_warmup"], "warm-up"),
        ([], "exactly one of --model_base_path and --model_config_file"),
        (["--model_base_path=/m", "--model_config_file=/c"], "exactly one of"),
        (["--model_base_path=/m", "--batching_parameters_file=/b"], "needs --enable_batching"),
    ],
)
def test_refused_and_conflicting_flags(argv: list[str], fragment: str) -> None:
    with pytest.raises(FlagError) as caught:
        parse(argv, "")
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_unknown_flag_is_argparse_error() -> None:
    with pytest.raises(SystemExit):
        parse(["--model_base_path=/m", "--no_such_flag=1"], "")

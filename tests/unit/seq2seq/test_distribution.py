"""The strategy from config and TF_CONFIG, and values shared from the chief."""

from __future__ import annotations

import pytest
import tensorflow as tf

from core.config_fields import ConfigError
from seq2seq.distribution import ChiefValues, make_strategy


def test_one_process_strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert isinstance(make_strategy("auto"), tf.distribute.OneDeviceStrategy)
    with pytest.raises(ConfigError, match="needs the TF_CONFIG variable"):
        make_strategy("multi_worker")
    with pytest.raises(ConfigError, match="valid options"):
        make_strategy("parameter_server")


def test_chief_values_with_one_replica_are_the_values() -> None:
    share = ChiefValues(tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert share([1.5, float("-inf"), 7.0]) == [1.5, float("-inf"), 7.0]

"""The encoder layer: ``get_config`` round trips."""

from __future__ import annotations

import keras
import pytest

from seq2seq.layers.encoder import Encoder


@pytest.mark.parametrize(
    "layer",
    [
        Encoder(10, 4, 6, cell="gru", num_layers=2, bidirectional=False, dropout=0.1),
        Encoder(10, 4, 6, final_state="both"),
    ],
)
def test_layers_round_trip_through_get_config(layer: keras.layers.Layer) -> None:
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config

"""The decoder layer: ``get_config`` round trips."""

from __future__ import annotations

import keras
import pytest

from seq2seq.layers.decoder import Decoder


@pytest.mark.parametrize(
    "layer",
    [
        Decoder(11, 4, 6, cell="lstm", num_layers=2, attention="bahdanau", input_feeding=False),
        Decoder(11, 4, 6, bridge=False),
    ],
)
def test_layers_round_trip_through_get_config(layer: keras.layers.Layer) -> None:
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config

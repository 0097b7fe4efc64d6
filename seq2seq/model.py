"""The encoder-decoder model and how it is built from the ``model`` config section."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from core.contract import BOS_ID, EOS_ID, PAD_ID
from seq2seq.config import BRIDGES, ModelConfig
from seq2seq.layers.decoder import Decoder
from seq2seq.layers.encoder import Encoder
from seq2seq.layers.memory import Memory, State
from seq2seq.shapes import pad_to_multiple

_ROW_MULTIPLE = 64  # real-token rows of the training output layer, rounded up to this


@keras.saving.register_keras_serializable(package="seq2seq")
class Seq2Seq(keras.Model):
    """Bidirectional RNN encoder + attentional RNN decoder.

    ``call((source_ids [B, S], target_in [B, T]))`` returns teacher-forced
    logits ``[B, T, V_tgt]``; ``encode`` and ``decoder.step`` serve search.
    """

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        cell: str = "lstm",
        embedding_size: int = 256,
        units: int = 256,
        encoder_layers: int = 1,
        bidirectional: bool = True,
        decoder_layers: int = 1,
        attention: str = "luong",
        luong_score: str = "general",
        luong_scale: bool = True,
        input_feeding: bool = True,
        dropout: float = 0.0,
        tie_embeddings: bool = False,
        share_embeddings: bool = False,
        bridge: str = "final",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("name", "seq2seq")
        super().__init__(**kwargs)
        if bridge not in BRIDGES:
            raise ValueError(f"unknown bridge {bridge!r}; valid options: {', '.join(BRIDGES)}")
        if share_embeddings and source_vocab_size != target_vocab_size:
            raise ValueError(
                "share_embeddings needs one joint vocabulary "
                f"(source {source_vocab_size} vs target {target_vocab_size} pieces)"
            )
        if luong_score == "dot" and attention == "luong" and bidirectional:
            raise ValueError(
                "luong_score 'dot' needs encoder outputs of the decoder's size; "
                "use luong_score 'general' or bidirectional false"
            )
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self._settings = {
            "cell": cell,
            "embedding_size": embedding_size,
            "units": units,
            "encoder_layers": encoder_layers,
            "bidirectional": bidirectional,
            "decoder_layers": decoder_layers,
            "attention": attention,
            "luong_score": luong_score,
            "luong_scale": luong_scale,
            "input_feeding": input_feeding,
            "dropout": dropout,
            "tie_embeddings": tie_embeddings,
            "share_embeddings": share_embeddings,
            "bridge": bridge,
        }
        shared = (
            keras.layers.Embedding(source_vocab_size, embedding_size, name="shared_embedding")
            if share_embeddings
            else None
        )
        self.encoder = Encoder(
            source_vocab_size,
            embedding_size,
            units,
            cell=cell,
            num_layers=encoder_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            embedding=shared,
            final_state="backward" if bridge == "backward" else "both",  # unused with "zero"
            name="encoder",
        )
        self.decoder = Decoder(
            target_vocab_size,
            embedding_size,
            units,
            cell=cell,
            num_layers=decoder_layers,
            attention=attention,
            luong_score=luong_score,
            luong_scale=luong_scale,
            input_feeding=input_feeding,
            dropout=dropout,
            tie_embeddings=tie_embeddings,
            embedding=shared,
            bridge=bridge != "zero",
            name="decoder",
        )

    @classmethod
    def from_section(
        cls, config: ModelConfig, source_vocab_size: int, target_vocab_size: int
    ) -> Seq2Seq:
        """Build the model a ``model`` config section describes."""
        return cls(
            source_vocab_size,
            target_vocab_size,
            cell=config.cell,
            embedding_size=config.embedding_size,
            units=config.units,
            encoder_layers=config.encoder_layers,
            bidirectional=config.bidirectional,
            decoder_layers=config.decoder_layers,
            attention=config.attention,
            luong_score=config.luong_score,
            luong_scale=config.luong_scale,
            input_feeding=config.input_feeding,
            dropout=config.dropout,
            tie_embeddings=config.tie_target_embeddings,
            share_embeddings=config.share_embeddings,
            bridge=config.bridge,
        )

    def encode(self, source_ids: tf.Tensor, training: bool = False) -> tuple[Memory, State]:
        """Memory and initial decoder state for source ids ``[B, S]``."""
        memory, mask, final = self.encoder(source_ids, training=training)
        return self.decoder.prepare(memory, mask, final)

    def step(
        self, token_ids: tf.Tensor, state: State, memory: Memory
    ) -> tuple[tf.Tensor, State, tf.Tensor]:
        """One decoder step for ``K`` rows per source (tokens ``[B*K]``): logits ``[B*K, V]``,
        new state, attention weights ``[B*K, S]``."""
        return self.decoder.step(token_ids, state, memory)

    def attention_weights(self, source_ids: tf.Tensor, target_in: tf.Tensor) -> tf.Tensor:
        """Teacher-forced attention weights ``[B, T, S]`` of decoder inputs ``[B, T]``
        (BOS + target) over source ids ``[B, S]``, in one graph loop."""
        memory, state = self.encode(source_ids)
        return self.decoder.attention_weights(target_in, memory, state)

    def call(self, inputs: tuple[tf.Tensor, tf.Tensor], training: bool = False) -> tf.Tensor:
        source_ids, target_in = inputs
        memory, state = self.encode(source_ids, training=training)
        return self.decoder(target_in, memory, state, training=training)

    def real_token_logits(
        self, inputs: tuple[tf.Tensor, tf.Tensor], target_out: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Teacher-forced logits ``[M, V_tgt]`` of the ``N`` real (non-padding) positions of
        ``target_out [B, T]`` and their labels ``[M]``: the output layer, the largest matmul
        of training, skips padding. ``M`` is ``N`` rounded up to a multiple of 64, so that
        the matmul meets few distinct shapes (``seq2seq.shapes``); the at most 63 filler
        rows come last, with label ``PAD_ID``, and a loss must mask them. They are kept
        rather than sliced off: the gradient of that slice copied the whole ``[M, V]``
        gradient, 8% of a training step."""
        source_ids, target_in = inputs
        memory, state = self.encode(source_ids, training=training)
        attentional = self.decoder.attentional(target_in, memory, state, training=training)
        real = tf.not_equal(target_out, PAD_ID)
        rows = pad_to_multiple(tf.boolean_mask(attentional, real), _ROW_MULTIPLE, axis=0)
        labels = pad_to_multiple(tf.boolean_mask(target_out, real), _ROW_MULTIPLE, axis=0)
        return self.decoder.output_projection(rows), labels

    def build_variables(self) -> None:
        """Create every variable by running one tiny batch through the model."""
        ids = tf.constant([[4, EOS_ID]], dtype=tf.int32)
        self((ids, tf.constant([[BOS_ID, 4]], dtype=tf.int32)))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            **self._settings,
        }

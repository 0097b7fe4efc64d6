"""An ensemble of models as one ``StepModel``: each search step averages the members'
log-probabilities.

Every member encodes the same source ids and steps its own decoder; the ensemble's memory
and state are tuples of the members' (``EnsembleMemory`` gathers and reorders them the way
searches gather a single model's memory). A step returns, in place of logits, the mean over
members of ``log_softmax(logits)`` computed in float32 ``[N, V]``. That mean is not
renormalised here: the searches treat whatever a step returns as logits and normalise it
themselves (``decoding.ranking.top_candidates`` subtracts each row's ``logsumexp``), so the
pieces are ranked and scored by the renormalised geometric mean of the members'
probabilities, and scores stay log-probabilities that sum to one over the vocabulary (or
the shortlist). Renormalising here too would change nothing but rounding.

The members share the target vocabulary (and the source one: the translator tokenizes
once); their architectures may differ. ``ensemble`` of one model is that model itself, so
it translates and scores exactly as the plain model does. ``N`` members cost about ``N``
times one model's search.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import tensorflow as tf

from seq2seq.decoding.common import StepModel
from seq2seq.model import Seq2Seq
from seq2seq.shortlist import ShortlistedModel


class EnsembleMemory(NamedTuple):
    """The members' memories, in member order; searches see one memory."""

    members: tuple[Any, ...]  # each member's Memory (or EnsembleMemory)

    def per_source(self) -> tuple[Any, ...]:
        """Each member's ``per_source()`` tensors (one row per source), as one nest."""
        return tuple(memory.per_source() for memory in self.members)

    def with_per_source(self, tensors: tuple[Any, ...]) -> EnsembleMemory:
        """This memory with every member's per-source tensors replaced by ``tensors``."""
        return EnsembleMemory(
            tuple(m.with_per_source(t) for m, t in zip(self.members, tensors, strict=True))
        )


class EnsembleModel:
    """A ``StepModel`` over two or more member ``StepModel``s with one target vocabulary.

    State is the tuple of the members' states; ``step`` returns the members' mean
    float32 log-probabilities ``[N, V]`` as logits (see the module docstring) and the mean
    of their attention weights ``[N, S]``.
    """

    def __init__(self, members: Sequence[Any]) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs two or more members (one model is itself)")
        self.members = tuple(members)

    @property
    def variables(self) -> list[tf.Variable]:
        """Every member's variables, each once (a member listed twice shares them)."""
        seen: set[int] = set()
        result = []
        for member in self.members:
            for variable in member.variables:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    result.append(variable)
        return result

    def encode(
        self, source_ids: tf.Tensor, training: bool = False
    ) -> tuple[EnsembleMemory, tuple[Any, ...]]:
        """Every member's memory and initial state for source ids ``[B, S]``."""
        encoded = [member.encode(source_ids, training=training) for member in self.members]
        return EnsembleMemory(tuple(m for m, _ in encoded)), tuple(s for _, s in encoded)

    def step(
        self, token_ids: tf.Tensor, state: tuple[Any, ...], memory: EnsembleMemory
    ) -> tuple[tf.Tensor, tuple[Any, ...], tf.Tensor]:
        """One step of every member for tokens ``[N]``: mean log-probabilities ``[N, V]``
        (float32), the members' new states, mean attention weights ``[N, S]`` (float32)."""
        log_probs, states, weights = [], [], []
        for member, member_state, member_memory in zip(
            self.members, state, memory.members, strict=True
        ):
            logits, new_state, attention = member.step(token_ids, member_state, member_memory)
            log_probs.append(tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1))
            states.append(new_state)
            weights.append(tf.cast(attention, tf.float32))
        return tf.add_n(log_probs) / len(log_probs), tuple(states), tf.add_n(weights) / len(weights)

    def attention_weights(self, source_ids: tf.Tensor, target_in: tf.Tensor) -> tf.Tensor:
        """The members' mean teacher-forced attention weights ``[B, T, S]`` (float32) of
        decoder inputs ``[B, T]`` over source ids ``[B, S]`` (members are ``Seq2Seq``)."""
        weights = [
            tf.cast(member.attention_weights(source_ids, target_in), tf.float32)
            for member in self.members
        ]
        return tf.add_n(weights) / len(weights)


def ensemble(models: Sequence[Seq2Seq]) -> Seq2Seq | EnsembleModel:
    """The ensemble of ``models`` (one or more; the same model may appear twice): the model
    itself when there is one."""
    if not models:
        raise ValueError("an ensemble needs at least one model")
    return models[0] if len(models) == 1 else EnsembleModel(models)


def shortlisted_model(model: Seq2Seq | EnsembleModel, pieces: tf.Tensor) -> StepModel:
    """``model`` scoring only the pieces ``[U]`` (logits ``[N, U]``): each member shortlisted."""
    if isinstance(model, EnsembleModel):
        return EnsembleModel([ShortlistedModel(m, pieces) for m in model.members])
    return ShortlistedModel(model, pieces)

"""Checks that an export's graph holds only core TensorFlow and tensorflow-text ops.

Stock TensorFlow Serving (built with tensorflow-text's ops, as its official
images are) can then load the export: no Python callbacks (PyFunc), no
TensorFlow Addons, no other custom kernels. The graph and every function in
its library, nested loop bodies included, are inspected.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tensorflow-text ops checked below)
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

# Core ops that run Python code and therefore cannot be served.
FORBIDDEN = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
TEXT_OP_PREFIXES = ("Sentencepiece", "NormalizeUTF8", "RegexSplit")


def exported_op_types(export: Path) -> set[str]:
    """Op types of the graph and of every library function, minus calls to library functions."""
    model = saved_model_pb2.SavedModel()
    model.ParseFromString((export / "saved_model.pb").read_bytes())
    ops: set[str] = set()
    functions: set[str] = set()
    for meta_graph in model.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            functions.add(function.signature.name)
            ops.update(node.op for node in function.node_def)
    return ops - functions


def is_text_op(op: str) -> bool:
    """A tensorflow-text kernel: its name and registration by that package."""
    return op.startswith(TEXT_OP_PREFIXES) and op_def_registry.get(op) is not None


def assert_servable_ops(export: Path) -> None:
    """Fail unless every op of the SavedModel at ``export`` is core TensorFlow or
    tensorflow-text, and the inspection reached the tokenizer, normaliser and search loop."""
    ops = exported_op_types(export)
    print("op types in the export:", ", ".join(sorted(ops)))
    text_ops = {op for op in ops if not hasattr(tf.raw_ops, op) and is_text_op(op)}
    unknown = {op for op in ops if not hasattr(tf.raw_ops, op) and op not in text_ops}
    assert not unknown, f"ops outside core TensorFlow and tensorflow-text: {sorted(unknown)}"
    assert not ops & FORBIDDEN, f"Python ops cannot be served: {sorted(ops & FORBIDDEN)}"
    assert not [op for op in ops if ">" in op], "namespaced custom ops (e.g. Addons>)"
    # The inspection reaches into the library: the tokenizer and the search loop are there.
    assert {"SentencepieceTokenizeOp", "SentencepieceDetokenizeOp"} <= text_ops
    assert {"RegexSplitWithOffsets", "LookupTableFindV2"} <= ops  # the normaliser
    assert ops & {"While", "StatelessWhile"}
    assert "TopKV2" in ops  # beam search, inside the loop body

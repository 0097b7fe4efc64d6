"""The top layer: the ``nmt`` command, the whole experiment config and the stage orchestration.

``nmt`` composes ``pipeline`` (preprocessing), ``seq2seq`` (training,
evaluation, export) and, where a stage needs it, ``core``; nothing imports ``nmt``.
"""

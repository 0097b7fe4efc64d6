"""Evaluation of a trained system on a test set: translate, score with sacrebleu, report.

``run`` ties it together; ``inputs`` reads and checks the text files,
``systems`` wraps a run's checkpoint or an exported SavedModel, ``scores``
computes every number, ``attention`` reads attention weights for heatmaps and
``reports`` renders the Markdown report and its figures.
"""

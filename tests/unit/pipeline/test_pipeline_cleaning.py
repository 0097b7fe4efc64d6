"""Normalization and filters of the cleaning step."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.cleaning import CleanPairs, normalize, rejection_reason
from pipeline.config import CleaningConfig


def _pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


def test_normalize_applies_each_enabled_step() -> None:
    config = CleaningConfig()
    assert normalize("  Tom &amp;\tJerry\u2028 ", config) == "Tom & Jerry"
    assert normalize("ﬁ e\u0301", CleaningConfig(unicode_form="NFKC")) == "fi é"
    assert normalize("e\u0301", CleaningConfig(unicode_form="none")) == "e\u0301"
    raw = CleaningConfig(unescape_html=False, normalize_whitespace=False)
    assert normalize(" a  &amp;\nb", raw) == " a  &amp; b"


@pytest.mark.parametrize(
    ("source", "target", "config", "reason"),
    [
        ("", "b", CleaningConfig(), "empty_source"),
        ("a", " ", CleaningConfig(), "empty_target"),
        ("a " * 5, "b", CleaningConfig(max_tokens=4, max_length_ratio=0), "too_long"),
        ("abcdef", "b", CleaningConfig(max_chars=5), "too_long"),
        ("a b c d", "b", CleaningConfig(max_length_ratio=3.0), "length_ratio"),
        ("a b c d", "b", CleaningConfig(max_length_ratio=0), ""),
        ("same", "same", CleaningConfig(), "source_equals_target"),
        ("same", "same", CleaningConfig(drop_source_equals_target=False), ""),
        ("a b c", "x y z", CleaningConfig(), ""),
    ],
)
def test_rejection_reason(source: str, target: str, config: CleaningConfig, reason: str) -> None:
    assert rejection_reason(source, target, config) == reason


def test_clean_pairs_transform_routes_rejects() -> None:
    records = [
        ("c", 1, " Hello &amp;  world ", "Hola &amp; mundo", ""),
        ("c", 2, "", "vacío", ""),
        ("c", 3, "bad", "", "invalid_utf8"),
        ("c", 4, "same", "same", ""),
    ]
    with _pipeline() as p:
        out = p | beam.Create(records) | CleanPairs(CleaningConfig())
        assert_that(out.kept, equal_to([("c", 1, "Hello & world", "Hola & mundo", "")]))
        assert_that(
            out.rejected,
            equal_to(
                [
                    ("c", 2, "", "vacío", "empty_source"),
                    ("c", 3, "bad", "", "invalid_utf8"),
                    ("c", 4, "same", "same", "source_equals_target"),
                ]
            ),
            label="CheckRejected",
        )

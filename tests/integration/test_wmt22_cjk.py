"""Japanese and Chinese real data: default cleaning keeps the pairs, scoring uses the
language's own BLEU tokenizer.

The WMT22 general test sets (``../shared/data/wmt22_cjk/``, 2,037 pairs each) are
clean, aligned translations: the length filters exist for misaligned and runaway
pairs, so they must keep at least 98% of the distinct pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmt import stages
from nmt.config import load_config
from seq2seq.evaluation.scores import corpus_scores
from tests.conftest import SHARED_DATA

# The slow tier (make test-all, CI): integration tests run servers, Dask clusters, real
# corpora or whole evaluations.
pytestmark = pytest.mark.slow

FOLDER = SHARED_DATA / "wmt22_cjk"
CONFIG = """
experiment: wmt22_en_{lang}
run_root: {root}
data:
  source_lang: en
  target_lang: {lang}
  inputs:
    - name: wmt22
      format: aligned
      source: {folder}/generaltest2022.en-{lang}.en
      target: {folder}/generaltest2022.en-{lang}.{lang}
  sentencepiece: {{vocab_size: 2000}}
  num_shards: 1
  beam_args: [--runner=FnApiRunner]
"""


@pytest.mark.parametrize(("lang", "tokenizer"), [("ja", "ja-mecab"), ("zh", "zh")])
def test_default_cleaning_keeps_the_pairs_and_scoring_uses_the_languages_tokenizer(
    tmp_path: Path, lang: str, tokenizer: str
) -> None:
    if not FOLDER.exists():
        pytest.skip(f"{FOLDER} is absent (real corpora live in ../shared/data beside the checkout)")
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(lang=lang, root=tmp_path, folder=FOLDER), encoding="utf-8")
    config = load_config(path)
    stages.preprocess(config)

    data = config.run_dir / "data"
    stats = json.loads((data / "stats.json").read_text(encoding="utf-8"))
    counts = stats["corpora"]["wmt22"]
    assert counts["input"] == 2037
    assert counts["kept"] + counts["rejected"] == counts["input"]
    # Exact repeats of a pair (48 en-ja and 119 en-zh lines of these files, such as "Tap
    # Settings.") are removed by deduplication, not by the length filters; of the rest,
    # the filters must keep at least 98%.
    duplicates = counts["rejected_by_reason"].get("duplicate", 0)
    assert counts["kept"] >= 0.98 * (counts["input"] - duplicates), counts
    assert stats["sentencepiece"]["character_coverage"] == 0.9995
    assert (data / "sentencepiece" / "target.model").exists() or stats["sentencepiece"]["joint"]

    assert config.evaluate.tokenize == tokenizer
    references = (data / "text" / f"test.{lang}").read_text(encoding="utf-8").splitlines()
    scores = corpus_scores(references, [references], config.evaluate)
    assert scores["bleu"]["score"] == pytest.approx(100.0)
    assert f"tok:{tokenizer}" in scores["bleu"]["signature"]
    assert scores["chrf"]["score"] == pytest.approx(100.0)

"""English to Japanese through every stage, on text the test writes itself.

Japanese is written without spaces: cleaning must keep its pairs (length in word
units), SentencePiece must cover its characters, the export must translate, and
evaluation must score with sacrebleu's Japanese tokenizer (``ja-mecab``).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUBJECTS = [
    ("the black cat", "黒い猫"),
    ("my sister", "私の姉"),
    ("the old teacher", "年老いた先生"),
    ("the boy", "男の子"),
    ("the small dog", "小さい犬"),
]
VERBS = [("eats", "食べます"), ("sees", "見ます"), ("buys", "買います"), ("washes", "洗います")]
OBJECTS = [
    ("the fish", "魚"),
    ("the apple", "りんご"),
    ("the red book", "赤い本"),
    ("the big car", "大きい車"),
    ("the letter", "手紙"),
]
TIMES = [("", ""), ("today", "今日、"), ("every day", "毎日、"), ("now", "今、")]


def pairs() -> list[tuple[str, str]]:
    """English ``S V O [T] .`` and Japanese ``[T、]SはOをV。`` (400 pairs)."""
    out = []
    for (s, s_ja), (v, v_ja), (o, o_ja), (t, t_ja) in itertools.product(
        SUBJECTS, VERBS, OBJECTS, TIMES
    ):
        english = " ".join(w for w in (s, v, o, t) if w) + " ."
        out.append((english, f"{t_ja}{s_ja}は{o_ja}を{v_ja}。"))
    return out


CONFIG = """
experiment: en_ja
data:
  source_lang: en
  target_lang: ja
  inputs:
    - {name: generated, format: aligned, source: corpus.en, target: corpus.ja}
  split: {dev_fraction: 0.1, test_fraction: 0.1, salt: ja}
  sentencepiece: {model_type: bpe, vocab_size: 200}
  num_shards: 1
  beam_args: [--runner=FnApiRunner]
model: {embedding_size: 16, units: 32, dropout: 0.0}
train: {batch_size: 32, epochs: 1, max_steps: 6, learning_rate: 0.005, checkpoint_every: 5}
decode: {strategy: greedy}
evaluate: {bootstrap: 0}
"""


def run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        args, cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.slow
def test_english_to_japanese_through_every_stage(tmp_path: Path) -> None:
    """About a minute: every stage through ``nmt run`` (Beam, SentencePiece, 6 training steps,
    evaluation with MeCab, export), then the serving script in a fresh process."""
    corpus = pairs()
    (tmp_path / "corpus.en").write_text("".join(e + "\n" for e, _ in corpus), encoding="utf-8")
    (tmp_path / "corpus.ja").write_text("".join(j + "\n" for _, j in corpus), encoding="utf-8")
    (tmp_path / "en_ja.yaml").write_text(CONFIG, encoding="utf-8")
    done = run([sys.executable, "-m", "nmt.cli", "run", "en_ja.yaml"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    run_dir = tmp_path / "runs" / "en_ja"
    stats = json.loads((run_dir / "data" / "stats.json").read_text(encoding="utf-8"))
    counts = stats["corpora"]["generated"]
    assert counts["input"] == counts["kept"] == len(corpus) == 400, counts
    assert stats["sentencepiece"]["character_coverage"] == 0.9995  # chosen for Japanese
    report = json.loads((run_dir / "eval" / "report.json").read_text(encoding="utf-8"))
    assert "tok:ja-mecab" in report["bleu_signature"], report["bleu_signature"]
    assert report["chrf_signature"].startswith("nrefs:1")

    served = run(
        [sys.executable, "-m", "serving.translate", "--model", "serving/models/en_ja"],
        cwd=tmp_path,
        stdin="the black cat eats the fish .\n",
    )
    assert served.returncode == 0 and served.stderr == "", served.stderr[-3000:]
    assert len(served.stdout.splitlines()) == 1

"""TF Serving's configuration files: models.config, batching parameters, monitoring."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from serving.server_config import (
    ConfigFileError,
    VersionPolicy,
    read_batching_parameters,
    read_model_config,
    read_monitoring_config,
)

MODELS = """
model_config_list {
  config {
    name: 'en_de'
    base_path: '/models/en_de'
    model_platform: 'tensorflow'
    model_version_policy { specific { versions: 3 versions: 1 } }
    version_labels { key: 'stable' value: 1 }
    version_labels { key: 'canary' value: 3 }
  }
  config { name: 'en_fr' base_path: '/models/en_fr' model_version_policy { all {} } }
  config { name: 'en_es' base_path: '/models/en_es'
           model_version_policy { latest { num_versions: 2 } } }
  config { name: 'en_it' base_path: '/models/en_it' }
}
"""


def write(tmp_path: Path, text: str, name: str = "file.config") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_models_config_with_every_version_policy_and_labels(tmp_path: Path) -> None:
    de, fr, es, it = read_model_config(write(tmp_path, MODELS))
    assert (de.name, de.base_path, de.labels) == (
        "en_de",
        Path("/models/en_de"),
        {"stable": 1, "canary": 3},
    )
    assert de.policy == VersionPolicy("specific", versions=(1, 3))
    assert fr.policy.kind == "all"
    assert es.policy == VersionPolicy("latest", num_versions=2)
    assert it.policy == VersionPolicy("latest", num_versions=1)  # TF Serving's default
    on_disk = [1, 2, 3, 4]
    assert [e.policy.select(on_disk) for e in (de, fr, es, it)] == [
        [1, 3],
        [1, 2, 3, 4],
        [3, 4],
        [4],
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("model_config_list { config { name: 'a' } }", "needs a name and a base_path"),
        (
            "model_config_list { config { name: 'a' base_path: '/a' model_platform: 'x' } }",
            "model_platform",
        ),
        (
            "model_config_list { config { name: 'a' base_path: '/a' } "
            "config { name: 'a' base_path: '/b' } }",
            "listed twice",
        ),
        (
            "model_config_list { config { name: 'a' base_path: '/a' \n bogus: 1 } }",
            ':2:2 : Message type "tensorflow.serving.ModelConfig" has no field named "bogus"',
        ),
        ("model_config_list { }", "lists no model"),
    ],
)
def test_bad_models_config_names_the_file_and_problem(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as caught:
        read_model_config(path)
    assert str(caught.value).startswith(str(path)) and fragment in str(caught.value)


def test_batching_parameters_as_tf_serving_writes_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "max_batch_size { value: 8 }\nbatch_timeout_micros { value: 2500 }\n"
        "max_enqueued_batches { value: 3 }\nnum_batch_threads { value: 2 }\n"
        "allowed_batch_sizes: 2\nallowed_batch_sizes: 8\npad_variable_length_inputs: true\n",
    )
    settings = read_batching_parameters(path)
    assert settings.enabled and settings.max_batch_size == 8
    assert settings.batch_timeout_s == 0.0025 and settings.max_enqueued_batches == 3
    assert settings.num_batch_threads == 2 and settings.allowed_batch_sizes == (2, 8)
    assert read_batching_parameters(None).enabled


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("max_batch_size { value: 8 }\nallowed_batch_sizes: 4", "must equal max_batch_size"),
        (
            "max_batch_size { value: 8 }\nallowed_batch_sizes: 8\nallowed_batch_sizes: 4",
            "increasing",
        ),
        ("num_batch_threads { value: 0 }", "num_batch_threads must be at least 1"),
        ("max_batch_size { value: 8 }\nmax_batch_sizes { value: 9 }", ":2:1 : Message type"),
    ],
)
def test_bad_batching_parameters(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError, match=str(path)) as caught:
        read_batching_parameters(path)
    assert fragment in str(caught.value)


def test_monitoring_config(tmp_path: Path) -> None:
    text = 'prometheus_config {\n  enable: true,\n  path: "/monitoring/prometheus/metrics"\n}\n'
    assert read_monitoring_config(write(tmp_path, text)) == "/monitoring/prometheus/metrics"
    assert read_monitoring_config(write(tmp_path, "prometheus_config { enable: true }")) == (
        "/monitoring/prometheus/metrics"
    )
    assert read_monitoring_config(write(tmp_path, "prometheus_config { enable: false }")) is None
    with pytest.raises(ConfigFileError, match="must start with /"):
        read_monitoring_config(write(tmp_path, 'prometheus_config { enable: true path: "m" }'))
    with pytest.raises(ConfigFileError, match="cannot read"):
        read_monitoring_config(tmp_path / "missing.config")


def test_the_readme_files_parse(tmp_path: Path) -> None:
    """The models.config, batching and monitoring files of "Moving from TensorFlow Serving"."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Moving from TensorFlow Serving", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\w*\n(.*?)```", section, flags=re.DOTALL)
    models, batching, monitoring = (
        next(b for b in blocks if b.startswith(start))
        for start in ("model_config_list", "max_batch_size", "prometheus_config")
    )
    en_de, en_fr = read_model_config(write(tmp_path, models, "models.config"))
    assert en_de.labels == {"stable": 1, "canary": 2} and en_fr.policy.num_versions == 2
    assert read_batching_parameters(write(tmp_path, batching)).allowed_batch_sizes == (8, 32, 64)
    assert read_monitoring_config(write(tmp_path, monitoring)) == "/monitoring/prometheus/metrics"

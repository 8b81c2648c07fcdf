"""``import transformers_bat`` is light and still makes our checkpoints loadable through the Auto classes.

Each case runs in a fresh interpreter: what a module imports, and when registration happens, depends on what the
process imported before.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.models.spatial_ast.test_modeling_spatial_ast import tiny_config
from transformers_bat import SpatialASTConfig, SpatialASTForSpatialAudioClassification


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


HEAVY = ("torch", "transformers")


@pytest.mark.parametrize(
    "statement",
    [
        "import transformers_bat",
        "import transformers_bat.simulation as m; m.RIRBank, m.ProceduralCatalogue, m.BankSettings",
        "import transformers_bat.data as m; m.ScenePool, m.write_dataset, m.load_spatial_sound_qa",
        "import transformers_bat.labels as m; m.direction_words(30.0, 10.0)",
        "from transformers_bat.cli.main import build_parser; build_parser()",
    ],
)
def test_light_parts_do_not_import_the_model_stack(statement):
    """The simulator, the data tools, the label conventions and the CLI's parser (--help) need neither."""
    report = f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    imported = run_python(f"import sys, json\n{statement}\n{report}")
    assert imported == []


@pytest.fixture(scope="module")
def spatial_ast_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spatial_ast")
    config = tiny_config(num_hidden_layers=1, num_labels=2, id2label={0: "dog", 1: "siren"})
    SpatialASTForSpatialAudioClassification(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    "order",
    [
        "import transformers_bat\nfrom transformers import AutoConfig, AutoModel, AutoModelForAudioClassification",
        "from transformers import AutoConfig, AutoModel, AutoModelForAudioClassification\nimport transformers_bat",
        "import transformers, transformers_bat\nfrom transformers import AutoConfig, AutoModel, "
        "AutoModelForAudioClassification",
    ],
)
def test_auto_classes_load_our_checkpoints_after_import(spatial_ast_dir, order):
    """Whichever of transformers and transformers_bat is imported first, the Auto classes know our models."""
    probe = """
        folder = {folder!r}
        print(json.dumps([
            type(AutoConfig.from_pretrained(folder)).__name__,
            type(AutoModel.from_pretrained(folder)).__name__,
            type(AutoModelForAudioClassification.from_pretrained(folder)).__name__,
        ]))
    """
    loaded = run_python(f"import json\n{order}\n" + textwrap.dedent(probe).format(folder=str(spatial_ast_dir)))
    assert loaded == ["SpatialASTConfig", "SpatialASTModel", "SpatialASTForSpatialAudioClassification"]


def test_the_pipeline_task_is_known_after_import():
    known = run_python(
        """
        import json
        import transformers_bat
        from transformers.pipelines import PIPELINE_REGISTRY
        tasks = PIPELINE_REGISTRY.supported_tasks
        print(json.dumps(["spatial-audio-qa" in tasks, "spatial-audio-classification" in tasks]))
        """
    )
    assert known == [True, True]


def test_lazy_names_resolve_and_unknown_ones_fail():
    import transformers_bat
    import transformers_bat.simulation as simulation

    assert transformers_bat.SpatialASTConfig is SpatialASTConfig
    assert "BatForConditionalGeneration" in dir(transformers_bat)
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchModel'"):
        transformers_bat.NoSuchModel  # noqa: B018
    from transformers_bat.simulation import spatialize  # a submodule, found through the import system

    assert callable(spatialize.spatialize) and simulation.RIRBank.__name__ == "RIRBank"

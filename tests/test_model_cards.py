"""Model cards: huggingface_hub metadata the Hub can use (licence, pipeline tag, base model) and the run's figures."""

import pytest
from huggingface_hub import ModelCard

from transformers_bat.model_cards import AUTHORS_LICENSE, BAT_CITATION, hub_model_id, write_model_card


def test_card_metadata_and_sections(tmp_path):
    path = write_model_card(
        tmp_path,
        "spatial_ast",
        title="Spatial-AST (tiny)",
        description="Trained in a test.",
        base_model=tmp_path,  # a local folder means nothing on the Hub: named in the text, not the metadata
        training={"command": "transformers-bat demo", "seed": 0},
        metrics={"mAP": 0.51234, "left/right accuracy": 0.9},
    )
    card = ModelCard.load(path)
    assert card.data.license == "apache-2.0" and card.data.pipeline_tag == "audio-classification"
    assert card.data.library_name == "transformers" and card.data.base_model is None
    assert "spatial-audio" in card.data.tags and "spatial_ast" in card.data.tags
    assert f"Built on the local checkpoint `{tmp_path}`" in card.text
    assert "| mAP | 0.5123 |" in card.text and "| seed | 0 |" in card.text
    assert BAT_CITATION in card.text and "decode_predictions" in card.text


def test_adapter_and_converted_weights_cards(tmp_path):
    card = ModelCard.load(
        write_model_card(tmp_path, "bat", library_name="peft", license=AUTHORS_LICENSE, base_model="meta-llama/x")
    )
    assert card.data.pipeline_tag == "audio-text-to-text" and card.data.library_name == "peft"
    assert card.data.base_model == "meta-llama/x" and card.data.license == "cc-by-nc-4.0"
    assert "non-commercial" in card.text and 'pipeline("spatial-audio-qa"' in card.text
    with pytest.raises(ValueError, match="model_type must be one of"):
        write_model_card(tmp_path, "whisper")


@pytest.mark.parametrize(
    "reference, expected",
    [("org/model", "org/model"), ("./model", None), ("/abs/model", None), ("a/b/c", None), (None, None)],
)
def test_hub_model_id(reference, expected):
    assert hub_model_id(reference) == expected

"""``generate-qa --materialize-audio``: records that carry their rendered clip, playable without the bank."""

import numpy as np
import pytest

from transformers_bat.cli.main import main
from transformers_bat.data import SceneRenderer, load_spatial_sound_qa, record_waveform
from transformers_bat.data.materialized_audio import encode_waveform
from transformers_bat.simulation import ProceduralCatalogue, RIRBank

from .fake_release import write_reverb_bank


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    root = tmp_path_factory.mktemp("materialized")
    bank = write_reverb_bank(root / "mp3d_reverb", num_rooms=4, per_room=16)
    argv = ["generate-qa", str(root / "ssqa"), "--rir-bank", str(bank), "--clips-per-class", "2", "--seed", "3"]
    argv += ["--per-type", "CLASSIFICATION=4,MIXUP_DIRECTION=4", "--test-per-type", "0", "--no-progress"]
    assert main(argv + ["--test-fraction", "0.25", "--materialize-audio"]) == 0
    return root / "ssqa", bank


def test_records_carry_their_rendered_clip(materialized):
    folder, bank = materialized
    dataset = load_spatial_sound_qa(folder, "stage3", split="train")
    assert dataset.features["audio"].decode is False and dataset.features["audio"].sampling_rate == 32000
    renderer = SceneRenderer(RIRBank.open(bank), ProceduralCatalogue(clips_per_class=2, seed=3))
    for record in dataset:
        waveform = record_waveform(record)
        assert waveform.shape == (2, 320_000) and record["audio"]["path"].endswith(".flac")
        assert not np.allclose(waveform[0], waveform[1])  # both channels, not a mono copy
        np.testing.assert_allclose(waveform, renderer.render(record), atol=2e-6 * record["audio_scale"])
    assert "`audio`" in (folder / "README.md").read_text()


def test_round_trip_through_datasets_keeps_both_channels(materialized, tmp_path):
    import datasets

    folder, _ = materialized
    dataset = load_spatial_sound_qa(folder, "stage3", split="train")
    dataset.save_to_disk(str(tmp_path / "copy"))
    again = datasets.load_from_disk(str(tmp_path / "copy"))
    for first, second in zip(dataset, again):
        np.testing.assert_array_equal(record_waveform(first), record_waveform(second))


def test_loud_scenes_are_scaled_not_clipped():
    """Rendered scenes peak above 1 (never clipped, as in the release); FLAC holds [-1, 1): a gain is recorded."""
    waveform = np.stack([np.linspace(-3.5, 3.5, 32000), np.linspace(0.5, -0.5, 32000)]).astype(np.float32)
    audio, scale = encode_waveform(waveform, "loud.flac")
    assert scale == 4.0
    np.testing.assert_allclose(record_waveform({"audio": audio, "audio_scale": scale}), waveform, atol=1e-6)
    with pytest.raises(ValueError, match="has no materialised audio"):
        record_waveform({"audio": None})

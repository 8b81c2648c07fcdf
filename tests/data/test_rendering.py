import pickle

import numpy as np
import pytest
import torch

from transformers_bat.data import AuthorsRelease, MissingAssetError, SceneRenderer, check_assets

from .fake_release import write_release

NUM_SAMPLES = 16_000  # 0.5 s keeps the tests fast; the default is 320,000 (10 s)


@pytest.fixture()
def setup(tmp_path):
    folders = write_release(tmp_path)
    release = AuthorsRelease(folders["closed_end"], folders["reverb"], folders["audioset"])
    catalogue = release.catalogue("test")
    records = release.records("stage1", "test") + release.records("stage3", "test")
    renderer = SceneRenderer(folders["reverb"], catalogue, num_samples=NUM_SAMPLES, bank_split="eval")
    return release, records, renderer


def test_rendering_is_deterministic_and_binaural(setup):
    _, records, renderer = setup
    for record in records:
        first = renderer.render(record)
        assert first.shape == (2, NUM_SAMPLES) and first.dtype == np.float32
        assert np.abs(first).max() > 0
        np.testing.assert_array_equal(first, renderer.render(record))
    # two sources are not the same audio as either one alone
    mixture = next(r for r in records if len(r["sources"]) == 2)
    alone = renderer.render(dict(mixture, sources=mixture["sources"][:1]))
    assert not np.allclose(alone, renderer.render(mixture))


def test_more_sources_are_mixed_as_the_release_mixes_two(setup):
    """N sources: the mean of the spatialised sources, so a source keeps its level (sum / N, like (a + b) / 2)."""
    from transformers_bat.scene import Scene

    _, records, renderer = setup
    mixture = next(r for r in records if len(r["sources"]) == 2)
    first, second = mixture["sources"]
    three = renderer.render(Scene.of([first, second, first]))
    singles = [renderer.render(Scene.of([source])) for source in (first, second)]
    np.testing.assert_allclose(three, (2 * singles[0] + singles[1]) / 3, atol=1e-6)
    np.testing.assert_allclose(renderer.render(mixture), (singles[0] + singles[1]) / 2, atol=1e-6)


def test_with_transform_adds_waveform_and_pluggable_features(setup):
    import datasets

    release, records, renderer = setup
    renderer.features = lambda waveforms: np.stack([w[:, ::100] for w in waveforms])
    dataset = release.load("stage1", "test").with_transform(renderer)
    item = dataset[1]
    assert np.asarray(item["waveform"]).shape == (2, NUM_SAMPLES)
    assert np.asarray(item["input_features"]).shape == (2, NUM_SAMPLES // 100)
    assert item["answer"] == records[1]["answer"]
    assert isinstance(dataset, datasets.Dataset)


def test_dataloader_workers_render_the_same_audio_as_the_main_process(setup):
    _, records, renderer = setup
    pickle.loads(pickle.dumps(renderer))  # the bank is re-opened from its path in each worker
    main = renderer.collate(records)
    loader = torch.utils.data.DataLoader(records, batch_size=2, num_workers=2, collate_fn=renderer.collate)
    batches = list(loader)
    torch.testing.assert_close(torch.cat([b["waveforms"] for b in batches]), main["waveforms"], rtol=0, atol=0)
    assert sum((b["question_id"] for b in batches), []) == [r["question_id"] for r in records]


def test_missing_audio_or_rir_names_what_and_where(setup):
    _, records, renderer = setup

    def changed(record, number, **fields):
        sources = [dict(source) for source in record["sources"]]
        sources[number - 1].update(fields)
        return dict(record, sources=sources)

    with pytest.raises(
        MissingAssetError, match=r"source 1 reverb_id='sceneQ/1.npy' cannot be loaded from SoundSpacesRIRBank"
    ):
        renderer.render(changed(records[0], 1, reverb_id="sceneQ/1.npy"))
    with pytest.raises(
        MissingAssetError, match=r"source 2 audio_id='eval/audio/Ynone' cannot be loaded from .*AudioSetCatalogue"
    ):
        renderer.render(changed(records[-1], 2, audio_id="eval/audio/Ynone"))
    both = changed(changed(records[-1], 1, audio_id="a"), 2, audio_id="b")
    with pytest.raises(MissingAssetError, match=r"2 audio id\(s\) not in .*AudioSetCatalogue"):
        check_assets([both], renderer.rir_bank, renderer.catalogue)


def test_feature_extractor_objects_are_called_like_transformers_ones(setup):
    _, records, renderer = setup

    class FakeExtractor:
        model_input_names = ["input_features"]

        def __call__(self, waveforms, sampling_rate, return_tensors):
            assert sampling_rate == 32000 and return_tensors == "np"
            return {"input_features": np.stack([w.mean(axis=1) for w in waveforms])}

    renderer.features = FakeExtractor()
    assert renderer.collate(records[:2])["input_features"].shape == (2, 2)


def test_spatial_ast_features_as_the_feature_step(setup):
    from transformers_bat import SpatialASTFeatureExtractor

    _, records, renderer = setup
    renderer.features = SpatialASTFeatureExtractor()
    batch = renderer.collate(records[:1])
    assert tuple(batch["input_features"].shape) == (1, 4, 1024, 128)


@pytest.fixture(scope="module")
def simulated_bank(tmp_path_factory):
    """A real simulated bank, as small as it gets: 2 rooms x 16 RIRs covering all octants at two distances."""
    from transformers_bat.simulation import BankSettings, render_bank
    from transformers_bat.simulation.rir_rendering import PlacementConfig

    folder = tmp_path_factory.mktemp("bank") / "bank"
    settings = BankSettings(
        seed=0,
        num_rirs=32,
        rirs_per_room=16,
        hrtf="spherical",
        max_rir_s=0.25,
        rt60_range_s=(0.15, 0.25),
        side_range_m=(3.0, 5.0),
        max_order=1,
        placement=PlacementConfig(distance_index_range=(2, 3)),
    )
    render_bank(folder, settings, progress=False)
    return folder


def test_generated_dataset_renders_from_a_simulated_bank(simulated_bank, tmp_path):
    import datasets

    from transformers_bat.data import GenerationRequest, ScenePool, parse_per_type, split_scene_pool, write_dataset
    from transformers_bat.simulation import ProceduralCatalogue, RIRBank

    bank = RIRBank.open(simulated_bank)
    catalogue = ProceduralCatalogue(clips_per_class=2, seed=0, duration_s=1.0)
    pools = split_scene_pool(ScenePool.from_sources(bank, catalogue), test_fraction=0.5, seed=0)
    request = GenerationRequest(counts={"test": parse_per_type("A=8,MIXUP_DIRECTION=8")}, seed=0)
    write_dataset(tmp_path / "ssqa", pools, request)
    records = datasets.load_dataset(str(tmp_path / "ssqa"), "stage3", split="test").to_list()
    assert len(records) == 16 and {r["room_id"] for r in records} == set(pools["test"].room_ids)
    renderer = SceneRenderer(simulated_bank, catalogue, num_samples=NUM_SAMPLES)
    loader = torch.utils.data.DataLoader(records, batch_size=4, num_workers=2, collate_fn=renderer.collate)
    rendered = torch.cat([batch["waveforms"] for batch in loader])
    assert rendered.shape == (16, 2, NUM_SAMPLES)
    torch.testing.assert_close(rendered, renderer.collate(records)["waveforms"], rtol=0, atol=0)

import json

import numpy as np
import pytest
import soundfile

from transformers_bat.simulation.procedural_sounds import PROCEDURAL_CLASSES, synthesize
from transformers_bat.simulation.sources import AudioSetCatalogue, FolderCatalogue, ProceduralCatalogue


def test_procedural_catalogue_is_deterministic_and_rich():
    catalogue = ProceduralCatalogue(clips_per_class=2, seed=3, duration_s=2.0)
    assert len(catalogue.class_names) >= 12 and len(catalogue) == 2 * len(catalogue.class_names)
    assert catalogue.ids[0] == "procedural/dog/0" and "procedural/walk_footsteps/1" in catalogue.ids
    assert catalogue.labels("procedural/church_bell/1") == ["Church bell"]
    audio, sample_rate = catalogue.load("procedural/siren/0")
    assert sample_rate == 32000 and audio.shape == (64000,) and audio.dtype == np.float32
    again, _ = ProceduralCatalogue(clips_per_class=2, seed=3, duration_s=2.0).load("procedural/siren/0")
    assert audio.tobytes() == again.tobytes()
    other, _ = catalogue.load("procedural/siren/1")
    assert not np.array_equal(audio, other)
    assert ProceduralCatalogue(1, seed=4, duration_s=2.0).load("procedural/siren/0")[0].tobytes() != audio.tobytes()
    with pytest.raises(KeyError, match="unknown clip id"):
        catalogue.load("procedural/siren/2")


def test_procedural_classes_differ_and_are_broadband():
    spectra = {}
    for name in PROCEDURAL_CLASSES:
        audio = synthesize(name, [0, 1], duration_s=3.0).astype(np.float64)
        assert np.isfinite(audio).all() and np.abs(audio).max() == pytest.approx(0.9, rel=1e-5)
        power = np.abs(np.fft.rfft(audio)) ** 2
        frequencies = np.fft.rfftfreq(len(audio), 1 / 32000)
        # energy above 1.5 kHz, where level differences between the ears are large
        assert power[frequencies > 1500].sum() / power.sum() > 0.02, name
        bands = np.array(
            [power[(frequencies >= lo) & (frequencies < lo * 2)].sum() for lo in 125 * 2.0 ** np.arange(7)]
        )
        spectra[name] = np.log10(bands / bands.sum() + 1e-9)
    names = list(spectra)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(spectra[a] - spectra[b]).max() > 0.1, (a, b)  # no two classes share a spectral shape


def _write_wav(path, seconds=0.5, sample_rate=16000, channels=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(0).uniform(-0.5, 0.5, (int(seconds * sample_rate), channels)).astype(np.float32)
    soundfile.write(path, data, sample_rate)


def test_audioset_catalogue(tmp_path):
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "class_labels_indices_subset.csv").write_text(
        'index,mid,display_name\n0,/m/09x0r,"Speech"\n1,/m/0bt9lr,"Dog"\n2,/m/05tny_,"Bark"\n'
    )
    records = [
        {"id": "YI-HlrcP6Qg4", "folder": "eval/audio", "label": ["/m/0bt9lr", "/m/05tny_", "/m/0dropped"]},
        {"id": "Yabc", "folder": "eval/audio", "label": ["/m/09x0r"]},
        {"id": "Ynone", "folder": "eval/audio", "label": ["/m/0notinsubset"]},
    ]
    (tmp_path / "metadata" / "eval.json").write_text(json.dumps({"data": records}))
    _write_wav(tmp_path / "eval" / "audio" / "YI-HlrcP6Qg4.wav", channels=2)
    catalogue = AudioSetCatalogue(tmp_path, metadata="eval")
    assert catalogue.ids == ["eval/audio/YI-HlrcP6Qg4", "eval/audio/Yabc"]
    assert catalogue.labels("eval/audio/YI-HlrcP6Qg4") == ["Dog", "Bark"]
    assert catalogue.class_names == ["Speech", "Dog", "Bark"]
    audio, sample_rate = catalogue.load("eval/audio/YI-HlrcP6Qg4")
    assert audio.shape == (2, 8000) and sample_rate == 16000
    with pytest.raises(OSError, match="cannot read audio file .*Yabc.wav"):
        catalogue.load("eval/audio/Yabc")
    assert catalogue.ids_by_class()["Speech"] == ["eval/audio/Yabc"]
    with pytest.raises(FileNotFoundError, match="AudioSet file not found: .*balanced.json"):
        AudioSetCatalogue(tmp_path, metadata="balanced")


def test_folder_catalogue_from_directory_and_csv(tmp_path):
    _write_wav(tmp_path / "clips" / "Dog" / "a.wav")
    _write_wav(tmp_path / "clips" / "Siren" / "b.flac")
    catalogue = FolderCatalogue(tmp_path / "clips")
    assert catalogue.ids == ["Dog/a", "Siren/b"] and catalogue.class_names == ["Dog", "Siren"]
    assert catalogue.labels("Siren/b") == ["Siren"] and catalogue.load("Dog/a")[0].shape == (1, 8000)
    (tmp_path / "clips" / "list.csv").write_text("path,label\nDog/a.wav,Dog; Speech\n")
    from_csv = FolderCatalogue(tmp_path / "clips" / "list.csv")
    assert from_csv.ids == ["Dog/a"] and from_csv.labels("Dog/a") == ["Dog", "Speech"]
    (tmp_path / "bad.csv").write_text("file,class\n")
    with pytest.raises(ValueError, match="needs the columns 'path' and 'label'"):
        FolderCatalogue(tmp_path / "bad.csv")
    with pytest.raises(FileNotFoundError, match="no clip folder or CSV"):
        FolderCatalogue(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no labelled clips found"):
        FolderCatalogue(tmp_path / "empty")


def test_fingerprints_and_reprs_are_stable_and_tell_catalogues_apart(tmp_path):
    """Datasets record the fingerprint; the repr goes into the dataset card (it used to embed a memory address)."""
    from transformers_bat.data import CombinedCatalogue

    base = ProceduralCatalogue(clips_per_class=2, seed=0)
    assert base.fingerprint() == ProceduralCatalogue(clips_per_class=2, seed=0).fingerprint()
    others = [ProceduralCatalogue(clips_per_class=2, seed=1), ProceduralCatalogue(clips_per_class=3, seed=0)]
    assert len({base.fingerprint(), *(c.fingerprint() for c in others)}) == 3
    assert repr(base) == repr(ProceduralCatalogue(clips_per_class=2, seed=0)) and "0x" not in repr(base)
    for label in ("dog", "siren"):
        (tmp_path / label).mkdir()
        soundfile.write(tmp_path / label / "a.wav", np.zeros(320), 32000)
    folder = FolderCatalogue(tmp_path)
    assert repr(folder) == f"FolderCatalogue({str(tmp_path)!r}, 2 clips)"
    (tmp_path / "dog" / "b.wav").write_bytes((tmp_path / "dog" / "a.wav").read_bytes())
    assert FolderCatalogue(tmp_path).fingerprint() != folder.fingerprint()  # one more clip
    combined = CombinedCatalogue([folder])
    assert combined.fingerprint() != folder.fingerprint() and len(combined.fingerprint()) == 16

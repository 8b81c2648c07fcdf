import h5py
import numpy as np
import pytest

from transformers_bat.simulation.hrtf import load_hrir_set, load_kemar, oriented, read_sofa, spherical_head


def _write_sofa(path, convention="SimpleFreeFieldHRIR", receivers=2, sample_rate=48000, damage=None):
    """A minimal SOFA-style HDF5 file: a click delayed more at the ear facing away from each source.

    ``damage(impulse_responses, positions)`` may edit the arrays in place before they are written.
    """
    azimuths = np.arange(0, 360, 30.0)
    positions = np.stack([azimuths, np.zeros_like(azimuths), np.full_like(azimuths, 1.2)], axis=1)
    impulse_responses = np.zeros((len(azimuths), receivers, 64))
    for m, azimuth in enumerate(azimuths):
        lateral = np.sin(np.radians(azimuth))  # +1 = left (SOFA azimuth is counter-clockwise from the front)
        impulse_responses[m, 0, 10 + int(round(-10 * lateral)) + 10] = 1.0
        impulse_responses[m, -1, 10 + int(round(10 * lateral)) + 10] = 1.0
    if damage is not None:
        damage(impulse_responses, positions)
    with h5py.File(path, "w") as sofa:
        sofa.attrs["SOFAConventions"] = np.bytes_(convention)
        sofa.create_dataset("Data.IR", data=impulse_responses)
        sofa.create_dataset("Data.SamplingRate", data=np.array([float(sample_rate)]))
        sofa.create_dataset("SourcePosition", data=positions).attrs["Type"] = np.bytes_("spherical")
    return path


def test_bundled_kemar():
    kemar = load_kemar()
    assert kemar.sample_rate == 32000 and kemar.left.shape == kemar.right.shape == (710, 372)
    assert (kemar.min_elevation_deg, kemar.max_elevation_deg) == (-40.0, 90.0)
    np.testing.assert_allclose(np.linalg.norm(kemar.directions, axis=1), 1.0, atol=1e-6)
    left, right = kemar.nearest([0.0, 1.0, 0.0])  # head frame +y = left
    assert np.argmax(np.abs(left)) < np.argmax(np.abs(right))
    assert np.sum(left**2) > 4 * np.sum(right**2)
    assert load_kemar(16000).left.shape[1] == 186


def test_spherical_head_is_lateral_but_symmetric_front_back():
    head = spherical_head()
    left, right = head.nearest([0.0, 1.0, 0.0])
    assert np.argmax(np.abs(left)) < np.argmax(np.abs(right)) and np.sum(left**2) > np.sum(right**2)
    front, back = head.nearest([1.0, 0.0, 0.0]), head.nearest([-1.0, 0.0, 0.0])
    assert np.argmax(np.abs(front[0])) == pytest.approx(np.argmax(np.abs(back[0])), abs=1)


def test_read_sofa(tmp_path):
    hrirs = read_sofa(_write_sofa(tmp_path / "toy.sofa"), sample_rate=32000)
    assert hrirs.sample_rate == 32000 and hrirs.left.shape == (12, 43)  # 64 taps at 48 kHz -> 43 at 32 kHz
    left, right = hrirs.nearest([0.0, 1.0, 0.0])
    assert np.argmax(np.abs(left)) < np.argmax(np.abs(right))
    assert load_hrir_set(str(tmp_path / "toy.sofa")).name.endswith("toy.sofa")


def test_sofa_errors(tmp_path):
    with pytest.raises(ValueError, match="uses SOFA convention 'GeneralFIR'; only 'SimpleFreeFieldHRIR'"):
        read_sofa(_write_sofa(tmp_path / "general.sofa", convention="GeneralFIR"))
    with pytest.raises(ValueError, match=r"must have shape \(measurements, 2 ears, taps\)"):
        read_sofa(_write_sofa(tmp_path / "mono.sofa", receivers=1))
    with pytest.raises(FileNotFoundError, match="SOFA file not found"):
        read_sofa(tmp_path / "missing.sofa")
    (tmp_path / "text.sofa").write_text("not hdf5")
    with pytest.raises(ValueError, match="not a readable SOFA"):
        read_sofa(tmp_path / "text.sofa")
    with pytest.raises(ValueError, match="unknown HRTF 'cipic'"):
        load_hrir_set("cipic")


def test_oriented_directivity_turns_with_heading():
    head = spherical_head(num_directions=64)
    left, _ = head.directivities()
    facing_y = oriented(left, 90.0)
    # after turning to face +y, the left ear (head +y) points to world -x
    np.testing.assert_allclose(
        facing_y.get_response_cartesian(np.array([[-1.0, 0, 0]]))[0], head.nearest([0, 1, 0])[0]
    )
    np.testing.assert_allclose(left.get_response_cartesian(np.array([[0, 1.0, 0]]))[0], head.nearest([0, 1, 0])[0])


def _silence(impulse_responses, positions):
    impulse_responses[:] = 0.0


def _silence_one_ear(impulse_responses, positions):
    impulse_responses[3, 1] = 0.0


def _nan(impulse_responses, positions):
    impulse_responses[0, 0, 5] = np.nan


def _repeat_position(impulse_responses, positions):
    positions[1] = positions[0]


@pytest.mark.parametrize(
    "damage, sample_rate, message",
    [
        (_silence, 48000, r"the left ear and the right ear are silent \(all-zero impulse responses\)"),
        (_silence_one_ear, 48000, "1 of 12 measurements have an all-zero ear"),
        (_nan, 48000, "left contains NaN or infinite values"),
        (_repeat_position, 48000, "1 pair\\(s\\) of measurements share a position"),
        (None, 0, "Data.SamplingRate 0.0 is not a whole rate in 8000-384000 Hz"),
        (None, 44100.5, "Data.SamplingRate 44100.5 is not a whole rate"),
    ],
)
def test_invalid_hrtfs_are_refused(tmp_path, damage, sample_rate, message):
    """An all-zero or NaN SOFA would otherwise render a silent or NaN bank with exit code 0."""
    path = _write_sofa(tmp_path / "bad.sofa", sample_rate=sample_rate, damage=damage)
    with pytest.raises(ValueError, match=message):
        read_sofa(path)


def test_cartesian_positions_at_the_listener_are_refused(tmp_path):
    path = _write_sofa(tmp_path / "cartesian.sofa")
    with h5py.File(path, "a") as sofa:
        del sofa["SourcePosition"]
        positions = np.zeros((12, 3))
        positions[1:, 0] = 1.0
        sofa.create_dataset("SourcePosition", data=positions).attrs["Type"] = np.bytes_("cartesian")
    with pytest.raises(ValueError, match=r"measurements at the listener's position \(0, 0, 0\)"):
        read_sofa(path)


def test_bundled_and_modelled_sets_pass_validation():
    assert load_kemar().left.shape[0] == 710  # validation runs in HRIRSet.__post_init__
    assert spherical_head().left.shape[0] == 512

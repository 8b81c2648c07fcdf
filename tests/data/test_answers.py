import pytest

from transformers_bat.data import answers


def test_formats_match_the_release():
    assert answers.classes_answer(["Vehicle", "Car", "Accelerating, revving, vroom"]) == (
        "accelerating, revving, vroom; car; vehicle"
    )
    assert answers.doa_answer(135.0, -20.0, 2.6) == "left, front, below; 2.5m"
    assert answers.doa_answer(300.0, 30.0, 3.0) == "right, behind, above; 3m"
    assert answers.separation_answer(12.3) == "12.5m"  # not clipped at 10 m


def test_near_ties_are_refused():
    def source(name, azimuth_deg, elevation_deg, distance_m):
        return dict(audio_id=name, reverb_id=name, labels=[name], azimuth_deg=azimuth_deg,
                    elevation_deg=elevation_deg, distance_m=distance_m)  # fmt: skip

    record = {
        "question_type": "MIXUP_DISTANCE_BOTH",
        "sources": [source("a", 45.0, 20.0, 3.0), source("b", 225.0, -20.0, 3.2)],
    }
    with pytest.raises(answers.NearTieError, match="less than 0.5 m"):
        answers.derive_answer(record)
    record |= {"question_type": "MIXUP_NONBINARY_DIRECTION", "axis": "vertical"}
    record["sources"][1] |= {"azimuth_deg": 135.0, "elevation_deg": 20.0}
    with pytest.raises(answers.NearTieError, match="vertical"):
        answers.derive_answer(record)


def test_old_flat_records_are_still_answered():
    record = {
        "question_type": "MIXUP_DISTANCE_BOTH",
        "audio_id": "a",
        "reverb_id": "r/0",
        "labels": ["Dog"],
        "azimuth_deg": 45.0,
        "elevation_deg": 20.0,
        "distance_m": 2.0,
        "audio_id2": "b",
        "reverb_id2": "r/1",
        "labels2": ["Piano"],
        "azimuth_deg2": 225.0,
        "elevation_deg2": -20.0,
        "distance_m2": 4.0,
    }
    assert answers.derive_answer(record) == "Yes"

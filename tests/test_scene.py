"""The scene record: sources round-trip through their stored struct, bad input is refused with a reason."""

import pytest

from transformers_bat.scene import SOURCE_FIELDS, Scene, Source


def dog(**overrides):
    values = dict(audio_id="a", reverb_id="r/0", labels=("Dog", "Animal"), azimuth_deg=135.0, elevation_deg=-20.0,
                  distance_m=2.6)  # fmt: skip
    return Source(**(values | overrides))


def test_a_source_round_trips_and_derives_the_release_conventions():
    source = dog()
    stored = source.to_dict()
    assert tuple(stored) == SOURCE_FIELDS and stored["labels"] == ["Dog", "Animal"]
    assert Source.from_dict(stored) == source
    assert source.direction_words == ("left", "front", "below") and source.distance_index == 5
    assert source.spherical == (135.0, -20.0, 2.6) and source.has_truth
    assert not Source.from_dict({"audio_id": "a", "reverb_id": "r"}).has_truth  # the authors' records: ids only


def test_a_scene_from_a_record_or_items():
    scene = Scene.from_record({"room_id": "room1", "sources": [dog().to_dict(), dog(audio_id="b").to_dict()]})
    assert len(scene) == 2 and scene.room_id == "room1" and scene.key == (("a", "r/0"), ("b", "r/0"))
    assert Scene.of_item(dog()) == Scene((dog(),)) and Scene.of_item([dog()]) == Scene.of_item(Scene((dog(),)))
    assert [event["label"] for event in scene.events()] == ["Dog", "Animal", "Dog", "Animal"]
    assert scene.to_columns()["sources"][1]["audio_id"] == "b"


def test_bad_scenes_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="at least one source"):
        Scene(())
    with pytest.raises(ValueError, match=r"needs \['reverb_id'\]"):
        Source.from_dict({"audio_id": "a"})
    with pytest.raises(ValueError, match="record 7 has no sources"):
        Scene.from_record({"question_id": 7, "sources": []})
    with pytest.raises(TypeError):
        Source("a", "r", ("Dog",), 1.0, 2.0, 3.0)  # keywords only: the field order is not the release's

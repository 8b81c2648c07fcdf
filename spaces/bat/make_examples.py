"""Render the Space's example scenes with the package's own simulator and write them next to the app.

    python spaces/bat/make_examples.py [--output-dir spaces/bat/examples]

Each scene is one or two procedural sounds placed around a KEMAR listener in one simulated room (pyroomacoustics
hybrid rendering, seeded), 4 s at 32 kHz, stored as 16-bit stereo FLAC. Running it again gives the same samples.
`scenes.json` lists every clip with its label, the truth (SpatialSoundQA answer format) and a question for it; the
app reads that file. The clips keep the level the rendering gave them (level is a distance cue, and the models were
trained on unnormalised renderings); only if a peak passed full scale would all clips share one gain down.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from transformers_bat.audio_format import SAMPLE_RATE
from transformers_bat.data import question_types as qt
from transformers_bat.data.answers import doa_answer
from transformers_bat.data.question_templates import templates_for
from transformers_bat.simulation.geometry import world_position
from transformers_bat.simulation.hrtf import load_hrir_set
from transformers_bat.simulation.procedural_sounds import synthesize
from transformers_bat.simulation.rir_rendering import BinauralRenderer, Scene
from transformers_bat.simulation.rooms import make_room, shoebox_floor
from transformers_bat.simulation.spatialize import render_scene

DURATION_S = 4.0
SEED = 0
PEAK = 0.95  # the loudest sample of all clips may reach this; louder renderings are scaled down together
LISTENER = (4.0, 3.5, 1.6)  # metres, simulator frame (z up), in the middle of the room
HEADING_DEG = 90.0  # the listener faces +y
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


@dataclass(frozen=True)
class Source:
    """One sound in a scene: a procedural class at a listener-relative direction and distance."""

    class_name: str
    azimuth_deg: float  # 0 = right, 90 = front, 180 = left, 270 = behind
    elevation_deg: float
    distance_m: float


@dataclass(frozen=True)
class ExampleScene:
    """One example clip: its file stem, its sources and a question in SpatialSoundQA's words."""

    name: str
    sources: tuple[Source, ...]
    question: str


def example_scenes() -> list[ExampleScene]:
    """The scenes: directions away from the median, frontal and horizontal planes (clear octant words), and
    sounds whose rendered peaks stay below full scale, so the clips are stored at the level they were rendered."""
    siren = Source("Siren", azimuth_deg=140.0, elevation_deg=15.0, distance_m=2.0)
    telephone = Source("Telephone bell ringing", azimuth_deg=300.0, elevation_deg=-10.0, distance_m=3.0)
    speech = Source("Speech", azimuth_deg=45.0, elevation_deg=10.0, distance_m=1.5)
    bell = Source("Church bell", azimuth_deg=215.0, elevation_deg=-15.0, distance_m=2.5)
    return [
        ExampleScene("siren_left_front", (siren,), templates_for(qt.DOA, "event")[1].format(event="siren")),
        ExampleScene("telephone_right_behind", (telephone,), templates_for(qt.CLASSIFICATION)[0]),
        ExampleScene(
            "speech_and_church_bell",
            (speech, bell),
            templates_for(qt.MIXUP_DIRECTION, "relative")[1].format(e1="speech", e2="church bell", d="right"),
        ),
    ]


def render_example(scene: ExampleScene, scene_index: int, renderer: BinauralRenderer, room) -> np.ndarray:
    """(2, samples) float32 binaural audio of a scene, rendered as SpatialSoundQA renders a record; every random
    choice (ray tracer, sound synthesis) is seeded from (SEED, scene_index, source index)."""
    clips, rirs = [], []
    for index, source in enumerate(scene.sources):
        position = world_position(LISTENER, HEADING_DEG, source.azimuth_deg, source.elevation_deg, source.distance_m)
        placed = Scene(room, LISTENER, HEADING_DEG, tuple(float(v) for v in position))
        seed = [SEED, scene_index, index]
        rirs.append(renderer.render(placed, seed=seed))
        clips.append((synthesize(source.class_name, seed, DURATION_S, SAMPLE_RATE), SAMPLE_RATE))
    return render_scene(clips, rirs, num_samples=int(DURATION_S * SAMPLE_RATE))


def label(scene: ExampleScene) -> str:
    """What the example list shows: each source's class and truth, e.g. "Dog: left, front, above; 2m"."""
    return " + ".join(
        f"{s.class_name}: {doa_answer(s.azimuth_deg, s.elevation_deg, s.distance_m)}" for s in scene.sources
    )


def write_examples(output_dir: Path = EXAMPLES_DIR) -> list[dict]:
    """Render every scene, write `<name>.flac` and `scenes.json` into `output_dir`; returns the scene entries."""
    output_dir.mkdir(parents=True, exist_ok=True)
    renderer = BinauralRenderer(load_hrir_set("kemar", SAMPLE_RATE), sample_rate=SAMPLE_RATE)
    room = make_room("space_examples", shoebox_floor(8.0, 7.0), height_m=3.0, rt60_s=0.35, kind="shoebox")
    scenes = example_scenes()
    audio = [render_example(scene, i, renderer, room) for i, scene in enumerate(scenes)]
    gain = min(1.0, PEAK / max(float(np.abs(clip).max()) for clip in audio))
    entries = []
    for scene, clip in zip(scenes, audio):
        path = output_dir / f"{scene.name}.flac"
        sf.write(path, (clip * gain).T, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
        entries.append(
            {
                "file": path.name,
                "label": label(scene),
                "question": scene.question,
                "sources": [
                    {
                        "class": s.class_name,
                        "azimuth_deg": s.azimuth_deg,
                        "elevation_deg": s.elevation_deg,
                        "distance_m": s.distance_m,
                        "answer": doa_answer(s.azimuth_deg, s.elevation_deg, s.distance_m),
                    }
                    for s in scene.sources
                ],
            }
        )
    manifest = {
        "sample_rate": SAMPLE_RATE,
        "duration_s": DURATION_S,
        "room": {"floor_m": [8.0, 7.0], "height_m": 3.0, "rt60_s": 0.35, "hrtf": "kemar"},
        "gain_db": round(20 * float(np.log10(gain)), 2),
        "made_by": "python spaces/bat/make_examples.py",
        "scenes": entries,
    }
    (output_dir / "scenes.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return entries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=EXAMPLES_DIR)
    args = parser.parse_args(argv)
    for entry in write_examples(args.output_dir):
        size_kb = (args.output_dir / entry["file"]).stat().st_size / 1024
        print(f"{entry['file']} ({size_kb:.0f} kB): {entry['label']}")


if __name__ == "__main__":
    main()

"""Writes a tiny copy of the authors' release layout (QA JSON, npy RIRs + index, AudioSet wavs + metadata)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 32000
CLASSES = [("/m/0bt9lr", "Dog"), ("/m/05r5c", "Piano"), ("/m/0k4j", "Car"), ("/m/07yv9", "Vehicle")]
CLIPS = {  # audio_id -> class mids
    "eval/audio/Ydog000001": ["/m/0bt9lr"],
    "eval/audio/Ypiano00002": ["/m/05r5c"],
    "eval/audio/Ycar0000003": ["/m/0k4j", "/m/07yv9"],
    "balanced_train/audio/Ydog000004": ["/m/0bt9lr"],
}
# reverb id -> (sensor "x,y,z", source "x,y,z") in the authors' frame (+x right, +y up, -z front)
RIRS = {
    "eval": {
        "sceneA/0.npy": ("0,1.5,0", "-2,2.5,-1"),  # left, front, above; |d| = 2.45 m
        "sceneA/1.npy": ("0,1.5,0", "3,1.0,2"),  # right, behind, below; 3.64 m
    },
    "train": {"sceneB/0.npy": ("1,1.5,1", "1.5,2.0,-2")},
}


def qa_record(question_id, question_type, question, answer, audio, reverb, audio2=None, reverb2=None):
    return {
        "audio_id": audio,
        "reverb_id": reverb,
        "audio_id2": audio2,
        "reverb_id2": reverb2,
        "question_id": question_id,
        "question_type": question_type,
        "question": question,
        "answer": answer,
    }


EVAL_STAGE1 = {
    "eval-stage1-classification.json": [
        qa_record(
            0,
            "CLASSIFICATION",
            "Identify the sound events in the audio clip.",
            "car; vehicle",
            "eval/audio/Ycar0000003",
            "sceneA/1.npy",
        ),
    ],
    "eval-stage1-doa.json": [
        qa_record(
            1,
            "DOA",
            "Where is the audio clip coming from?",
            "left, front, above; 2.5m",
            "eval/audio/Ydog000001",
            "sceneA/0.npy",
        ),
    ],
}
STAGE3_NONBINARY = [
    qa_record(
        58,
        "MIXUP_NONBINARY_DISTANCE",
        "How far away is the sound of the dog from the sound of the piano?",
        "6m",
        "eval/audio/Ydog000001",
        "sceneA/0.npy",
        "eval/audio/Ypiano00002",
        "sceneA/1.npy",
    ),
]


def write_release(root: Path, rir_length: int = 800) -> dict[str, Path]:
    """Write the layout under ``root``; returns the three folders the reader takes."""
    rng = np.random.default_rng(0)
    closed_end = root / "SpatialSoundQA" / "closed-end"
    for name, records in EVAL_STAGE1.items():
        _json(closed_end / "stage1-clsdoa" / name, {"data": records})
    _json(
        closed_end / "stage1-clsdoa" / "train.json",
        {
            "data": [
                qa_record(
                    5,
                    "DOA",
                    "Where is the audio clip coming from?",
                    "right, front, above; 3m",
                    "balanced_train/audio/Ydog000004",
                    "sceneB/0.npy",
                ),
            ]
        },
    )
    _json(closed_end / "stage3-mixup" / "eval-stage3-nonbinary.json", {"data": STAGE3_NONBINARY})
    pair = ("eval/audio/Ydog000001", "sceneA/0.npy", "eval/audio/Ypiano00002", "sceneA/1.npy")
    _json(
        closed_end / "stage3-mixup" / "eval-stage3-direction.json",
        {
            "data": [
                qa_record(60, "MIXUP_DIRECTION", "Is the dog on your left and the piano on your right?", "Yes", *pair),
            ]
        },
    )
    _json(
        closed_end / "stage3-mixup" / "eval-stage3-distance.json",
        {
            "data": [
                qa_record(61, "MIXUP_DISTANCE_BOTH", "Is the dog closer to you than the piano?", "Yes", *pair),
            ]
        },
    )
    reverb = root / "mp3d_reverb"
    for split, rirs in RIRS.items():
        data = []
        for fname, (sensor, source) in rirs.items():
            path = reverb / "binaural" / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            rir = np.zeros((2, rir_length))
            rir[:, 0] = 1.0
            rir[:, 1:] = 0.01 * rng.standard_normal((2, rir_length - 1))
            np.save(path, rir)  # float64, like the release
            data.append(
                {"fname": fname, "sensor_position": sensor, "source_position": source, "agent_position": sensor}
            )
        _json(reverb / f"{split}_reverberation.json", {"data": data})
    audioset = root / "AudioSet"
    (audioset / "metadata").mkdir(parents=True, exist_ok=True)
    for name in ("class_labels_indices.csv", "class_labels_indices_subset.csv"):
        with open(audioset / "metadata" / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "mid", "display_name"])
            for index, (mid, display_name) in enumerate(CLASSES):
                writer.writerow([index, mid, display_name])
    meta = {"eval": [], "balanced": []}
    for k, (audio_id, mids) in enumerate(CLIPS.items()):
        folder, _, clip = audio_id.rpartition("/")
        path = audioset / folder / f"{clip}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        tone = 0.1 * np.sin(2 * np.pi * (200 + 100 * k) * np.arange(SAMPLE_RATE) / SAMPLE_RATE)
        sf.write(path, tone, SAMPLE_RATE, subtype="PCM_16")
        meta["eval" if folder.startswith("eval") else "balanced"].append({"id": clip, "folder": folder, "label": mids})
    for name, entries in meta.items():
        _json(audioset / "metadata" / f"{name}.json", {"data": entries})
    return {"closed_end": closed_end, "reverb": reverb, "audioset": audioset}


def _json(path: Path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


def write_reverb_bank(
    root: Path, num_rooms: int = 3, per_room: int = 16, rir_length: int = 400, seed: int = 0
) -> Path:
    """An authors'-layout RIR folder whose rooms each cover all 8 octants at two distances (cheap, no simulation)."""
    rng = np.random.default_rng(seed)
    data = []
    for room in range(num_rooms):
        sensor = np.array([0.0, 1.5, 0.0])
        for k in range(per_room):
            octant = k % 8
            azimuth = rng.uniform(10, 80) + _azimuth_base(octant)
            elevation = rng.uniform(10, 60) * (-1 if octant & 1 else 1)
            distance = 1.0 + 0.5 * (k // 8) + rng.uniform(0.0, 0.2)
            a, e = np.radians(azimuth), np.radians(elevation)
            offset = distance * np.array([np.cos(e) * np.cos(a), np.sin(e), -np.cos(e) * np.sin(a)])
            fname = f"scene{room:02d}/{k}.npy"
            path = root / "binaural" / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            rir = 0.01 * rng.standard_normal((2, rir_length))
            rir[0, 0], rir[1, 2] = 1.0, 0.8
            np.save(path, rir)
            data.append(
                {
                    "fname": fname,
                    "sensor_position": ",".join(map(str, sensor)),
                    "source_position": ",".join(map(str, sensor + offset)),
                    "agent_position": "0,0,0",
                }
            )
    _json(root / "train_reverberation.json", {"data": data})
    return root


def _azimuth_base(octant: int) -> float:
    """Start of the azimuth quadrant of an octant (bit 4 = left, bit 2 = behind)."""
    left, behind = bool(octant & 4), bool(octant & 2)
    return {(False, False): 0.0, (True, False): 90.0, (True, True): 180.0, (False, True): 270.0}[(left, behind)]

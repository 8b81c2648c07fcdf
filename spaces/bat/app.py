"""A Gradio Space for BAT: ask a question about a binaural clip, see the answer and where Spatial-AST hears things.

    python spaces/bat/app.py --spatial-ast DIR --bat DIR [--port N]

Runs offline on CPU. BAT (`pipeline("spatial-audio-qa")`) answers the question; Spatial-AST
(`pipeline("spatial-audio-classification")`) lists the events it detects, window by window, with their directions,
drawn on a polar plot. The app logic is in plain functions (`load_clip`, `answer`, `describe_answer`, ...) so that it
can be tested without a browser; `build_demo` only wires them to components.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no calls home

import numpy as np

HERE = Path(__file__).resolve().parent
EXAMPLES_DIR = HERE / "examples"
CHECKPOINT_NAMES = {"spatial_ast": "spatial-ast-small", "bat": "bat-small"}
ENV_VARS = {"spatial_ast": "BAT_SPACE_SPATIAL_AST", "bat": "BAT_SPACE_BAT"}
HOW_TO_MAKE = {  # what to run when a checkpoint folder is missing
    "spatial_ast": "`transformers-bat demo` writes one to demo_output/spatial_ast/final",
    "bat": "`transformers-bat demo` writes one to demo_output/bat",
}
MAX_DURATION_S = 60.0  # longer uploads are refused: Spatial-AST reads every window, on CPU
DETECTION_THRESHOLD = 0.5
EVENT_HEADERS = [
    "window (s)",
    "event",
    "score",
    "detected",
    "direction",
    "azimuth (deg)",
    "elevation (deg)",
    "distance (m)",
]
INTRO = """\
# BAT: ask questions about binaural audio

Upload a **binaural** clip (2 channels: left ear, right ear; any rate, up to 60 s) or pick an example scene, then
ask a question. **BAT** answers in SpatialSoundQA's formats (`left, front, below; 2.5m`, `Yes`, `dog; siren`), and
**Spatial-AST**, its encoder, lists the events it hears with their directions. Directions are the listener's: in
the plot front is up and left is left.
"""


class AudioInputError(ValueError):
    """Audio the Space refuses (mono, empty, too long ...), with a message that says what to upload instead."""


# ------------------------------------------------------------------------------------------------ checkpoints


def default_checkpoint(kind: str) -> Path:
    """The env var when set, else `checkpoints/<name>` next to the app (a Hub Space) or at the repository root."""
    if os.environ.get(ENV_VARS[kind]):
        return Path(os.environ[ENV_VARS[kind]])
    candidates = [
        HERE / "checkpoints" / CHECKPOINT_NAMES[kind],
        HERE.parents[1] / "checkpoints" / CHECKPOINT_NAMES[kind],
    ]
    return next((path for path in candidates if path.is_dir()), candidates[-1])


def checkpoint_problem(directory: str | os.PathLike, kind: str) -> str | None:
    """`None` when `directory` holds a saved checkpoint, else one line naming the folder and how to make one."""
    title = {"spatial_ast": "Spatial-AST", "bat": "BAT"}[kind]
    option = {"spatial_ast": "--spatial-ast", "bat": "--bat"}[kind]
    path = Path(directory)
    if not path.is_dir():
        found = f"{path} does not exist"
    elif not (path / "config.json").is_file():
        found = f"{path} has no config.json"
    else:
        return None
    return (
        f"No {title} checkpoint: {found}. {HOW_TO_MAKE[kind]}; pass that folder with {option} DIR or set "
        f"{ENV_VARS[kind]}."
    )


@dataclass
class Models:
    """The two pipelines the Space runs: BAT for answers, Spatial-AST for events and directions."""

    qa: Any
    describe: Any

    @classmethod
    def load(cls, spatial_ast_dir: str | os.PathLike, bat_dir: str | os.PathLike) -> Models:
        """Both pipelines on CPU; a missing folder raises `FileNotFoundError` with `checkpoint_problem`'s message."""
        for directory, kind in ((spatial_ast_dir, "spatial_ast"), (bat_dir, "bat")):
            problem = checkpoint_problem(directory, kind)
            if problem:
                raise FileNotFoundError(problem)
        from transformers import pipeline

        import transformers_bat  # noqa: F401  (registers the two pipeline tasks)

        return cls(
            qa=pipeline("spatial-audio-qa", model=str(bat_dir), device="cpu"),
            describe=pipeline("spatial-audio-classification", model=str(spatial_ast_dir), device="cpu"),
        )


# ------------------------------------------------------------------------------------------------ audio


def load_clip(audio) -> tuple[np.ndarray, int]:
    """`(2, samples)` float32 and its rate from an uploaded file path or gradio's `(rate, array)` tuple.

    Refuses (with `AudioInputError`) nothing, mono, more than two channels, empty clips and clips over
    `MAX_DURATION_S`. Mono is never spread to two channels: identical ears carry no direction, so BAT's answer about
    where a sound is would be made up.
    """
    from transformers_bat.models.spatial_ast.feature_extraction_spatial_ast import (
        from_rate_and_array,
        is_rate_and_array,
        read_audio,
    )

    if audio is None:
        raise AudioInputError("No audio yet: upload a binaural (2-channel) clip or pick one of the example scenes.")
    if is_rate_and_array(audio):
        rate, array = audio
        if np.asarray(array).ndim == 1:
            array = np.asarray(array)[:, None]  # gradio gives mono as (samples,)
        clip = from_rate_and_array(int(rate), np.asarray(array))
        waveform, rate = clip["array"], clip["sampling_rate"]
        if waveform.ndim == 2 and waveform.shape[0] > waveform.shape[1]:  # 3+ channels stay channel-last there
            waveform = waveform.T
    elif isinstance(audio, (str, os.PathLike)):
        try:
            waveform, rate = read_audio(audio)
        except ValueError as error:
            raise AudioInputError(str(error)) from error
    else:
        raise AudioInputError(f"Unsupported audio value of type {type(audio).__name__}: upload an audio file.")
    channels = waveform.shape[0] if waveform.ndim == 2 else 1
    if channels == 1:
        raise AudioInputError(
            "This clip is mono (1 channel). BAT needs binaural audio: 2 channels recorded at the two ears (left "
            "first), e.g. with in-ear or dummy-head microphones. A mono clip is not copied to two channels, because "
            "identical ears carry no direction."
        )
    if channels != 2:
        raise AudioInputError(
            f"This clip has {channels} channels; BAT needs exactly 2 (left ear, right ear). Export the binaural pair "
            "only (a multichannel or ambisonic recording has to be rendered to binaural first)."
        )
    if waveform.shape[1] == 0:
        raise AudioInputError("This clip is empty: upload a binaural clip with some sound in it.")
    duration_s = waveform.shape[1] / rate
    if duration_s > MAX_DURATION_S:
        raise AudioInputError(
            f"This clip is {duration_s:.0f} s long; the Space takes up to {MAX_DURATION_S:.0f} s (it runs on CPU). "
            "Trim it to the part you want to ask about."
        )
    return np.ascontiguousarray(waveform, dtype=np.float32), int(rate)


# ------------------------------------------------------------------------------------------------ answers


@dataclass
class SpaceAnswer:
    """What one question gives: each field feeds one output component."""

    answer: str = ""
    answer_details: str = ""
    events: list[list] = field(default_factory=list)
    figure: Any = None
    message: str = ""


def describe_answer(text: str) -> str:
    """The direction and distance in a BAT answer, through the package's answer parser, in words for the page."""
    from transformers_bat.pipelines import parse_answer

    kind, value = parse_answer(text)
    if kind == "direction_distance":
        return (
            f"direction: {value['lateral']}, {value['frontal']}, {value['vertical']}; "
            f"distance: {value['distance_m']:g} m"
        )
    if kind == "direction":
        return f"direction: {value}; no distance in this answer"
    if kind == "distance":
        return f"distance: {value:g} m; no direction in this answer"
    if kind == "yes_no":
        return f"a yes/no answer ({'yes' if value else 'no'}); no direction or distance in it"
    if kind == "classes":
        return f"sound classes ({', '.join(value)}); no direction or distance in this answer"
    return "no direction or distance in this answer"


def events_table(description: dict, threshold: float = DETECTION_THRESHOLD) -> list[list]:
    """Rows of `EVENT_HEADERS` from a `spatial-audio-classification` result: per window, the events scoring at least
    `threshold`, or its best one marked as not detected. Spatial-AST gives one direction per window (that of its
    loudest sound), so the events of a window share it."""
    rows = []
    for segment in description["segments"]:
        events = [event for event in segment["events"] if event[1] >= threshold] or segment["events"][:1]
        window = f"{segment['start_s']:g}-{segment.get('end_s', segment['start_s']):g}"
        for name, score in events:
            rows.append(
                [
                    window,
                    name,
                    round(float(score), 3),
                    "yes" if score >= threshold else "no",
                    ", ".join(segment["direction"]),
                    round(float(segment["azimuth_deg"]), 1),
                    round(float(segment["elevation_deg"]), 1),
                    round(float(segment["distance_m"]), 2),
                ]
            )
    return rows


# azimuth range (degrees) of each (lateral, frontal) pair of octant words: 0 = right, 90 = front
QUADRANTS = {
    ("right", "front"): (0, 90),
    ("left", "front"): (90, 180),
    ("left", "behind"): (180, 270),
    ("right", "behind"): (270, 360),
}


def direction_plot(description: dict, answer_text: str = "", threshold: float = DETECTION_THRESHOLD):
    """A top-view polar plot (front up, left on the left, radius in metres): each window's direction at its
    distance, coloured by its best event (hollow when below `threshold`), the clip's pooled direction as a star and
    the quadrant of BAT's answer shaded. Window details are in the table, so points carry no text."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from transformers_bat.pipelines import parse_answer

    figure = Figure(figsize=(5.6, 5.0), dpi=100)
    axes = figure.add_subplot(projection="polar")
    axes.set_theta_zero_location("E")  # azimuth 0 = right, 90 = front at the top, 180 = left
    max_distance = max([2.0, description["distance_m"]] + [s["distance_m"] for s in description["segments"]])
    limit = math.ceil(max_distance + 0.5)
    kind, parsed = parse_answer(answer_text) if answer_text else (None, None)
    if kind == "direction_distance":
        low, high = QUADRANTS[(parsed["lateral"], parsed["frontal"])]
        label = f"BAT: {parsed['lateral']}, {parsed['frontal']}"
        axes.bar(
            math.radians((low + high) / 2),
            limit,
            width=math.radians(high - low),
            color="tab:green",
            alpha=0.15,
            label=label,
        )
    best = [segment["events"][0] if segment["events"] else ("?", 0.0) for segment in description["segments"]]
    colours = matplotlib.colormaps["tab10"]
    for number, name in enumerate(dict.fromkeys(event for event, _ in best)):
        short = name if len(name) <= 24 else name[:23] + "..."
        for detected in (True, False):
            points = [
                (math.radians(segment["azimuth_deg"]), segment["distance_m"])
                for segment, (event, score) in zip(description["segments"], best)
                if event == name and (score >= threshold) == detected
            ]
            if points:
                axes.scatter(
                    *zip(*points),
                    s=60,
                    facecolors=colours(number % 10) if detected else "none",
                    edgecolors=colours(number % 10),
                    zorder=3,
                    label=short if detected else f"{short} (not detected)",
                )
    axes.scatter(
        [math.radians(description["azimuth_deg"])],
        [description["distance_m"]],
        s=220,
        marker="*",
        color="black",
        zorder=4,
        label="whole clip",
    )
    axes.scatter([0], [0], s=40, color="0.3", marker="^", zorder=4)  # the listener, facing front
    axes.set_ylim(0, limit)
    axes.set_xticks(np.radians([0, 90, 180, 270]), ["right", "front", "left", "behind"])
    axes.set_rlabel_position(112.5)
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    figure.subplots_adjust(left=0.09, right=0.66, top=0.92, bottom=0.08)
    return figure


def answer(models: Models, audio, question: str) -> SpaceAnswer:
    """Ask BAT `question` about `audio` (a file path or gradio's `(rate, array)`) and describe the clip with
    Spatial-AST. Input problems (`ValueError`s, which say what to do) come back as a `message` with empty outputs,
    not as an exception."""
    question = (question or "").strip()
    try:
        if not question:
            raise AudioInputError("Type a question (or pick a suggested one) first.")
        waveform, rate = load_clip(audio)
        result = models.qa({"array": waveform, "sampling_rate": rate}, question=question)
        description = models.describe({"array": waveform, "sampling_rate": rate}, top_k=3)
    except ValueError as error:  # ours, and the package's input checks (non-finite samples, odd rates ...)
        return SpaceAnswer(message=f"**Not answered.** {error}")
    duration_s = waveform.shape[1] / rate
    window_s = float(models.qa.processor.feature_extractor.max_length_s)
    windows = len(description["segments"])
    if getattr(models.qa.processor, "audio_windows", "all") == "loudest" and duration_s > window_s:
        listened = (
            f"BAT listened to the loudest {window_s:g} s window of the {duration_s:.1f} s clip (as it was trained)."
        )
    else:
        listened = f"BAT listened to the whole {duration_s:.1f} s clip" + (
            f", in {window_s:g} s windows." if duration_s > window_s else "."
        )
    return SpaceAnswer(
        answer=result["answer"],
        answer_details=describe_answer(result["answer"]),
        events=events_table(description),
        figure=direction_plot(description, result["answer"]),
        message=f"{listened} Spatial-AST read it in {windows} window{'s' if windows != 1 else ''}.",
    )


# ------------------------------------------------------------------------------------------------ page


def suggested_questions(scenes: list[dict]) -> list[str]:
    """General questions in SpatialSoundQA's own wording (the templates BAT was trained on), then the examples'."""
    from transformers_bat.data import question_types as qt
    from transformers_bat.data.question_templates import templates_for

    general = [
        templates_for(qt.CLASSIFICATION)[0],
        templates_for(qt.DOA)[0],
        templates_for(qt.DOA)[7],
        templates_for(qt.CLASSIFICATION)[1],
    ]
    return list(dict.fromkeys(general + [scene["question"] for scene in scenes]))


def example_scenes(examples_dir: Path = EXAMPLES_DIR) -> list[dict]:
    """The entries of `examples/scenes.json` (written by `make_examples.py`) whose clip is present."""
    manifest = examples_dir / "scenes.json"
    if not manifest.is_file():
        return []
    scenes = json.loads(manifest.read_text())["scenes"]
    return [scene for scene in scenes if (examples_dir / scene["file"]).is_file()]


def model_note(models: Models, spatial_ast_dir, bat_dir) -> str:
    """One paragraph on what is loaded: both folders and the sound classes Spatial-AST knows (nothing else is
    recognised, so a user can tell an unknown sound from a wrong answer)."""
    names = list(models.describe.model.config.id2label.values())
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return (
        f"\nLoaded: Spatial-AST from `{Path(spatial_ast_dir).name}`, BAT from `{Path(bat_dir).name}`. "
        f"Spatial-AST knows {len(names)} sound classes: {shown}.\n"
    )


def build_demo(spatial_ast_dir: str | os.PathLike, bat_dir: str | os.PathLike, models: Models | None = None):
    """The `gr.Blocks` page; loads both pipelines once (or uses `models`)."""
    import gradio as gr

    models = models or Models.load(spatial_ast_dir, bat_dir)

    def on_submit(audio, question):
        result = answer(models, audio, question)
        if result.message.startswith("**Not answered.**"):
            gr.Warning(result.message.removeprefix("**Not answered.** "))
        return result.answer, result.answer_details, result.events, result.figure, result.message

    with gr.Blocks(title="BAT: spatial audio questions") as demo:
        gr.Markdown(INTRO + model_note(models, spatial_ast_dir, bat_dir))
        with gr.Row():
            with gr.Column(scale=1):
                audio = gr.Audio(
                    sources=["upload"], type="filepath", label="Binaural clip (2 channels)", elem_id="audio-input"
                )
                question = gr.Textbox(
                    label="Question", placeholder="Where is the sound coming from?", lines=1, elem_id="question"
                )
                scenes = example_scenes()
                suggested = gr.Dropdown(
                    suggested_questions(scenes), value=None, label="Suggested questions", elem_id="suggested"
                )
                submit = gr.Button("Ask BAT", variant="primary", elem_id="submit")
                status = gr.Markdown(elem_id="status")
                if scenes:
                    gr.Examples(
                        examples=[[str(EXAMPLES_DIR / scene["file"]), scene["question"]] for scene in scenes],
                        inputs=[audio, question],
                        example_labels=[scene["label"] for scene in scenes],
                        label="Example scenes (simulated: class: true direction; distance)",
                        elem_id="examples",
                    )
            with gr.Column(scale=1):
                answer_box = gr.Textbox(label="BAT's answer", interactive=False, elem_id="answer")
                details = gr.Textbox(
                    label="Direction and distance in the answer", interactive=False, elem_id="answer-details"
                )
                plot = gr.Plot(label="Directions heard by Spatial-AST (top view)", format="png", elem_id="plot")
        events = gr.Dataframe(
            headers=EVENT_HEADERS,
            label="Events detected by Spatial-AST, window by window",
            interactive=False,
            elem_id="events",
        )
        suggested.change(lambda text: text or gr.skip(), suggested, question)
        outputs = [answer_box, details, events, plot, status]
        submit.click(on_submit, [audio, question], outputs)
        question.submit(on_submit, [audio, question], outputs)
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="BAT Space: ask questions about binaural audio in a browser.")
    parser.add_argument("--spatial-ast", type=Path, default=None, help="Spatial-AST checkpoint folder")
    parser.add_argument("--bat", type=Path, default=None, help="BAT checkpoint folder (model + processor)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    args = parser.parse_args(argv)
    spatial_ast_dir = args.spatial_ast or default_checkpoint("spatial_ast")
    bat_dir = args.bat or default_checkpoint("bat")
    for directory, kind in ((spatial_ast_dir, "spatial_ast"), (bat_dir, "bat")):
        problem = checkpoint_problem(directory, kind)
        if problem:
            sys.exit(problem)  # one line on stderr, exit status 1
    demo = build_demo(spatial_ast_dir, bat_dir)
    demo.launch(server_name=args.host, server_port=args.port, allowed_paths=[str(EXAMPLES_DIR)])


if __name__ == "__main__":
    main()

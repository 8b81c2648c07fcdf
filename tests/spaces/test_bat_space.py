"""The BAT Space (spaces/bat): its plain functions on tiny random checkpoints, and the page in a headless Chromium.

Random tiny models answer nonsense, so the tests check the structure and types of what the page shows, and that
bad uploads (mono, more than two channels, missing checkpoints) get a message instead of a crash.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.models.bat import bat_tester as bt
from tests.models.spatial_ast.test_modeling_spatial_ast import tiny_config
from transformers_bat import SpatialASTFeatureExtractor, SpatialASTForSpatialAudioClassification

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "spaces" / "bat"
RATE = 32000
CHROMIUM = os.environ.get("TRANSFORMERS_BAT_CHROMIUM", "/usr/bin/chromium")  # Debian's package by default
REQUIRE_BROWSER = os.environ.get("TRANSFORMERS_BAT_REQUIRE_BROWSER") == "1"
CLASSES = {0: "Siren", 1: "Speech", 2: "Church bell"}


def load_module(name: str, path: Path):
    """Import a script of spaces/bat by path (the folder is not a package, and `spaces` is a Hub package name)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


app = load_module("bat_space_app", SPACE / "app.py")
make_examples = load_module("bat_space_make_examples", SPACE / "make_examples.py")


def save_tiny_checkpoints(root: Path) -> tuple[Path, Path]:
    """A random tiny Spatial-AST (3 classes, 1 s windows) and a random tiny BAT, saved as the app loads them."""
    spatial_ast_dir, bat_dir = root / "spatial_ast", root / "bat"
    torch.manual_seed(0)
    encoder = SpatialASTForSpatialAudioClassification(tiny_config(num_hidden_layers=1, num_labels=3, id2label=CLASSES))
    encoder.save_pretrained(spatial_ast_dir)
    SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=64, num_mel_bins=32).save_pretrained(spatial_ast_dir)
    model, processor = bt.build_bat("llama", seed=0)
    model.generation_config.num_beams = 1
    model.generation_config.max_new_tokens = 6
    model.generation_config.min_new_tokens = 6  # a random LM may end at once; the page should show some text
    model.save_pretrained(bat_dir)
    processor.save_pretrained(bat_dir)
    return spatial_ast_dir, bat_dir


def stereo_clip(seconds: float, seed: int = 0) -> np.ndarray:
    """(samples, 2) int16, channel-last as gradio hands it over: a tone louder and earlier on the left."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    left = np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(t.shape)
    right = 0.5 * np.sin(2 * np.pi * 440 * (t - 3e-4))
    return (0.4 * 32767 * np.stack([left, right], axis=1)).astype(np.int16)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> tuple[Path, Path]:
    return save_tiny_checkpoints(tmp_path_factory.mktemp("space_checkpoints"))


@pytest.fixture(scope="module")
def models(checkpoints):
    return app.Models.load(*checkpoints)


# ------------------------------------------------------------------------------------------------ plain functions


def test_answer_on_gradio_stereo_tuple(models):
    from matplotlib.figure import Figure

    result = app.answer(models, (RATE, stereo_clip(2.5)), "Where is the sound coming from?")
    assert isinstance(result.answer, str) and result.answer
    assert isinstance(result.answer_details, str) and result.answer_details
    # 2.5 s read in 1 s windows: 3 windows, each with at least its best event, every row a full table row
    assert sorted({row[0] for row in result.events}) == ["0-1", "1-2", "2-3"]
    for _window, event, score, detected, direction, azimuth, elevation, distance in result.events:
        assert event in CLASSES.values() and 0.0 <= score <= 1.0 and detected in ("yes", "no")
        assert len(direction.split(", ")) == 3
        assert 0.0 <= azimuth < 360.0 and -90.0 <= elevation <= 90.0 and 0.0 <= distance <= 10.0
    assert isinstance(result.figure, Figure) and result.figure.axes[0].name == "polar"
    assert "BAT listened to the whole 2.5 s clip, in 1 s windows." in result.message and "3 windows" in result.message


def test_answer_on_an_uploaded_file_and_a_short_clip(models, tmp_path):
    path = tmp_path / "upload.flac"
    sf.write(path, stereo_clip(0.6, seed=1), RATE)
    result = app.answer(models, str(path), "Identify the sound events in the audio clip.")
    assert result.answer and len(result.events) >= 1
    assert result.message.startswith("BAT listened to the whole 0.6 s clip")


@pytest.mark.parametrize(
    "audio",
    [
        (RATE, stereo_clip(1.0)[:, 0]),  # gradio's mono: (samples,)
        (RATE, stereo_clip(1.0)[:, :1]),  # (samples, 1)
    ],
    ids=["samples", "samples_by_1"],
)
def test_mono_is_refused_with_a_message(models, audio):
    result = app.answer(models, audio, "Where is the sound coming from?")
    assert "mono" in result.message and "2 channels" in result.message
    assert (result.answer, result.answer_details, result.events, result.figure) == ("", "", [], None)


def test_other_bad_inputs_get_messages(models, tmp_path):
    mono_file = tmp_path / "mono.wav"
    sf.write(mono_file, stereo_clip(1.0)[:, 0], RATE)
    assert "mono" in app.answer(models, str(mono_file), "Where?").message
    surround = np.repeat(stereo_clip(1.0)[:, :1], 6, axis=1)
    assert "6 channels" in app.answer(models, (RATE, surround), "Where?").message
    assert "No audio yet" in app.answer(models, None, "Where?").message
    assert "Type a question" in app.answer(models, (RATE, stereo_clip(1.0)), "  ").message
    too_long = np.zeros((int(61 * 8000), 2), dtype=np.int16)
    assert "61 s long" in app.answer(models, (8000, too_long), "Where?").message
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("not audio")
    assert "Could not read" in app.answer(models, str(not_audio), "Where?").message


def test_describe_answer_uses_the_answer_parser():
    assert app.describe_answer("left, front, below; 2.5m") == "direction: left, front, below; distance: 2.5 m"
    assert app.describe_answer("3m") == "distance: 3 m; no direction in this answer"
    assert app.describe_answer("Yes").startswith("a yes/no answer (yes)")
    assert app.describe_answer("right") == "direction: right; no distance in this answer"
    assert app.describe_answer("dog; siren").startswith("sound classes (dog, siren)")
    assert app.describe_answer("") == "no direction or distance in this answer"


def test_events_table_and_plot_from_a_description():
    window = {"distance_m": 2.0, "azimuth_deg": 135.0, "elevation_deg": 10.0, "direction": ("left", "front", "above")}
    description = {
        **window,
        "events": [("Siren", 0.9)],
        "segments": [
            {"start_s": 0.0, "end_s": 1.0, **window, "events": [("Siren", 0.9), ("Speech", 0.6), ("Dog", 0.1)]},
            {"start_s": 1.0, "end_s": 2.0, **window, "azimuth_deg": 300.0, "events": [("Dog", 0.2), ("Siren", 0.1)]},
        ],
    }
    rows = app.events_table(description)
    assert [row[:4] for row in rows] == [
        ["0-1", "Siren", 0.9, "yes"],
        ["0-1", "Speech", 0.6, "yes"],
        ["1-2", "Dog", 0.2, "no"],  # nothing detected: the best guess, marked
    ]
    assert rows[2][4:] == ["left, front, above", 300.0, 10.0, 2.0]
    assert all(len(row) == len(app.EVENT_HEADERS) for row in rows)
    figure = app.direction_plot(description, "left, front, above; 2m")
    axes = figure.axes[0]
    assert axes.name == "polar" and [t.get_text() for t in axes.get_xticklabels()] == [
        "right",
        "front",
        "left",
        "behind",
    ]
    assert "BAT: left, front" in [t.get_text() for t in axes.get_legend().get_texts()]


def test_missing_checkpoints_get_one_line_that_says_what_to_do(tmp_path, checkpoints, monkeypatch, capsys):
    missing = tmp_path / "nowhere"
    message = app.checkpoint_problem(missing, "bat")
    assert str(missing) in message and "transformers-bat demo" in message and "demo_output/bat" in message
    assert "\n" not in message and "--bat" in message and "BAT_SPACE_BAT" in message
    no_config = tmp_path / "empty"
    no_config.mkdir()
    assert "has no config.json" in app.checkpoint_problem(no_config, "spatial_ast")
    assert "demo_output/spatial_ast/final" in app.checkpoint_problem(no_config, "spatial_ast")
    assert app.checkpoint_problem(checkpoints[0], "spatial_ast") is None
    with pytest.raises(SystemExit) as stop:
        app.main(["--spatial-ast", str(checkpoints[0]), "--bat", str(missing)])
    assert stop.value.code == app.checkpoint_problem(missing, "bat")
    with pytest.raises(FileNotFoundError, match="No Spatial-AST checkpoint"):
        app.Models.load(missing, checkpoints[1])
    # the env vars are the defaults
    monkeypatch.setenv("BAT_SPACE_BAT", str(missing))
    monkeypatch.setenv("BAT_SPACE_SPATIAL_AST", str(checkpoints[0]))
    assert app.default_checkpoint("bat") == missing and app.default_checkpoint("spatial_ast") == checkpoints[0]
    # as a command: exit status 1 and one line on stderr, no traceback
    command = [sys.executable, str(SPACE / "app.py"), "--spatial-ast", str(missing), "--bat", str(checkpoints[1])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [app.checkpoint_problem(missing, "spatial_ast")]


def test_build_demo_wires_the_page(models, checkpoints):
    import gradio as gr

    demo = app.build_demo(*checkpoints, models=models)
    assert isinstance(demo, gr.Blocks)
    ids = {block.elem_id for block in demo.blocks.values()}
    assert {"audio-input", "question", "suggested", "submit", "answer", "answer-details", "plot", "events"} <= ids


# ------------------------------------------------------------------------------------------------ example scenes


def test_example_scenes_are_small_binaural_clips_with_labels():
    manifest = json.loads((SPACE / "examples" / "scenes.json").read_text())
    scenes = manifest["scenes"]
    assert 2 <= len(scenes) <= 4 and app.example_scenes() == scenes
    assert [scene["label"] for scene in scenes] == [make_examples.label(s) for s in make_examples.example_scenes()]
    for scene in scenes:
        path = SPACE / "examples" / scene["file"]
        info = sf.info(path)
        assert (info.channels, info.samplerate, info.format) == (2, 32000, "FLAC")
        assert 3.0 <= info.duration <= 5.0 and path.stat().st_size < 500_000
        assert scene["question"] in app.suggested_questions(scenes)


def test_example_scenes_are_rendered_reproducibly(tmp_path):
    """make_examples.py gives back the committed clips (same seeds, same simulator)."""
    make_examples.write_examples(tmp_path)
    assert json.loads((tmp_path / "scenes.json").read_text()) == json.loads(
        (SPACE / "examples" / "scenes.json").read_text()
    )
    for path in sorted((SPACE / "examples").glob("*.flac")):
        committed, _ = sf.read(path, dtype="int16")
        rendered, _ = sf.read(tmp_path / path.name, dtype="int16")
        assert committed.shape == rendered.shape
        assert np.abs(committed.astype(np.int32) - rendered).max() <= 2, path.name  # float rounding elsewhere


def test_space_card_and_requirements():
    """The Hub reads the README's YAML: the gradio SDK at the version the demo pins (constraints/demo.txt), app.py,
    Apache-2.0."""
    from huggingface_hub import metadata_load
    from packaging.requirements import Requirement

    card = metadata_load(SPACE / "README.md")
    assert (card["sdk"], card["app_file"], card["license"]) == ("gradio", "app.py", "apache-2.0")
    pinned = [
        line for line in (ROOT / "constraints" / "demo.txt").read_text().splitlines() if line.startswith("gradio==")
    ]
    assert pinned == [f"gradio=={card['sdk_version']}"] and (SPACE / card["app_file"]).is_file()
    assert len(card["short_description"]) <= 60
    lines = [line for line in (SPACE / "requirements.txt").read_text().splitlines() if line and line[0] not in "#-"]
    names = {Requirement(line).name for line in lines}
    assert {"torch", "matplotlib", "transformers-bat"} <= names and "gradio" not in names  # gradio: sdk_version


# ------------------------------------------------------------------------------------------------ in a browser


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[space]')"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Runs the app as __main__ in a child that exits when the test process ends, however it ends (SIGKILL included).
LAUNCHER = (
    "import os, runpy, sys\n"
    "from transformers_bat.worker_processes import exit_with_parent\n"
    "exit_with_parent(int(os.environ['BAT_SPACE_TEST_PARENT']))\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


@pytest.fixture
def browser_ready() -> None:
    """Skip (or, with TRANSFORMERS_BAT_REQUIRE_BROWSER=1, fail) before the app is started for nothing."""
    missing = browser_missing()
    if missing:
        if REQUIRE_BROWSER:
            pytest.fail(f"TRANSFORMERS_BAT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)


@pytest.fixture
def space_url(checkpoints, tmp_path):
    """Start the app on a free 127.0.0.1 port with the tiny checkpoints; stop it (and its children) afterwards."""
    port = free_port()
    log = tmp_path / "space.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "BAT_SPACE_TEST_PARENT": str(os.getpid())}
    env["GRADIO_TEMP_DIR"] = str(tmp_path / "gradio")
    command = [sys.executable, "-c", LAUNCHER, str(SPACE / "app.py"), "--port", str(port)]
    command += ["--spatial-ast", str(checkpoints[0]), "--bat", str(checkpoints[1])]
    with open(log, "w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"the app exited with status {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer on {url} within 180 s:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the app and anything it started
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@pytest.mark.slow
def test_page_answers_in_a_real_browser(browser_ready, space_url, tmp_path):
    """Upload a stereo clip, ask, and read the answer, the table and the plot; then an example scene; then mono."""
    from playwright.sync_api import expect, sync_playwright

    stereo, mono = tmp_path / "stereo.wav", tmp_path / "mono.wav"
    sf.write(stereo, stereo_clip(2.0), RATE)
    sf.write(mono, stereo_clip(1.0)[:, 0], RATE)
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    args += ["--disable-sync", "--no-first-run"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(space_url, wait_until="domcontentloaded")
            answer = page.locator("#answer textarea")
            status = page.locator("#status")

            # 1. upload a stereo clip and ask
            page.locator("#audio-input input[type=file]").set_input_files(str(stereo))
            uploaded = page.locator("#audio-input [data-testid=download-link]")  # shown once the server has it
            expect(uploaded).to_be_attached(timeout=30_000)
            page.locator("#question textarea").fill("Where is the sound coming from?")
            page.locator("#submit").click()
            expect(status).to_contain_text("BAT listened to the whole 2.0 s clip", timeout=60_000)
            assert answer.input_value().strip()
            expect(page.locator("#answer-details textarea")).not_to_have_value("")
            plot = page.locator("#plot img")
            expect(plot).to_be_visible(timeout=30_000)
            width, height = plot.evaluate("image => [image.naturalWidth, image.naturalHeight]")
            assert width > 100 and height > 100
            for window in ("0-1", "1-2"):  # two 1 s windows, each with at least its best event
                expect(page.locator("#events")).to_contain_text(window)

            # 2. an example scene fills the audio and the question
            first_scene = app.example_scenes()[0]
            page.locator("#examples button.gallery-item").filter(has_text=first_scene["label"]).click()
            expect(page.locator("#question textarea")).to_have_value(first_scene["question"], timeout=30_000)
            expect(uploaded).to_have_attribute("href", re.compile(re.escape(first_scene["file"]) + "$"))
            page.locator("#submit").click()
            expect(status).to_contain_text("the whole 4.0 s clip", timeout=60_000)
            assert answer.input_value().strip()

            # 3. a mono upload is refused with the message
            page.locator("#audio-input button[aria-label='Clear']").first.click()
            page.locator("#audio-input input[type=file]").set_input_files(str(mono))
            expect(uploaded).to_have_attribute("href", re.compile(r"mono\.wav$"), timeout=30_000)
            page.locator("#submit").click()
            expect(status).to_contain_text("This clip is mono", timeout=60_000)
        finally:
            browser.close()


def test_browser_requirement_is_enforced_in_ci():
    """CI sets TRANSFORMERS_BAT_REQUIRE_BROWSER=1 and installs Chromium: the browser test cannot skip there."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert "TRANSFORMERS_BAT_REQUIRE_BROWSER=1" in ci and "chromium" in ci
    if REQUIRE_BROWSER:
        assert browser_missing() is None

"""The supported version range is declared once and tested at both ends; the demo installs what it was verified on."""

import json
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from transformers_bat.cli.env import environment_report
from transformers_bat.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
FLOOR_PACKAGES = {"transformers", "datasets", "peft", "accelerate"}


def pins(path: Path) -> dict[str, Version]:
    """name -> version of each `name==version` line of a constraints file (comments skipped)."""
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: {line} is not an exact pin"
            result[requirement.name.lower()] = Version(specifier.version)
    return result


def declared_requirements() -> dict[str, Requirement]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += [line for line in extra if not line.startswith("transformers-bat")]
    declared = {}
    for line in lines:
        requirement = Requirement(line)
        declared.setdefault(requirement.name.lower(), requirement)
    return declared


def test_floor_pins_are_the_declared_lower_bounds():
    declared = declared_requirements()
    floor = pins(ROOT / "constraints" / "floor.txt")
    assert set(floor) == FLOOR_PACKAGES
    for name, version in floor.items():
        lower = [Version(s.version) for s in declared[name].specifier if s.operator == ">="]
        assert lower == [version], f"pyproject declares {declared[name]}, constraints/floor.txt pins {name}=={version}"


def test_demo_pins_lie_in_the_declared_ranges():
    declared = declared_requirements()
    demo = pins(ROOT / "constraints" / "demo.txt")
    assert FLOOR_PACKAGES <= set(demo) and "torch" not in demo  # torch is pinned on the command line (CPU wheel)
    for name, version in demo.items():
        if name in declared:
            assert declared[name].specifier.contains(version), f"demo pins {name}=={version}, not {declared[name]}"


def test_commands_install_what_they_should():
    readme = (ROOT / "README.md").read_text().split("```bash\n")
    main_command, test_command = readme[1].split("```")[0], readme[2].split("```")[0]
    assert "-c constraints/demo.txt" in main_command and "transformers-bat demo" in main_command
    assert "constraints" not in test_command  # the tests take the newest releases: drift shows up in CI first
    ci = (ROOT / ".ci" / "run").read_text()
    floor = ci.index("-c constraints/floor.txt")
    assert ci.index(test_command.strip()) < floor < ci.index("python -m pytest", floor)


def test_env_command(capsys):
    report = environment_report()
    assert {"Python", "torch", "transformers", "datasets", "peft", "accelerate", "pyroomacoustics", "numpy"} <= set(
        report
    )
    assert report["transformers-bat"] != "not installed" and ">=5.23" in report["transformers supported"]
    assert main(["env"]) == 0
    assert f"- transformers: {report['transformers']}" in capsys.readouterr().out
    assert main(["env", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == report
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"transformers-bat {report['transformers-bat']}"


def test_python_dash_m_runs_the_command():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "transformers_bat", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("transformers-bat ")

"""The README opens with exactly two commands, and CI runs the second one."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```bash\n")[1:3]
    return [block.split("```")[0].strip() for block in blocks]


def test_readme_opens_with_two_single_line_commands():
    text = (ROOT / "README.md").read_text()
    first_lines = [line for line in text.splitlines()[1:] if line.strip()]
    assert first_lines[0] == "```bash"
    commands = readme_commands()
    assert len(commands) == 2 and all("\n" not in command for command in commands)
    assert "pytest" in commands[1] and "pytest" not in commands[0]


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci_lines

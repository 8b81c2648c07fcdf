"""Reading the one-line error a command prints (``transformers-bat CMD: error: MESSAGE``, exit code 2)."""


def cli_error(stderr: str, command: str) -> str:
    """The message of the one `<command>: error: <message>` line on stderr (no traceback printed)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if f"{command}: error: " in line]
    assert len(lines) == 1, stderr
    return lines[0].split(f"{command}: error: ", 1)[1]

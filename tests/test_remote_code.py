"""Remote code is generated from the package at save time: flat files, single-dot imports, one source of truth."""

import ast
import sys
import textwrap

import pytest

from transformers_bat import remote_code
from transformers_bat.models.bat.configuration_bat import REMOTE_CODE_MODULES as BAT_MODULES
from transformers_bat.models.spatial_ast.configuration_spatial_ast import REMOTE_CODE_MODULES as SPATIAL_AST_MODULES


@pytest.mark.parametrize("modules", [BAT_MODULES, SPATIAL_AST_MODULES], ids=["bat", "spatial_ast"])
def test_exported_files_are_flat_and_self_contained(modules):
    sources = remote_code.export_remote_code(modules, "transformers_bat.models")
    assert {"labels.py", "remote_code.py", "modeling_spatial_ast.py"} <= set(sources)
    for file_name, text in sources.items():
        header, _, body = text.partition("\n")
        assert header.startswith(remote_code.HEADER_MARK) and "src/transformers_bat/" in header, file_name
        for node in ast.walk(ast.parse(body)):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and f"{node.module}.py" in sources, (file_name, node.module)
            elif isinstance(node, ast.ImportFrom):
                assert not node.module.startswith("transformers_bat"), (file_name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("transformers_bat") for alias in node.names), file_name
    # the package itself has no copy-only import fallbacks left
    assert "except ImportError" not in sources.get("modeling_bat.py", "") + sources["modeling_spatial_ast.py"]


def test_bat_export_carries_the_pipeline_and_answer_parsing():
    sources = remote_code.export_remote_code(BAT_MODULES, "transformers_bat.models")
    assert {"spatial_audio_qa.py", "answer_parsing.py", "processing_bat.py", "compat.py"} <= set(sources)
    assert "from .answer_parsing import parse_answer" in sources["spatial_audio_qa.py"]


def make_package(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A throwaway package `fakepkg` standing in for the real one, so layouts it refuses can be written."""
    monkeypatch.setattr(remote_code, "PACKAGE", "fakepkg")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "fakepkg"
    for name in [name for name in sys.modules if name == "fakepkg" or name.startswith("fakepkg.")]:
        del sys.modules[name]


def test_imports_are_rewritten_wherever_they_sit(fake_package):
    make_package(
        fake_package,
        {
            "__init__.py": "",
            "remote_code.py": "",
            "util.py": "VALUE = 1\n",
            "models/__init__.py": "",
            "models/model.py": """
                from ..util import VALUE
                from fakepkg.util import VALUE as OTHER


                def late():
                    from ..util import (
                        VALUE,
                    )

                    return VALUE
            """,
        },
    )
    sources = remote_code.export_remote_code(["models.model"], "fakepkg.models.model")
    assert set(sources) == {"model.py", "util.py", "remote_code.py"}
    body = sources["model.py"]
    assert "from .util import VALUE\n" in body and "from .util import VALUE as OTHER\n" in body
    assert "    from .util import VALUE\n" in body  # the indented, parenthesised import too
    ast.parse(body)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a/x.py": "", "b/x.py": "", "m.py": "from .a.x import *\nfrom .b.x import *\n"}, "both be written as x.py"),
        ({"a/x.py": "", "m.py": "from . import a\n"}, "imports from a package"),
        ({"a/x.py": "", "m.py": "import fakepkg.a.x\n"}, "cannot be exported as remote code"),
    ],
    ids=["same-file-name", "package-import", "plain-import"],
)
def test_layouts_a_flat_folder_cannot_hold_are_refused(fake_package, files, message):
    make_package(fake_package, {"__init__.py": "", "remote_code.py": "", "a/__init__.py": "", "b/__init__.py": ""})
    make_package(fake_package, files)
    with pytest.raises(remote_code.RemoteCodeError, match=message):
        remote_code.export_remote_code(["m"], "fakepkg.m")


def test_a_flat_copy_missing_a_module_reads_it_from_its_checkpoint(tmp_path, monkeypatch):
    """transformers loads each class's code into its own folder: the rest comes from the checkpoint folder."""
    checkpoint = tmp_path / "checkpoint"
    flat = tmp_path / "modules" / "flatpkg"
    header = f"{remote_code.HEADER_MARK} from src/transformers_bat/x.py; edit that file, not this copy.\n"
    make_package(flat, {"__init__.py": "", "remote_code.py": "", "model.py": header + "from .extra import A\n"})
    make_package(checkpoint, {"extra.py": header + "A = 1\n", "pipe.py": header + "from .model import *\n"})
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    try:
        sources = remote_code.export_remote_code(["models.model", "pipes.pipe"], "flatpkg.model", checkpoint)
        assert set(sources) == {"model.py", "extra.py", "pipe.py", "remote_code.py"}
        assert sources["model.py"] == header + "from .extra import A\n"  # the header is kept, not doubled
        with pytest.raises(remote_code.RemoteCodeError, match="Cannot find the source of pipe.py"):
            remote_code.export_remote_code(["pipes.pipe"], "flatpkg.model", tmp_path / "elsewhere")
    finally:
        for name in [name for name in sys.modules if name.startswith("flatpkg")]:
            del sys.modules[name]

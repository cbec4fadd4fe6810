"""The core's views, analysis and renderers stay pure: no printing, no exiting, no front-end
imports, and render never reaches back into sources or the catalog (imports point down)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "runwise_core"
MINE = sorted(
    [*CORE.joinpath("views").glob("*.py"), *CORE.joinpath("render").glob("*.py"), CORE / "tokens.py"]
    + [CORE / "analysis" / f"{name}.py" for name in ("stats", "downsample", "stability", "compare", "keypick", "trend")]
)


def _imports(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.add("." * node.level + (node.module or ""))
    return out


@pytest.mark.parametrize("path", MINE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_print_exit_or_front_end_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not calls & {"print", "exit", "quit", "input"}
    imports = _imports(tree)
    assert not {i for i in imports if i.split(".")[0] in ("argparse", "mcp", "runwise", "click")}
    assert "sys" not in imports


@pytest.mark.parametrize("path", sorted(CORE.joinpath("render").glob("*.py")), ids=lambda p: p.name)
def test_render_never_imports_sources_or_the_catalog(path):
    imports = _imports(ast.parse(path.read_text(encoding="utf-8")))
    assert not {i for i in imports if "sources" in i or "catalog" in i}


@pytest.mark.parametrize("path", sorted(CORE.joinpath("views").glob("*.py")), ids=lambda p: p.name)
def test_views_never_read_files(path):
    text = path.read_text(encoding="utf-8")
    imports = _imports(ast.parse(text))
    assert not {i for i in imports if "sources" in i or "catalog" in i or i in ("os", "pathlib")}
    assert "open(" not in text

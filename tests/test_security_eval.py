"""Nothing from a log is ever evaluated: YAML with ``!!python`` tags is read as plain data (the
safe part kept, the tags never run), and no module of runwise calls eval, exec, pickle or an
unsafe YAML loader at all, but one: :mod:`runwise_core.sources.parallel` pickles a call to
the worker process a reader starts and the worker's answer back, over the pair's private
pipes. What it unpickles was pickled by runwise itself (log bytes are only ever data inside
it), so it is allowed there and nowhere else.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from runwise_core.catalog import Catalog
from test_fuzz_support import write_tree

PACKAGES = [Path(__file__).resolve().parents[1] / name for name in ("runwise_core", "runwise")]


def hostile_yaml(marker: Path) -> str:
    return (f"lr:\n  value: 0.001\n"
            f"cmd:\n  value: !!python/object/apply:os.system ['touch {marker}']\n"
            f"ns:\n  value: !!python/object:argparse.Namespace {{x: 1}}\n"
            f"opt:\n  value: !!python/name:torch.optim.adamw.AdamW ''\n"
            f"new:\n  value: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n"
            f"batch:\n  value: 32\n")


def test_legacy_wandb_config_with_python_tags_keeps_the_safe_values_and_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    folder = tmp_path / "wandb" / "run-20240101_000000-yaml1"
    write_tree(folder, {"wandb-metadata.json": json.dumps({"state": "finished"}).encode(),
                        "wandb-history.jsonl": b'{"_step": 0, "loss": 1.0}\n',
                        "config.yaml": hostile_yaml(marker).encode()})
    run = Catalog([tmp_path]).runs()[0]
    assert not marker.exists()
    assert run.config["lr"] == 0.001 and run.config["batch"] == 32
    assert run.config["opt"] == "torch.optim.adamw.AdamW"


def test_lightning_hparams_with_python_tags_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    write_tree(tmp_path / "lightning_logs" / "version_0", {
        "metrics.csv": b"epoch,step,loss\n0,0,1.0\n0,1,0.5\n",
        "hparams.yaml": (f"lr: 0.01\ncmd: !!python/object/apply:os.system ['touch {marker}']\n"
                         f"new: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n").encode()})
    run = Catalog([tmp_path]).runs()[0]
    assert not marker.exists()
    assert run.config["lr"] == 0.01


def _calls(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else (
                f"{f.value.id}.{f.attr}" if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else "")
            if name in ("eval", "exec", "compile", "__import__", "pickle.load", "pickle.loads", "yaml.unsafe_load",
                        "yaml.full_load", "marshal.loads", "os.system"):
                out.append(name)
            if name == "yaml.load":
                loader = {k.arg: k.value for k in node.keywords}.get("Loader")
                if not (isinstance(loader, ast.Name) and loader.id == "TagTolerantLoader"):
                    out.append("yaml.load without the safe loader")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            out.extend(n for n in names if n.split(".")[0] in ("pickle", "marshal", "shelve", "dill", "torch"))
    return out


#: The one module allowed pickle (see the module docstring), and exactly these uses.
ALLOWED = {"runwise_core/sources/parallel.py": ["pickle", "pickle.loads", "pickle.loads"]}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_no_module_evaluates_or_unpickles_anything(package):
    found = {str(p.relative_to(package.parent)): calls for p in sorted(package.rglob("*.py"))
             if (calls := _calls(ast.parse(p.read_text(), str(p))))}
    allowed = {path: calls for path, calls in ALLOWED.items() if path.startswith(package.name + "/")}
    assert found == allowed

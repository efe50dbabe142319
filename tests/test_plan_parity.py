"""One binding plan, two modes: for every expectation header (`tests/headers/*.cuh`), dynamic mode
binding the whole parse (`numbast._dynamic.bind_declarations`) defines exactly the Python names that
the static module generated from the same header lists in `__all__`; and their reports bind and skip
the same declarations.

Dynamic mode runs in a child process, so the headers' types do not enter this process's registries.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEADERS_DIR = Path(__file__).resolve().parent / "headers"
HEADERS = sorted(HEADERS_DIR.glob("*.cuh"))

DYNAMIC_CHILD = textwrap.dedent(
    r"""
    import json, sys, warnings
    import ast_canopy
    from numbast import _dynamic
    out = {}
    for header in sys.argv[1:]:
        decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
        writer = _dynamic.MemoryShimWriter(f'#include "{header}"')
        before = len(_dynamic.binding_report().bound), len(_dynamic.binding_report().skipped)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = _dynamic.bind_declarations(writer, decls)
        report = _dynamic.binding_report()
        out[header] = {
            "names": sorted(names),
            "bound": sorted([b.kind, b.name] for b in report.bound[before[0]:]),
            "skipped": sorted([s.kind, s.name, s.code] for s in report.skipped[before[1]:]),
        }
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def dynamic_names():
    r = subprocess.run([sys.executable, "-c", DYNAMIC_CHILD, *map(str, HEADERS)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def static_module(header: Path, out: Path) -> tuple[list[str], dict]:
    """`__all__` of the module generated from `header` alone, and the report."""
    name = f"parity_{header.stem}"
    cfg = out / f"{header.stem}.yml"
    cfg.write_text(f"Entry Point: {header}\nFile List: [{header}]\nGPU Arch: [sm_80]\nOutput Name: {name}\n")
    report = out / f"{header.stem}.report.json"
    r = subprocess.run(
        [sys.executable, "-m", "numbast", "generate", cfg, "-o", out, "--report", report, "-q"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    tree = ast.parse((out / f"{name}.py").read_text())
    (exported,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]
    ]
    return exported, json.loads(report.read_text())


def test_every_header_is_checked():
    assert len(HEADERS) >= 10, HEADERS


@pytest.mark.parametrize("header", HEADERS, ids=lambda p: p.stem)
def test_dynamic_names_are_the_static_modules_all(header, dynamic_names, tmp_path):
    exported, report = static_module(header, tmp_path)
    dyn = dynamic_names[str(header)]
    assert sorted(exported) == dyn["names"], (
        f"static only: {sorted(set(exported) - set(dyn['names']))}; dynamic only: {sorted(set(dyn['names']) - set(exported))}"
    )
    assert sorted([b["kind"], b["name"]] for b in report["bound"]) == dyn["bound"]
    assert sorted([s["kind"], s["name"], s["code"]] for s in report["skipped"]) == dyn["skipped"]

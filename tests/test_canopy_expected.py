"""Expectation tests: each tests/headers/<name>.cuh parsed for sm_80 must give exactly the
declarations dumped in tests/expected/<name>.json. ``UPDATE_EXPECTED=1 pytest`` rewrites the dumps;
read the diff before committing them."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import ast_canopy
import pytest

HEADERS_DIR = Path(__file__).resolve().parent / "headers"
EXPECTED_DIR = Path(__file__).resolve().parent / "expected"
HEADERS = sorted(HEADERS_DIR.glob("*.cuh"))
COMPUTE_CAPABILITY = "sm_80"


def _relativize(node, base: str):
    """Rewrites every `file` under `base` (locations, diagnostics) relative to `base`, and the
    paths clang writes into the names of unnamed records (`(unnamed union at /.../x.cuh:42:3)`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "file" and isinstance(value, str) and value.startswith(base):
                node[key] = os.path.relpath(value, base)
            elif isinstance(value, str) and " at " + base + os.sep in value:
                node[key] = value.replace(" at " + base + os.sep, " at ")
            else:
                _relativize(value, base)
    elif isinstance(node, list):
        for item in node:
            _relativize(item, base)


def dump(header: Path, compute_capability: str = COMPUTE_CAPABILITY) -> str:
    """The declarations of `header` as the checked-in dumps spell them."""
    data = json.loads(ast_canopy.parse_declarations_json(header, [header], compute_capability))
    _relativize(data, str(HEADERS_DIR.resolve()))
    return json.dumps(data, indent=1) + "\n"


def test_headers_exist():
    assert HEADERS, f"no headers in {HEADERS_DIR}"
    stale = {p.stem for p in EXPECTED_DIR.glob("*.json")} - {h.stem for h in HEADERS}
    assert not stale, f"expected dumps without a header: {sorted(stale)}"


@pytest.mark.parametrize("header", HEADERS, ids=lambda p: p.stem)
def test_expected_declarations(header: Path):
    actual = dump(header)
    expected_path = EXPECTED_DIR / f"{header.stem}.json"
    if os.environ.get("UPDATE_EXPECTED") == "1":
        EXPECTED_DIR.mkdir(exist_ok=True)
        expected_path.write_text(actual)
        return
    if not expected_path.exists():
        pytest.fail(f"{expected_path} is missing; run `UPDATE_EXPECTED=1 pytest {__file__}` and review it")
    expected = expected_path.read_text()
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"expected/{expected_path.name}",
            tofile=f"actual ({header.name})",
        )
        pytest.fail("declarations differ from the expected dump:\n" + "".join(diff), pytrace=False)


def _names(decls) -> set:
    return {s.qual_name for s in decls.structs} | {f.qual_name for f in decls.functions}


def test_cuda_arch_guards_follow_the_compute_capability():
    header = HEADERS_DIR / "arch_guard.cuh"
    volta = ast_canopy.parse_declarations_from_source(header, [header], "sm_70")
    hopper = ast_canopy.parse_declarations_from_source(header, [header], "sm_90")
    assert _names(volta) - _names(hopper) == {"before_hopper"}
    assert _names(hopper) - _names(volta) == {"hopper_only", "ampere_and_newer", "ClusterInfo"}
    assert [f.name for f in next(s for s in volta.structs if s.name == "Versioned").fields] == ["narrow"]
    versioned = next(s for s in hopper.structs if s.name == "Versioned")
    assert [f.name for f in versioned.fields] == ["wide"]
    assert (versioned.sizeof_, versioned.alignof_) == (8, 8)

"""One version: the Cargo workspace declares it; the package metadata, both packages'
`__version__`, the CLI's `--version` and the changelog's newest entry all show the same."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version as dist_version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _workspace_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    section = text.split("[workspace.package]", 1)[1].split("\n[", 1)[0]
    match = re.search(r'^version\s*=\s*"([^"]+)"', section, re.MULTILINE)
    assert match, "Cargo.toml [workspace.package] has no version"
    return match.group(1)


VERSION = _workspace_version()


def test_version_is_declared_once():
    pyproject = (ROOT / "pyproject.toml").read_text()
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^version\s*=", project, re.MULTILINE) is None, "pyproject.toml declares a second version"
    assert re.search(r'^dynamic\s*=\s*\[[^\]]*"version"', project, re.MULTILINE)
    for manifest in sorted((ROOT / "crates").glob("*/Cargo.toml")):
        package = manifest.read_text().split("[package]", 1)[1].split("\n[", 1)[0]
        assert "version.workspace = true" in package, f"{manifest} declares its own version"


def test_installed_packages_show_the_workspace_version():
    import ast_canopy
    import numbast
    from ast_canopy import _core

    assert dist_version("numbast") == VERSION
    assert _core.__version__ == VERSION
    assert ast_canopy.__version__ == VERSION
    assert numbast.__version__ == VERSION


def test_python_m_numbast_version():
    out = subprocess.run([sys.executable, "-m", "numbast", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"numbast {VERSION}"


def test_numbast_script_version():
    script = Path(sys.executable).parent / ("numbast.exe" if os.name == "nt" else "numbast")
    if not script.exists():
        pytest.skip(f"no `numbast` console script next to {sys.executable}")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"numbast {VERSION}"


def test_changelog_starts_with_this_version():
    headings = re.findall(r"^## \[?([^\]\s]+)\]?", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert headings, "CHANGELOG.md has no release heading"
    assert headings[0] == VERSION

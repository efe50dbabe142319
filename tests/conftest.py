"""Shared fixtures. Every test session parses into its own cache folder, so tests never read or
write the user's ~/.cache/ast_canopy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
HEADERS_DIR = TESTS_DIR / "headers"


def _load_prepared_declarations(folder):
    """`ast_canopy.parse_declarations_from_source` answered from the declarations that
    tests/mlir_gpu/prepare.py pickled (a GPU machine without libclang); a header it did not
    prepare is an error that says so."""
    import pickle
    import sys

    import ast_canopy

    sys.path.insert(0, str(TESTS_DIR / "mlir_gpu"))
    from prepare import pickled_path

    def parse_declarations_from_source(source_file_path, files_to_retain, compute_capability, **kwargs):
        path = pickled_path(Path(folder), Path(source_file_path), compute_capability)
        if not path.exists():
            raise FileNotFoundError(f"{source_file_path} ({compute_capability}) was not prepared: {path} (tests/mlir_gpu/prepare.py)")
        return pickle.loads(path.read_bytes())

    ast_canopy.parse_declarations_from_source = parse_declarations_from_source


if os.environ.get("NUMBAST_TEST_DECLS"):  # before the test modules import the function
    _load_prepared_declarations(os.environ["NUMBAST_TEST_DECLS"])


@pytest.fixture(scope="session", autouse=True)
def _session_parse_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AST_CANOPY_CACHE_DIR", str(tmp_path_factory.mktemp("ast_canopy_cache")))
        mp.delenv("AST_CANOPY_NO_CACHE", raising=False)
        yield


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A parse cache of this test's own, cache enabled."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AST_CANOPY_CACHE_DIR", str(cache))
    monkeypatch.delenv("AST_CANOPY_NO_CACHE", raising=False)
    return cache


@pytest.fixture(scope="session")
def headers_dir() -> Path:
    return HEADERS_DIR


@pytest.fixture(scope="module", params=["numba-cuda", "mlir"])
def backend(request):
    """The backend a test binds and compiles with (tests/_backends.py); `mlir` is skipped where
    numba-cuda-mlir is not installed."""
    from _backends import Backend

    return Backend(request.param)

"""The persistent parse cache: a repeated parse is a hit with equal declarations; editing any file
the translation unit read invalidates it; AST_CANOPY_NO_CACHE turns it off; AST_CANOPY_CACHE_DIR
moves it. Every test has a cache folder of its own (the `isolated_cache` fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import ast_canopy
from ast_canopy import _core, _toolchain


def core_parse(header: Path, retain=None):
    """(declarations JSON, cache hit, clang args) straight from the core."""
    return _core.parse_declarations(
        str(header),
        [str(p) for p in (retain or [header])],
        "sm_80",
        "gnu++17",
        [],
        [],
        _toolchain.cuda_include_dirs(),
        _toolchain.search_dirs(),
        "",
        False,
        False,
    )


def _entries(cache: Path) -> list:
    return sorted((cache / "parse").glob("*.json")) if (cache / "parse").is_dir() else []


def _write_pair(tmp_path: Path) -> tuple:
    inc = tmp_path / "inc.cuh"
    inc.write_text("struct Included { int v; };\n")
    main = tmp_path / "main.cuh"
    main.write_text('#include "inc.cuh"\n__device__ int use(Included i);\n')
    return main, inc


def test_second_parse_is_a_hit(tmp_path, isolated_cache):
    main, inc = _write_pair(tmp_path)
    first, hit1, args = core_parse(main, [main, inc])
    second, hit2, args2 = core_parse(main, [main, inc])
    assert (hit1, hit2) == (False, True)
    assert first == second and args == args2
    assert len(_entries(isolated_cache)) == 1
    d1 = ast_canopy.parse_declarations_from_source(main, [main, inc], "sm_80")
    d2 = ast_canopy.parse_declarations_from_source(main, [main, inc], "sm_80")
    assert d1 == d2 == ast_canopy.decls.declarations_from_dict(json.loads(first))


def test_editing_an_included_header_invalidates(tmp_path, isolated_cache):
    main, inc = _write_pair(tmp_path)
    before, hit, _ = core_parse(main, [main, inc])
    assert not hit
    inc.write_text("struct Included { int v; };\n__device__ int added(int a);\n")
    after, hit, _ = core_parse(main, [main, inc])
    assert not hit
    assert "added" not in before and "added" in after
    _, hit, _ = core_parse(main, [main, inc])
    assert hit


def test_editing_the_source_invalidates(tmp_path, isolated_cache):
    main, _inc = _write_pair(tmp_path)
    core_parse(main)
    main.write_text(main.read_text() + "__device__ int more(int a);\n")
    text, hit, _ = core_parse(main)
    assert not hit and "more" in text


def test_different_arguments_are_different_entries(tmp_path, isolated_cache):
    main, inc = _write_pair(tmp_path)
    core_parse(main)
    _, hit, _ = core_parse(main, [main, inc])  # other retained files
    assert not hit
    ast_canopy.parse_declarations_from_source(main, [main], "sm_90")  # other compute capability
    assert len(_entries(isolated_cache)) == 3


def test_no_cache_disables_it(tmp_path, isolated_cache, monkeypatch):
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")
    main, _ = _write_pair(tmp_path)
    hits = [core_parse(main)[1] for _ in range(2)]
    assert hits == [False, False]
    assert _entries(isolated_cache) == []


def test_cache_dir_moves_it(tmp_path, isolated_cache, monkeypatch):
    main, _ = _write_pair(tmp_path)
    core_parse(main)
    assert len(_entries(isolated_cache)) == 1
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("AST_CANOPY_CACHE_DIR", str(elsewhere))
    _, hit, _ = core_parse(main)
    assert not hit
    assert len(_entries(elsewhere)) == 1
    _, hit, _ = core_parse(main)
    assert hit
    assert ast_canopy.toolchain_info()["cache_dir"] == str(elsewhere)


def test_corrupt_entry_is_a_miss(tmp_path, isolated_cache):
    main, _ = _write_pair(tmp_path)
    text, _, _ = core_parse(main)
    (entry,) = _entries(isolated_cache)
    entry.write_text("not json\n")
    again, hit, _ = core_parse(main)
    assert not hit and again == text

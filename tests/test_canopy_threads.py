"""Parsing from several Python threads at once gives the same declarations as parsing serially:
the core releases the GIL while parsing, and clang-sys makes the loaded libclang current on each
new thread."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ast_canopy

HEADERS_DIR = Path(__file__).resolve().parent / "headers"


def _parse(header: Path):
    return ast_canopy.parse_declarations_json(header, [header], "sm_80")


def test_parallel_parses_match_serial(monkeypatch):
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")  # every call really parses
    headers = sorted(HEADERS_DIR.glob("*.cuh"))
    serial = {h: _parse(h) for h in headers}
    jobs = headers + headers[:1]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(_parse, jobs))
    for header, text in zip(jobs, parallel):
        assert text == serial[header], header.name


def test_gil_is_released_while_parsing(monkeypatch):
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")
    header = HEADERS_DIR / "templates.cuh"
    max_gap = 0.0
    done = threading.Event()

    def tick():
        nonlocal max_gap
        last = time.perf_counter()
        while not done.is_set():
            now = time.perf_counter()
            max_gap = max(max_gap, now - last)
            last = now

    ticker = threading.Thread(target=tick)
    ticker.start()
    durations = []
    try:
        for _ in range(3):
            start = time.perf_counter()
            _parse(header)
            durations.append(time.perf_counter() - start)
    finally:
        done.set()
        ticker.join()
    # Were the GIL held for a whole parse, the ticker would stall for at least that long.
    assert max_gap < min(durations) / 2, (max_gap, durations)

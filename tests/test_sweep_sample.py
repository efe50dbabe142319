"""A small header sweep (`benchmarks/header_sweep.py`): five CUDA toolkit headers of different kinds
(cudart, curand, cub, libcu++, and a thrust header clang rejects on its own) go through parse,
static generation, compile + import + registration of the module, and binding in memory, each in a
child process. No crash, and every generated module compiles, imports and registers."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sweep_module():
    spec = importlib.util.spec_from_file_location("header_sweep", REPO / "benchmarks" / "header_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLE = [
    "cuda_fp16.h",
    "curand_kernel.h",
    "cccl/cub/block/block_reduce.cuh",
    "cccl/cuda/std/atomic",
    "cccl/thrust/detail/complex/cexp.h",  # clang rejects it as an entry point: bound from a partial parse
]


@pytest.fixture(scope="module")
def swept(sweep_module):
    every = {label: h for h in sweep_module.toolkit_headers() for label in [h[0]]}
    missing = [h for h in SAMPLE if h not in every]
    if missing:
        pytest.skip(f"headers not installed: {missing}")
    result = sweep_module.sweep([every[h] for h in SAMPLE], jobs=2, timeout=240)
    return {r["header"]: r for r in result["records"]}


def test_sample_has_no_crash_and_every_module_loads(sweep_module, swept):
    assert sorted(swept) == sorted(SAMPLE)
    for label, rec in swept.items():
        problem = sweep_module._problem(rec) if rec["status"] != "ok" else ""
        assert rec["status"] in ("ok", "parse_error"), f"{label}: {rec['status']}: {problem}\n{rec.get('stderr_tail', '')}"
        assert sweep_module.module_ok(rec), f"{label}: {problem}"
        assert all(e["documented"] for e in rec["exceptions"]), rec["exceptions"]


def test_sample_records_what_each_stage_did(swept):
    fp16 = swept["cuda_fp16.h"]
    assert fp16["status"] == "ok" and fp16["stage"] == "done"
    assert fp16["static"] == {**fp16["static"], "compiles": True, "stub_compiles": True, "imports": True, "registers": True}
    assert fp16["found"]["functions"] > 200 and fp16["dynamic"]["bound"] > 200 and fp16["generate"]["bound"] > 200
    assert sum(fp16["dynamic"]["skip_reasons"].values()) == fp16["dynamic"]["skipped"]
    cexp = swept["cccl/thrust/detail/complex/cexp.h"]
    assert cexp["status"] == "parse_error" and "static" not in cexp
    assert cexp["parse"]["error_count"] >= 1 and cexp["parse"]["errors"][0].count(":") >= 3  # file:line:col: message
    assert cexp["generate"]["rc"] == 1 and "clang reported" in cexp["generate"]["error"]
    assert "dynamic" in cexp  # what clang could parse was still bound


def test_summary_table(sweep_module, swept):
    result = {"records": list(swept.values()), "seconds": 1.0, "jobs": 2, "requested": len(swept)}
    text = sweep_module.summarize(result, "sample")
    assert "**Crashes: 0. Timeouts: 0." in text
    assert "| **all** | 5 |" in text


def test_a_child_that_dies_is_recorded_as_a_crash(sweep_module, tmp_path):
    """A signal in the child (here SIGABRT, from a sitecustomize that aborts at startup) is a
    recorded crash, not a failure of the sweep."""
    (tmp_path / "sitecustomize.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGABRT)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    header = REPO / "tests" / "headers" / "functions.cuh"
    rec = sweep_module.run_one("functions.cuh", header, "test", timeout=60, keep=None, env=env)
    assert rec["status"] == "crash" and rec["signal"] == "SIGABRT", rec
    assert sweep_module._problem(rec).startswith("signal SIGABRT")


def test_a_child_that_hangs_is_recorded_as_a_timeout(sweep_module):
    header = REPO / "tests" / "headers" / "functions.cuh"
    rec = sweep_module.run_one("functions.cuh", header, "test", timeout=0.05, keep=None, env=dict(os.environ))
    assert rec["status"] == "timeout" and rec["timed_out"], rec


@pytest.mark.parametrize(
    "rec, status",
    [
        ({"exceptions": [], "stage": "done", "returncode": 0, "generate": {"rc": 0}, "parse": {"ok": True}}, "ok"),
        ({"exceptions": [{"documented": False, "stage": "bind structs"}], "stage": "bind", "returncode": 0}, "crash"),
        ({"exceptions": [], "stage": "generate", "returncode": 0, "panic": True}, "crash"),
        ({"exceptions": [], "stage": "import", "returncode": 1}, "crash"),
        ({"exceptions": [{"documented": True, "stage": "bind enums"}], "stage": "done", "returncode": 0}, "failed"),
        ({"exceptions": [{"documented": False, "stage": "module"}], "stage": "done", "returncode": 0, "generate": {"rc": 0},
          "static": {"compiles": False, "stub_compiles": False, "imports": False, "registers": False}}, "failed"),
        ({"exceptions": [], "stage": "done", "returncode": 0, "generate": {"rc": 0},
          "static": {"compiles": True, "stub_compiles": True, "imports": False, "registers": False}}, "failed"),
        ({"exceptions": [], "stage": "done", "returncode": 0, "generate": {"rc": 1}, "parse": {"ok": False, "error_count": 3}},
         "parse_error"),
        ({"exceptions": [], "stage": "done", "returncode": 0, "generate": {"rc": 1}, "parse": {"ok": False}}, "failed"),
        ({"exceptions": [], "stage": "done", "returncode": 0, "generate": {"rc": 2}, "parse": {"ok": False}}, "failed"),
    ],
)  # fmt: skip
def test_classify(sweep_module, rec, status):
    assert sweep_module.classify(rec) == status


def test_header_list_covers_the_groups(sweep_module):
    headers = sweep_module.toolkit_headers()
    groups = {g for _, g, _ in headers}
    assert groups == set(sweep_module.GROUPS)
    labels = {label for label, _, _ in headers}
    assert {"cuda_runtime.h", "crt/host_defines.h", "curand.h", "cccl/cub/cub.cuh", "cccl/thrust/sort.h", "cccl/cuda/std/atomic"} <= labels
    assert not any(label in labels for label in ("nvrtc.h", "nvJitLink.h", "cccl/cuda/barrier")), "outside the swept wheels and folders"
    sample = sweep_module.sample(headers, 12, seed=3)
    assert len(sample) == 12 and {g for _, g, _ in sample} == groups
    assert sample == sweep_module.sample(headers, 12, seed=3)

"""Header sweep: every header of the CUDA toolkit's pip wheels as an entry point, parsed for sm_90,
generated into a static module and bound in memory, each in its own subprocess.

Headers: the `include/` files of the cudart (with `cooperative_groups/`), crt and curand wheels, and
CCCL's `cub/`, `thrust/` and `cuda/std/` (under `<include>/cccl`), found through
`ast_canopy._toolchain.cuda_include_dirs()`. Per header the child:

1. generates a static module: a config with `Entry Point` and `File List` = the header and
   `GPU Arch: [sm_90]`, run through `numbast generate` in the child's process (so a Rust panic
   surfaces as `PanicException`), with `--dump-model` (the parsed declarations) and `--report`;
2. compiles the module and its stub with `compile()`, imports it and calls `install()` (the first
   use, which runs the registration);
3. binds the header's own declarations in memory: every enum, every struct (default parent type and
   data model) and every function. A header clang rejects is parsed again with
   `bypass_parse_error=True` and what came back is bound.

A child that dies of a signal, a Rust panic, or a Python exception other than the documented ones
(`ast_canopy.ParseError`, `ast_canopy.ToolchainError`, `FileNotFoundError`, `ValueError`, `OSError`)
is a **crash** (an exception while compiling, importing or registering a generated module is that
module's failure instead); one that outlives `--timeout` is a **timeout**. A header that clang
rejects on its own (most internal headers expect to be included by another) is a **parse error**,
which static generation reports and refuses. The goal: no crash, and every generated module
compiles, imports and registers.

    python benchmarks/header_sweep.py --sample 20            # a time-boxed sample (--budget seconds)
    python benchmarks/header_sweep.py --all -j2 --out benchmarks/HEADER_SWEEP.md
    python benchmarks/header_sweep.py --headers cuda_fp16.h cccl/cuda/std/atomic
    python benchmarks/header_sweep.py --from-json records.json --out SUMMARY.md   # summarize a saved run
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ARCH = "sm_90"
GROUPS = ("cudart", "crt", "curand", "cub", "thrust", "cuda_std")
DOCUMENTED = ("ParseError", "ToolchainError", "FileNotFoundError", "ValueError", "OSError")
# Wheels whose `include/` files are swept, and the group their files fall in.
WHEELS = {"nvidia-cuda-runtime": "cudart", "nvidia-cuda-crt": "crt", "nvidia-curand": "curand"}
CCCL_GROUPS = {"cub": "cub", "thrust": "thrust", "cuda/std": "cuda_std"}


# ----------------------------------------------------------------------------- the headers


def include_root() -> Path:
    """The CUDA include folder (the one with `cuda_runtime.h`)."""
    from ast_canopy import (
        cuda_include_dirs,  # what parses use: pip wheels, else CUDA_HOME...
    )

    dirs = [Path(d) for d in cuda_include_dirs()]
    for d in dirs:
        if (d / "cuda_runtime.h").is_file():
            return d
    raise SystemExit(f"no CUDA include folder with cuda_runtime.h among {dirs}; install the NVIDIA header wheels")


def _wheel_owners(root: Path) -> dict[Path, str]:
    """Header path -> group, from the wheels' file lists (the pip layout merges their `include/`)."""
    import importlib.metadata as md

    owners: dict[Path, str] = {}
    for dist in md.distributions():
        name = (dist.metadata["Name"] or "").lower()
        group = next((g for prefix, g in WHEELS.items() if name == prefix or name.startswith(prefix + "-cu")), None)
        if group is None:
            continue
        for f in dist.files or []:
            p = Path(dist.locate_file(f)).resolve()
            if p.is_file() and root.resolve() in p.parents:
                owners[p] = group
    return owners


def toolkit_headers(root: Path | None = None) -> list[tuple[str, str, Path]]:
    """`(label, group, path)` for every swept header, sorted; the label is the path relative to the
    include folder (`cuda_fp16.h`, `cccl/cub/block/block_reduce.cuh`)."""
    root = root or include_root()
    out: list[tuple[str, str, Path]] = []
    owners = _wheel_owners(root)
    if owners:
        for p, group in owners.items():
            if "cccl" not in p.relative_to(root.resolve()).parts:
                out.append((p.relative_to(root.resolve()).as_posix(), group, p))
    else:  # not installed from wheels (a toolkit folder): name rules
        for p in sorted(root.glob("*")):
            if p.is_file():
                out.append((p.name, "curand" if p.name.startswith("curand") else "cudart", p))
        for sub, group in (("crt", "crt"), ("cooperative_groups", "cudart")):
            out += [(p.relative_to(root).as_posix(), group, p) for p in (root / sub).rglob("*") if p.is_file()]
    cccl = root / "cccl"
    for sub, group in CCCL_GROUPS.items():
        for p in (cccl / sub).rglob("*"):
            if p.is_file():
                out.append((p.relative_to(root).as_posix(), group, p))
    return sorted(out)


def sample(headers, n: int, seed: int):
    """`n` headers spread over the groups, in a seeded random order within each."""
    rng = random.Random(seed)
    by_group = {g: [h for h in headers if h[1] == g] for g in GROUPS}
    for hs in by_group.values():
        rng.shuffle(hs)
    picked = []
    while len(picked) < n and any(by_group.values()):
        for g in GROUPS:
            if by_group[g] and len(picked) < n:
                picked.append(by_group[g].pop())
    return picked


# ----------------------------------------------------------------------------- the child


def _reason_class(reason: str) -> str:
    """A skip reason without the names in it: `parameter `…`: unknown type `…``."""
    return re.sub(r"`[^`]*`", "`…`", reason)


def _report_counts(bound, skipped) -> dict:
    return {
        "bound": len(bound),
        "bound_by_kind": dict(Counter(b["kind"] for b in bound)),
        "skipped": len(skipped),
        "skip_reasons": dict(Counter(_reason_class(s["reason"]) for s in skipped)),
    }


@contextlib.contextmanager
def _captured_fd2(path: Path):
    """Redirects file descriptor 2 (where the Rust generator writes its errors) into `path`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class Child:
    """One header, in this process: each stage records its outcome into `self.rec`, which is
    written to the result file after every stage, so that a crash leaves what came before it."""

    def __init__(self, header: Path, label: str, work: Path, result: Path):
        self.header, self.label, self.work, self.result = header, label, work, result
        self.rec: dict = {"header": label, "stage": "start", "exceptions": []}

    def save(self, stage: str):
        self.rec["stage"] = stage
        tmp = self.result.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.rec))
        os.replace(tmp, self.result)

    def exception(self, stage: str, e: BaseException):
        name = type(e).__name__
        mro = {c.__name__ for c in type(e).__mro__}
        self.rec["exceptions"].append({
            "stage": stage, "type": name, "documented": bool(mro & set(DOCUMENTED)),
            "message": str(e)[:2000], "traceback": traceback.format_exc()[-3000:],
        })  # fmt: skip
        self.save(stage)

    def run(self):
        self.save("start")
        decls = self.generate()
        self.check_module()
        if decls is None:
            decls = self.parse_bypassing_errors()
        if decls is not None:
            self.bind(decls)
        self.save("done")

    def generate(self):
        """Stage 1: `numbast generate`; returns the header's own declarations from the dump."""
        from ast_canopy import declarations_from_dict
        from numbast.__main__ import main as numbast_main

        cfg = self.work / "sweep.yml"
        # JSON strings are YAML strings: any path is spelled safely.
        cfg.write_text(
            f"Entry Point: {json.dumps(str(self.header))}\nFile List: [{json.dumps(str(self.header))}]\n"
            f"GPU Arch: [{ARCH}]\nOutput Name: sweep_module\n"
        )
        out, dump, report, err = (self.work / n for n in ("out", "model.json", "report.json", "generate.stderr"))
        argv = ["generate", str(cfg), "-o", str(out), "-q", "--dump-model", str(dump), "--report", str(report)]
        start = time.perf_counter()
        try:
            with _captured_fd2(err):
                rc = numbast_main(argv)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # a Rust panic is a PanicException (a BaseException)
            self.rec["generate"] = {"rc": None, "seconds": time.perf_counter() - start}
            self.exception("generate", e)
            return None
        message = err.read_text(errors="replace").strip()
        g = {"rc": rc, "seconds": round(time.perf_counter() - start, 3), "error": message[:4000]}
        self.rec["generate"] = g
        if rc == 0:
            r = json.loads(report.read_text())
            g.update(_report_counts(r["bound"], r["skipped"]))
            g["dependencies"] = len(r.get("dependencies", []))
            self.rec["module"] = str(out / "sweep_module.py")
        # Clang's errors: the header is not an entry point on its own (any other failure is not a parse error).
        m = re.search(r"clang reported (\d+) error\(s\):\n(.*)", message, re.DOTALL)
        self.rec["parse"] = {"ok": rc == 0}
        if m:
            errors = m.group(2).splitlines()
            self.rec["parse"] = {"ok": False, "error_count": int(m.group(1)), "errors": errors[:5]}
        self.save("generate")
        if rc != 0 or not dump.is_file():
            return None
        model = json.loads(dump.read_text())[ARCH]
        real = os.path.realpath(self.header)
        for kind, items in model.items():
            if isinstance(items, list) and kind != "diagnostics":
                model[kind] = [d for d in items if os.path.realpath(d.get("location", {}).get("file", "")) == real]
        return declarations_from_dict(model)

    def check_module(self):
        """Stage 2: the module and its stub compile; the module imports and registers."""
        path = self.rec.get("module")
        if path is None:
            return
        import importlib.util

        m = self.rec["static"] = {"compiles": False, "stub_compiles": False, "imports": False, "registers": False}
        try:
            compile(Path(path).read_text(), path, "exec")
            m["compiles"] = True
            stub = Path(path).with_suffix(".pyi")
            compile(stub.read_text(), str(stub), "exec")
            m["stub_compiles"] = True
            self.save("compile")
            spec = importlib.util.spec_from_file_location("sweep_module", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["sweep_module"] = module
            spec.loader.exec_module(module)
            m["imports"] = True
            self.save("import")
            module.install()
            m["registers"] = True
            m["exports"] = len(module.__all__)
        except Exception as e:  # the module's failure (recorded as such), not the tool's crash
            self.exception("module", e)
        self.save("module")

    def parse_bypassing_errors(self):
        """For a header clang rejects: its declarations anyway, to bind."""
        if "error_count" not in self.rec.get("parse", {}):
            return None
        import ast_canopy

        try:
            decls = ast_canopy.parse_declarations_from_source(self.header, [self.header], ARCH, bypass_parse_error=True)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:
            self.exception("parse", e)
            return None
        errors = [str(d) for d in decls.diagnostics if d.severity in ("error", "fatal")]
        self.rec["parse"] = {"ok": False, "error_count": len(errors), "errors": errors[:5]}
        self.save("parse")
        return decls

    def bind(self, decls):
        """Stage 3: every enum, struct and function of the header, bound in memory."""
        import warnings

        import numbast

        self.rec["found"] = {
            k: len(getattr(decls, k)) for k in ("structs", "functions", "enums", "typedefs", "function_templates", "class_templates")
        }
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        writer = numbast.MemoryShimWriter(f"#include <{self.include_spelling()}>\n")
        steps = [
            ("enums", lambda: numbast.bind_cxx_enums(decls.enums)),
            ("structs", lambda: numbast.bind_cxx_structs(writer, decls.structs)),
            ("functions", lambda: numbast.bind_cxx_functions(writer, decls.functions)),
        ]
        for kind, step in steps:
            if not getattr(decls, kind):
                continue
            try:
                step()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:  # a Rust panic is a PanicException (a BaseException)
                self.exception(f"bind {kind}", e)
        report = numbast.binding_report()
        self.rec["dynamic"] = _report_counts([b.__dict__ for b in report.bound], [s.__dict__ for s in report.skipped])
        self.save("bind")

    def include_spelling(self) -> str:
        root = include_root().resolve()
        for base in (root / "cccl", root):
            with contextlib.suppress(ValueError):
                return Path(self.header).resolve().relative_to(base).as_posix()
        return str(self.header)


def child_main(args) -> int:
    os.environ.setdefault("NUMBA_DISABLE_PERFORMANCE_WARNINGS", "1")
    Child(Path(args.child), args.label, Path(args.work), Path(args.result)).run()
    return 0


# ----------------------------------------------------------------------------- the parent

MODULE_CHECKS = ("compiles", "stub_compiles", "imports", "registers")


def module_ok(rec: dict) -> bool:
    """Whether the generated module (if any) compiled, imported and registered."""
    static = rec.get("static")
    return static is None or all(static[k] for k in MODULE_CHECKS)


def classify(rec: dict) -> str:
    """crash | timeout | failed | parse_error | ok. An exception in the `module` stage (compiling,
    importing or registering the generated module) is the module's failure, not a crash."""
    tool_errors = [e for e in rec["exceptions"] if e.get("stage") != "module"]
    if rec.get("signal") or rec.get("panic") or any(not e["documented"] for e in tool_errors):
        return "crash"
    if rec.get("timed_out"):
        return "timeout"
    if rec.get("returncode") not in (0, None) or rec.get("stage") != "done":
        return "crash"  # exited abnormally without a signal (os._exit, a C abort caught as exit code)
    if rec["exceptions"] or not module_ok(rec):
        return "failed"
    if rec.get("generate", {}).get("rc") != 0:
        return "parse_error" if "error_count" in rec.get("parse", {}) else "failed"
    return "ok"


def run_one(label: str, path: Path, group: str, timeout: float, keep: Path | None, env: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="header_sweep_") as tmp:
        tmp = Path(tmp)
        result = tmp / "result.json"
        cmd = [sys.executable, __file__, "--child", str(path), "--label", label, "--work", str(tmp), "--result", str(result)]
        start = time.perf_counter()
        rec: dict = {}
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout, env=env)
            returncode, stderr, timed_out = p.returncode, p.stderr, False
        except subprocess.TimeoutExpired as e:
            returncode, timed_out = None, True
            stderr = (e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr) or ""
        seconds = time.perf_counter() - start
        if result.is_file():
            rec = json.loads(result.read_text())
        rec.setdefault("header", label)
        rec.setdefault("exceptions", [])
        rec.update(group=group, seconds=round(seconds, 2), returncode=returncode, timed_out=timed_out)
        if returncode is not None and returncode < 0:
            rec["signal"] = signal.Signals(-returncode).name
        if "panicked at" in stderr or "PanicException" in stderr:
            rec["panic"] = True
        rec["status"] = classify(rec)
        if rec["status"] in ("crash", "failed", "timeout"):
            rec["stderr_tail"] = stderr[-3000:]
            if keep is not None:
                dest = keep / re.sub(r"[^A-Za-z0-9_.-]", "_", label)
                shutil.copytree(tmp, dest, dirs_exist_ok=True)
    return rec


def sweep(headers, jobs: int = 2, timeout: float = 300, budget: float | None = None, keep: Path | None = None, progress=None) -> dict:
    """Runs every header (or as many as `budget` seconds allow) in children, `jobs` at a time."""
    env = dict(os.environ)
    cache = tempfile.mkdtemp(prefix="header_sweep_cache_")
    env["AST_CANOPY_CACHE_DIR"] = cache  # a fresh parse cache: every header is really parsed
    env.pop("AST_CANOPY_NO_CACHE", None)
    start = time.perf_counter()
    records = []
    finished = itertools.count(1)

    def task(h):
        label, group, path = h
        if budget is not None and time.perf_counter() - start > budget:
            return None
        rec = run_one(label, path, group, timeout, keep, env)
        if progress:
            progress(rec, next(finished), len(headers))
        return rec

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for rec in pool.map(task, headers):
                if rec is not None:
                    records.append(rec)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"records": records, "seconds": time.perf_counter() - start, "jobs": jobs, "requested": len(headers), "machine": machine()}


# ----------------------------------------------------------------------------- the summary


def machine() -> str:
    cpu = platform.machine()
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as f:
        cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    import ast_canopy

    info = ast_canopy.toolchain_info()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {info['libclang_version']}, CUDA_VERSION {info['cuda_version']}"


def _first_line(text: str, n: int = 160) -> str:
    line = next((ln for ln in (text or "").splitlines() if ln.strip()), "")
    return (line[: n - 1] + "…") if len(line) > n else line


def _problem(rec: dict) -> str:
    if rec.get("signal"):
        return f"signal {rec['signal']} in stage {rec.get('stage')}"
    if rec.get("timed_out"):
        return f"timed out in stage {rec.get('stage')}"
    if rec["exceptions"]:
        e = rec["exceptions"][0]
        return f"{e['stage']}: {e['type']}: {_first_line(e['message'])}"
    if rec.get("static"):
        failed = [k for k in MODULE_CHECKS if not rec["static"][k]]
        if failed:
            return "module: not " + ", ".join(failed)
    g = rec.get("generate", {})
    if g.get("rc") not in (0, None):
        return f"generate exit {g['rc']}: {_first_line(g.get('error', ''))}"
    return f"exit code {rec.get('returncode')} in stage {rec.get('stage')}: {_first_line(rec.get('stderr_tail', ''))}"


def _parse_error_class(rec: dict) -> str:
    errors = rec.get("parse", {}).get("errors") or [""]
    message = errors[0].split(": ", 1)[-1] if ": " in errors[0] else errors[0]
    message = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"\d+", "N", message)[:120]


def summarize(result: dict, title: str) -> str:
    recs = result["records"]
    status = Counter(r["status"] for r in recs)
    lines = [f"# {title}", ""]
    lines.append(f"Machine: {result.get('machine') or machine()}." + (f" ({result['note']})" if result.get("note") else ""))
    lines.append(
        f"{len(recs)} of {result['requested']} headers swept in {result['seconds'] / 60:.1f} min with {result['jobs']} "
        f"jobs (median {statistics.median([r['seconds'] for r in recs]) if recs else 0:.1f} s per header, "
        f"slowest {max((r['seconds'] for r in recs), default=0):.1f} s); arch {ARCH}."
    )
    lines.append("")
    generated = [r for r in recs if r.get("static")]
    bad_modules = [r for r in generated if not module_ok(r)]
    lines.append(
        f"**Crashes: {status['crash']}. Timeouts: {status['timeout']}. Modules generated: {len(generated)}, "
        f"failing to compile, import or register: {len(bad_modules)}.** Other failures: {status['failed'] - len(bad_modules)}."
    )
    lines += ["", "| group | headers | ok | clang errors | failed | crash | timeout | modules | compile+import+register | found (structs/functions/enums) | bound in memory | skipped in memory | bound static |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]  # fmt: skip
    for g in GROUPS + ("all",):
        rs = [r for r in recs if g == "all" or r["group"] == g]
        if not rs:
            continue
        c = Counter(r["status"] for r in rs)
        mods = [r for r in rs if r.get("static")]
        good = sum(module_ok(r) for r in mods)
        found = [sum(r.get("found", {}).get(k, 0) for r in rs) for k in ("structs", "functions", "enums")]
        dyn_b = sum(r.get("dynamic", {}).get("bound", 0) for r in rs)
        dyn_s = sum(r.get("dynamic", {}).get("skipped", 0) for r in rs)
        st_b = sum(r.get("generate", {}).get("bound", 0) for r in rs)
        name = "**all**" if g == "all" else g
        lines.append(
            f"| {name} | {len(rs)} | {c['ok']} | {c['parse_error']} | {c['failed']} | {c['crash']} | {c['timeout']} | "
            f"{len(mods)} | {good} | {'/'.join(map(str, found))} | {dyn_b} | {dyn_s} | {st_b} |"
        )
    problems = [r for r in recs if r["status"] in ("crash", "timeout", "failed")]
    lines += ["", "## Crashes, timeouts and failures", ""]
    if problems:
        lines += ["| header | status | what |", "|---|---|---|"]
        for r in sorted(problems, key=lambda r: (r["status"], r["header"])):
            lines.append(f"| `{r['header']}` | {r['status']} | {_problem(r).replace('|', '/')} |")
    else:
        lines.append("None.")
    reasons: Counter = Counter()
    for r in recs:
        reasons.update(r.get("dynamic", {}).get("skip_reasons", {}))
    lines += ["", "## Why declarations were not bound (in memory, all headers)", "",
              "| reason (names elided) | declarations |", "|---|---:|"]  # fmt: skip
    for reason, n in reasons.most_common(25):
        lines.append(f"| {reason.replace('|', '/')} | {n} |")
    if len(reasons) > 25:
        lines.append(f"| ({len(reasons) - 25} more reasons) | {sum(n for _, n in reasons.most_common()[25:])} |")
    errs = Counter(_parse_error_class(r) for r in recs if r["status"] == "parse_error")
    lines += ["", "## Headers clang rejects as entry points (first error, names elided)", "",
              "| first error | headers | example |", "|---|---:|---|"]  # fmt: skip
    examples = {}
    for r in recs:
        if r["status"] == "parse_error":
            examples.setdefault(_parse_error_class(r), r["header"])
    for cls, n in errs.most_common(20):
        lines.append(f"| {cls.replace('|', '/')} | {n} | `{examples[cls]}` |")
    if len(errs) > 20:
        lines.append(f"| ({len(errs) - 20} more) | {sum(n for _, n in errs.most_common()[20:])} | |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every header")
    which.add_argument("--sample", type=int, metavar="N", help="N headers spread over the groups (default 20)")
    which.add_argument("--headers", nargs="+", metavar="H", help="these headers (relative to the include folder, or paths)")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per header")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds the sweep may take: no new header after it (default 600 for --sample, none otherwise)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the summary (markdown) here")
    parser.add_argument("--json", help="write every header's record (JSON) here")
    parser.add_argument("--keep", help="copy the work folder of each crashed or failed header under this folder")
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="with --all: only the I-th of N equal parts (1-based), "
        "to spread a sweep over runs; merge their --json files with --from-json A B ...",
    )
    parser.add_argument(
        "--from-json", metavar="FILE", nargs="+", help="summarize the records that --json runs saved (several: merged), without sweeping"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)

    if args.from_json:
        parts = [json.loads(Path(f).read_text()) for f in args.from_json]
        result = dict(
            parts[0],
            records=[r for p in parts for r in p["records"]],
            seconds=sum(p["seconds"] for p in parts),
            requested=sum(p["requested"] for p in parts),
        )
        if len(parts) > 1:
            result["title"] = re.sub(r" \(part \d+ of \d+\)$", "", result.get("title", "Header sweep"))
            result["note"] = f"merged from {len(parts)} runs; time is their sum"
        for rec in result["records"]:
            rec["status"] = classify(rec)
        return report(result, result.get("title", "Header sweep"), args)

    root = include_root()
    every = toolkit_headers(root)
    budget = args.budget
    if args.all:
        headers, title = every, "Header sweep: every CUDA toolkit header as an entry point"
        if args.shard:
            m = re.fullmatch(r"(\d+)/(\d+)", args.shard)
            if not m or not 1 <= int(m[1]) <= int(m[2]):
                parser.error(f"--shard {args.shard!r}: expected I/N with 1 <= I <= N")
            i, n = int(m[1]), int(m[2])
            headers = headers[i - 1 :: n]
            title += f" (part {i} of {n})"
    elif args.headers:
        by_label = {h[0]: h for h in every}
        headers = [by_label.get(h) or (h, "other", Path(h).resolve()) for h in args.headers]
        title = "Header sweep: chosen headers"
    else:
        headers = sample(every, args.sample or 20, args.seed)
        budget, title = args.budget or 600, f"Header sweep: a sample of {len(headers)} headers (seed {args.seed})"
    keep = Path(args.keep) if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)

    def progress(rec, i, n):
        print(f"[{i}/{n}] {rec['status']:<11} {rec['seconds']:6.1f} s  {rec['header']}", file=sys.stderr, flush=True)

    print(f"{len(headers)} headers under {root}", file=sys.stderr)
    result = sweep(headers, jobs=args.jobs, timeout=args.timeout, budget=budget, keep=keep, progress=progress)
    result["title"] = title
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return report(result, title, args)


def report(result: dict, title: str, args) -> int:
    """Prints (and writes, with --out) the summary; exit code 1 on a crash, a timeout or a module
    that does not load."""
    text = summarize(result, title)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    bad = [r for r in result["records"] if r["status"] in ("crash", "timeout") or not module_ok(r)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

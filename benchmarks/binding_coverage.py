"""Binding coverage of real CUDA libraries: for each header, device declarations found, bound, and
skipped by reason.

Each library header is generated as a static module (`numbast generate --report`), with the
library's own internal headers in the File List (libcu++ keeps its declarations in `__name/` folders,
cooperative groups in `details/`, cuRAND in `curand_*.h`). Host-only declarations are not counted:
they are not device declarations. Nor are C++ forms Python has no counterpart for (`operator=`,
`++`/`--`, move constructors, user-defined literals such as `2.0i`): they are listed apart. A class template counts once; its methods are
typed when a kernel calls them.

    python3 benchmarks/binding_coverage.py                 # every header, the pip CUDA headers
    python3 benchmarks/binding_coverage.py --only cub/warp # headers whose name contains a text
    python3 benchmarks/binding_coverage.py --include-dir /usr/local/cuda/include --json cov.json

Target: at least 95% bound in every header, and every skip a reason a user can act on.

(Issue 10 calls this script `benchmarks/coverage.py`. That name would shadow the `coverage`
package for every script run from this folder: numba imports `coverage` when it is installed, and
would find this file instead, so `header_sweep.py` and the other benchmarks would fail to import
numba.)
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HOST_ONLY = ("host-only function", "host-only method", "host-only")
# C++ forms Python has no counterpart for: `=`, `++`/`--`, moves and user-defined literals.
# Counted apart, not as bound.
NO_PYTHON_FORM = ("assignment operator:", "increment/decrement operator:", "move constructor:", "user-defined literal operator")


def header_groups(inc, cccl):
    """(label, entry-point includes, File List) for every header the benchmark covers."""
    groups = []

    def add(label, includes, files):
        files = sorted({os.path.realpath(f) for f in files if os.path.isfile(f)})
        if files:
            groups.append((label, includes, files))

    for name in ("cuda_fp16.h", "cuda_bf16.h", "cuda_fp8.h"):
        add(name, [name], [os.path.join(inc, name), os.path.join(inc, name.replace(".h", ".hpp"))])
    add(
        "curand_kernel.h", ["curand_kernel.h"], [p for p in glob.glob(os.path.join(inc, "curand_*.h")) if "host" not in os.path.basename(p)]
    )
    cg = os.path.join(inc, "cooperative_groups")
    add(
        "cooperative_groups.h (+ reduce.h, scan.h)",
        ["cooperative_groups.h", "cooperative_groups/reduce.h", "cooperative_groups/scan.h"],
        [os.path.join(inc, "cooperative_groups.h"), os.path.join(cg, "reduce.h"), os.path.join(cg, "scan.h")]
        + glob.glob(os.path.join(cg, "details", "*.h")),
    )
    for folder in ("block", "warp"):
        for path in sorted(glob.glob(os.path.join(cccl, "cub", folder, "*.cuh"))):
            rel = os.path.relpath(path, cccl)
            add(rel, [rel], [path])
    for name, internal in (("complex", "__complex"), ("utility", "__utility"), ("array", "__array")):
        path = os.path.join(cccl, "cuda", "std", name)
        # CCCL 13.0 keeps some of them in `detail/libcxx/include/` (`array` entirely).
        older = os.path.join(cccl, "cuda", "std", "detail", "libcxx", "include", name)
        add(f"cuda/std/{name}", [f"cuda/std/{name}"], [path, older] + glob.glob(os.path.join(cccl, "cuda", "std", internal, "*.h")))
    return groups


def reason_class(reason):
    """A skip reason with its names taken out, so that equal causes count together."""
    return re.sub(r"`[^`]*`", "`…`", reason)


def measure(label, includes, files, include_dirs, arch, workdir):
    slug = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_").lower()
    entry = os.path.join(workdir, f"{slug}.cuh")
    with open(entry, "w") as f:
        f.write("".join(f"#include <{h}>\n" for h in includes))
    cfg = os.path.join(workdir, f"{slug}.yml")
    with open(cfg, "w") as f:
        json.dump(
            {
                "Entry Point": entry,
                "File List": files,
                "GPU Arch": [arch],
                "Output Name": f"cov_{slug}",
                "Clang Include Paths": include_dirs,
            },
            f,
        )  # JSON is YAML
    report = os.path.join(workdir, f"{slug}.json")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "numbast", "generate", cfg, "--output-dir", workdir, "--report", report], capture_output=True, text=True
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"header": label, "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:], "seconds": seconds}
    with open(report) as f:
        r = json.load(f)
    device_skips = [s for s in r["skipped"] if not s["reason"].startswith(HOST_ONLY)]
    no_form = [s for s in device_skips if s["reason"].startswith(NO_PYTHON_FORM)]
    device_skips = [s for s in device_skips if s not in no_form]
    bound = sum(r["bound_counts"].values())
    found = bound + len(device_skips)
    reasons = collections.Counter(reason_class(s["reason"]) for s in device_skips)
    return {
        "header": label,
        "found": found,
        "bound": bound,
        "skipped": len(device_skips),
        "host_only": len(r["skipped"]) - len(device_skips) - len(no_form),
        "no_python_form": len(no_form),
        "bound_counts": r["bound_counts"],
        "reasons": dict(reasons.most_common()),
        "skips": device_skips,
        "seconds": round(seconds, 2),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--include-dir", help="CUDA include folder (default: ast_canopy.cuda_include_dirs())")
    ap.add_argument("--arch", default="sm_80")
    ap.add_argument("--only", help="only headers whose label contains this text")
    ap.add_argument("--json", help="write every row, with each skip, to this file")
    ap.add_argument("--reasons", type=int, default=4, help="reasons printed per header")
    args = ap.parse_args(argv)

    if args.include_dir:
        inc = args.include_dir
        cccl = os.path.join(inc, "cccl") if os.path.isdir(os.path.join(inc, "cccl", "cub")) else inc
    else:
        import ast_canopy

        dirs = ast_canopy.cuda_include_dirs()
        inc = dirs[0]
        cccl = next((d for d in dirs if os.path.isdir(os.path.join(d, "cub"))), inc)
    include_dirs = [inc] + ([cccl] if cccl != inc else [])
    groups = [g for g in header_groups(inc, cccl) if not args.only or args.only in g[0]]
    rows = []
    with tempfile.TemporaryDirectory(prefix="numbast-coverage-") as work:
        for label, includes, files in groups:
            row = measure(label, includes, files, include_dirs, args.arch, work)
            rows.append(row)
            if "error" in row:
                print(f"{label:<48} ERROR {' '.join(row['error'])}", flush=True)
                continue
            pct = 100.0 * row["bound"] / row["found"] if row["found"] else 100.0
            print(
                f"{label:<48} found {row['found']:>4}  bound {row['bound']:>4}  skipped {row['skipped']:>3}"
                f"  {pct:6.1f}%  (host-only {row['host_only']}, no Python form {row['no_python_form']}, "
                f"{row['seconds']:.1f} s)",
                flush=True,
            )
            for reason, n in list(row["reasons"].items())[: args.reasons]:
                print(f"    {n:>4} x {reason}")
    ok = [r for r in rows if "error" not in r]
    below = [r["header"] for r in ok if r["found"] and r["bound"] < 0.95 * r["found"]]
    total_found = sum(r["found"] for r in ok)
    total_bound = sum(r["bound"] for r in ok)
    print(
        f"\n{len(rows)} headers, {len(rows) - len(ok)} failed to generate; {total_bound} of {total_found} "
        f"device declarations bound ({100.0 * total_bound / max(total_found, 1):.1f}%); "
        f"below 95%: {', '.join(below) if below else 'none'}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

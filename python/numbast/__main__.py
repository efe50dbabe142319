"""`python -m numbast` and the `numbast` console script: the Rust generator, run in this process.

    numbast generate cfg.yml --output-dir out/ [--report coverage.json] [-v] [-q]
    python -m numbast --cfg-path cfg.yml --output-dir out/
    numbast schema          # the config's JSON Schema (shipped as numbast/config.schema.json)

It writes `out/<name>.py`, a module that needs only numba-cuda, and its `out/<name>.pyi` stub, and
prints the coverage table. Exit codes: 0 generated (skipped declarations do not change it), 1
generation failed (clang errors, toolchain missing), 2 bad arguments, config or paths.
"""

import sys

from ast_canopy import _core
from ast_canopy._toolchain import search_dirs


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    sys.stdout.flush()
    return _core.cli_main(["numbast", *args], search_dirs())


if __name__ == "__main__":
    sys.exit(main())

"""`python -m numbast` and the `numbast` console script: the Rust generator, run in this process.

    numbast generate cfg.yml --output-dir out/
    python -m numbast --cfg-path cfg.yml --output-dir out/
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

"""`python -m numbast` and the `numbast` console script: the Rust generator, run in this process.

    numbast generate cfg.yml --output-dir out/ [--report coverage.json] [-v] [-q] [--bypass-parse-error]
    python -m numbast --cfg-path cfg.yml --output-dir out/ [-fmt BOOL] [-noraise BOOL]
    numbast schema          # the config's JSON Schema (shipped as numbast/config.schema.json)

It writes `out/<name>.py`, a module that needs only numba-cuda, and its `out/<name>.pyi` stub, and
prints the coverage table. Exit codes: 0 generated (skipped declarations do not change it), 1
generation failed (clang errors, toolchain missing), 2 bad arguments, config or paths.

The existing Numbast's flags are accepted with their values (`true`/`false`, `1`/`0`, `yes`/`no`,
`on`/`off`): `-noraise`/`--bypass-parse-error BOOL` generates despite clang errors (printed as
warnings); `-fmt`/`--run-ruff-format BOOL` has no effect (generated modules are formatted as they
are written), and a warning says so when it is true.
"""

import sys

from ast_canopy import _core
from ast_canopy._toolchain import search_dirs

_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off")
# The existing Numbast's flags that take a boolean value: spellings -> canonical name.
_BOOL_FLAGS = {
    "-fmt": "--run-ruff-format", "--run-ruff-format": "--run-ruff-format",
    "-noraise": "--bypass-parse-error", "--bypass-parse-error": "--bypass-parse-error",
}  # fmt: skip


class _UsageError(Exception):
    pass


def _boolean(flag: str, value) -> bool:
    if value is None:
        raise _UsageError(f"option {flag} needs a value: true or false")
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise _UsageError(f"invalid value for {flag}: {value!r} is not a boolean (true/false, 1/0, yes/no, on/off)")


def translate_legacy_flags(args: list) -> tuple:
    """`args` with the existing Numbast's boolean flags replaced by this CLI's, and the warnings
    to print. `--bypass-parse-error` with no value (this CLI's spelling) is kept as is."""
    out, warnings = [], []
    i = 0
    while i < len(args):
        arg = args[i]
        flag, eq, inline = arg.partition("=")
        canonical = _BOOL_FLAGS.get(flag)
        if canonical is None:
            out.append(arg)
            i += 1
            continue
        if eq:
            value, i = inline, i + 1
        elif i + 1 < len(args) and args[i + 1].strip().lower() in _TRUE + _FALSE:
            value, i = args[i + 1], i + 2
        elif canonical == "--bypass-parse-error" and flag == "--bypass-parse-error":
            value, i = "true", i + 1  # this CLI's flag form
        else:
            value, i = (args[i + 1] if i + 1 < len(args) else None), i + 2
        on = _boolean(flag, value)
        if canonical == "--bypass-parse-error":
            if on:
                out.append("--bypass-parse-error")
        elif on:
            warnings.append(f"{flag} has no effect: generated modules are written formatted")
    return out, warnings


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        args, warnings = translate_legacy_flags(args)
    except _UsageError as e:
        print(f"numbast: error: {e}", file=sys.stderr)
        return 2
    for w in warnings:
        print(f"numbast: warning: {w}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return _core.cli_main(["numbast", *args], search_dirs())


if __name__ == "__main__":
    sys.exit(main())

"""Probes: what only the compiler knows about an instantiation (its layout, a deduced return
type, which overloads survive substitution), as constant expressions evaluated by libclang
(`ast_canopy.evaluate_constants`) or compiled by NVRTC; and the GPU architectures a template
exists for."""

import importlib
import os
import re

from . import _runtime as rt
from ._template_operators import user_op_decls
from ._template_shim_forms import SHIM_FORMS
from ._template_types import TemplateError, device_cc, types

# Helpers every template shim relies on, added to the shim unit once.
HELPERS_NAME = "__nbst_template_helpers"
HELPERS = SHIM_FORMS["helpers"]
BUILTIN_KINDS = [
    ("bool", types.boolean), ("signed char", types.int8), ("unsigned char", types.uint8),
    ("char", types.int8), ("short", types.int16), ("unsigned short", types.uint16), ("int", types.int32),
    ("unsigned int", types.uint32), ("long", types.int64), ("unsigned long", types.uint64),
    ("long long", types.int64), ("unsigned long long", types.uint64), ("float", types.float32),
    ("double", types.float64),
]  # fmt: skip
KIND_PROBE = (
    "template <class T> __device__ T __nbst_declval();\n"
    "template <class T> struct __nbst_kind { static constexpr unsigned long long value = 0; };\n"
    "template <class T> struct __nbst_kind<const T> : __nbst_kind<T> {};\n"
    "template <class T> struct __nbst_kind<T &> : __nbst_kind<T> {};\n"
    "template <class T> struct __nbst_kind<T &&> : __nbst_kind<T> {};\n"
    "template <> struct __nbst_kind<void> { static constexpr unsigned long long value = 1000; };\n"
    + "".join(f"template <> struct __nbst_kind<{c}> {{ static constexpr unsigned long long value = {i + 1}; }};\n"
              for i, (c, _t) in enumerate(BUILTIN_KINDS))
)  # fmt: skip


# ----------------------------------------------------------------------------- GPU architectures


def _cc_value(cc):
    """`__CUDA_ARCH__` for compute capability `cc`: (9, 0) -> 900."""
    return cc[0] * 100 + cc[1] * 10


class Arch:
    """Where a template exists when only some of a static module's GPU architectures have it:
    `condition` is the preprocessor condition its shims are wrapped in; `ranges` (`__CUDA_ARCH__`
    values, lower bound included, None for no upper bound), `archs` (their names) and `owner` (the
    module) say so when a kernel for another architecture calls it."""

    def __init__(self, condition, ranges=(), archs="", owner=""):
        self.condition, self.ranges, self.archs, self.owner = condition, tuple(ranges), archs, owner

    def allows(self, cc):
        value = _cc_value(cc)
        return not self.ranges or any(lo <= value and (hi is None or value < hi) for lo, hi in self.ranges)

    def probe_cc(self, cc):
        """`cc` if this arch set allows it, else the lowest compute capability it has."""
        if self.allows(cc):
            return cc
        for name in self.archs.split(","):
            m = re.fullmatch(r"\s*sm_(\d+)(\d)[af]?\s*", name)
            if m:
                return (int(m[1]), int(m[2]))
        return cc

    def check(self, what):
        """At lowering: the compute capability the kernel is compiled for must have it."""
        targetconfig = importlib.import_module(rt._NB_PACKAGE + ".core.targetconfig")

        flags = targetconfig.ConfigStack.top_or_none()
        cc = getattr(flags, "compute_capability", None)
        if cc and not self.allows(cc):
            where = (
                f"{self.owner} has it for {self.archs} (the config's GPU Arch)" if self.archs else f"it is guarded by `{self.condition}`"
            )
            raise NotImplementedError(f"{what} is not available for compute capability {cc[0]}.{cc[1]}: {where}")


# ----------------------------------------------------------------------------- NVRTC probe

PROBES = {}  # (preceding text, expressions) -> values
_PROBE_VAR = "__nbst_probe"


def preceding_text(unit):
    text = getattr(unit, "preceding_text", None)
    if text is None:  # the unit's text up to its first shim
        text = unit.source().split('\nextern "C" __device__', 1)[0].split("\n#ifndef NUMBAST_TEMPLATE_HELPERS", 1)[0]
        unit.preceding_text = text
    return text


def _nvrtc_includes():
    """The include path the backend compiles shim units with (its `_probe_nvrtc`)."""
    return rt._probe_nvrtc()[1]


def _nvrtc_ptx(src, name, cc=None):
    """PTX for CUDA C++ `src` (for compute capability `cc`, default the device's), with the include
    path the backend compiles shim units with. NVRTC is called directly, as the backend reaches it
    (its `cuda.bindings` module, so that a generated module imports nothing but its backend, and
    a numba-cuda-mlir process no numba-cuda): cuda.core's PTX target needs a driver, which a probe
    does not."""
    backend_nvrtc, includes = rt._probe_nvrtc()
    nvrtc = backend_nvrtc.bindings_nvrtc

    def check(result):
        if result[0] != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise RuntimeError(f"NVRTC: {result[0]}")
        return result[1:]

    cc = cc or device_cc()
    parts = ("probe", name, check(nvrtc.nvrtcVersion()), f"-arch=compute_{cc[0]}{cc[1]}", "-rdc=true")
    # Through the NVRTC disk cache (`_nvrtc_cache.py`): a probe is compiled once per header content.
    ptx = rt._nc_cached(src, parts, includes, lambda: _nvrtc_run(nvrtc, check, src, name, cc, includes))
    return ptx.decode(errors="replace")


def _nvrtc_run(nvrtc, check, src, name, cc, includes):
    (prog,) = check(nvrtc.nvrtcCreateProgram(src.encode(), name.encode(), 0, [], []))
    try:
        opts = [f"-arch=compute_{cc[0]}{cc[1]}".encode(), b"-rdc=true"] + [f"-I{i}".encode() for i in includes]
        status = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)[0]
        if status != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            (size,) = check(nvrtc.nvrtcGetProgramLogSize(prog))
            log = b" " * size
            check(nvrtc.nvrtcGetProgramLog(prog, log))
            raise RuntimeError(log.decode(errors="replace").strip("\x00 \n"))
        (size,) = check(nvrtc.nvrtcGetPTXSize(prog))
        ptx = b" " * size
        check(nvrtc.nvrtcGetPTX(prog, ptx))
        return ptx
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def _read_probe(ptx, count):
    m = re.search(rf"\.(b8|u64|b64)\s+{_PROBE_VAR}\[(\d+)\](?:\s*=\s*\{{([^}}]*)\}})?", ptx)
    if m is None:
        raise RuntimeError("the probe's constant is missing from the PTX")
    words = [int(x, 0) for x in (m[3] or "").replace("\n", " ").split(",") if x.strip()]
    if m[1] == "b8":
        data = bytes(words) + bytes(8 * count - len(words))
        return [int.from_bytes(data[8 * i : 8 * i + 8], "little") for i in range(count)]
    return words + [0] * (count - len(words))


NESTED_PROBE = """template <class T, class = void> struct __nbst_nested{i} {{
  static constexpr unsigned long long size = 0, align = 0;
}};
template <class T> struct __nbst_nested{i}<T, decltype(void(sizeof(typename T::{name})))> {{
  static constexpr unsigned long long size = sizeof(typename T::{name}), align = alignof(typename T::{name});
}};
"""


# An offset as a constant expression: clang's `__builtin_offsetof`; NVRTC's own front end's
# constant-address builtin (`__builtin_offsetof` is missing from some NVRTC versions).
_OFFSETOF = """#ifdef __clang__
#define __nbst_offsetof(T, m) __builtin_offsetof(T, m)
#else
#define __nbst_offsetof(T, m) __INTADDR__(&(((T *)0)->m))
#endif
"""
_PROBE_BACKENDS = ("clang", "nvrtc", "both")


class TemplateProbeMismatch(AssertionError):
    """`NUMBAST_TEMPLATE_PROBE=both`: libclang and NVRTC disagree about a probe."""


def probe_backend():
    """`NUMBAST_TEMPLATE_PROBE`: `clang` (the default: libclang, NVRTC where libclang cannot answer),
    `nvrtc` (NVRTC only) or `both` (both, and a TemplateProbeMismatch where they differ)."""
    value = (os.environ.get("NUMBAST_TEMPLATE_PROBE") or "clang").strip().lower()
    if value not in _PROBE_BACKENDS:
        raise ValueError(f"NUMBAST_TEMPLATE_PROBE={value!r}: expected one of {', '.join(_PROBE_BACKENDS)}")
    return value


def probe(unit, exprs, what, prelude="", arch=None, functors=()):
    """The values of constant C++ expressions (`sizeof(X)`...), evaluated after the unit's
    preceding text, the declarations of the user operators' functors the expressions name
    (`functors`) and `prelude` (for an architecture that has the template, `arch`); each set is
    evaluated once per process."""
    text = preceding_text(unit)
    prelude = user_op_decls(functors) + prelude
    cc = arch.probe_cc(device_cc()) if arch is not None else device_cc()
    key = (text, prelude, tuple(exprs), cc)
    if key not in PROBES:
        PROBES[key] = probe_values(text, prelude, exprs, cc, what)
    return PROBES[key]


def probe_values(text, prelude, exprs, cc, what, backend=None):
    """The values of `exprs` after `text` and `prelude` for compute capability `cc`, from the
    backend `NUMBAST_TEMPLATE_PROBE` (or `backend`) names. Raises TemplateError naming `what` when
    the compiler rejects them."""
    backend = backend or probe_backend()
    clang = None
    if backend != "nvrtc":
        try:
            clang = _probe_clang(text, prelude, exprs, cc)
        except TemplateError as e:
            clang = e
    if clang is not None and backend != "both":
        if isinstance(clang, TemplateError):
            raise TemplateError(f"cannot instantiate {what}:\n{clang}") from None
        return clang
    try:
        values = _probe_nvrtc(text, prelude, exprs, cc)
    except TemplateError as e:
        values = e
    if backend == "both" and clang is not None:
        same = values == clang if not isinstance(values, Exception) else isinstance(clang, Exception)
        if not same:
            raise TemplateProbeMismatch(f"{what}: libclang gives {clang!r}, NVRTC {values!r} for {exprs}")
    if isinstance(values, TemplateError):
        raise TemplateError(f"cannot instantiate {what}:\n{values}") from None
    return values


def _probe_clang(text, prelude, exprs, cc):
    """The values from libclang (`ast_canopy.evaluate_constants`), device side for `cc`, with the
    include path NVRTC gets; None where ast_canopy is not importable or a value is not a constant
    clang can evaluate. Raises TemplateError with clang's errors."""
    try:
        ast_canopy = importlib.import_module("ast_canopy")
    except ImportError:
        return None
    names = [f"{_PROBE_VAR}_{i}" for i in range(len(exprs))]
    src = f"{text}\n{HELPERS}\n{_OFFSETOF}{prelude}\n" + "".join(
        f"__device__ constexpr unsigned long long {n} = (unsigned long long)({e});\n" for n, e in zip(names, exprs)
    )
    try:
        values, errors = ast_canopy.evaluate_constants(src, names, f"sm_{cc[0]}{cc[1]}", "gnu++17", _nvrtc_includes())
    except Exception:  # no libclang, or it crashed: NVRTC answers
        return None
    if errors:
        raise TemplateError("\n".join(errors))
    if any(v is None for v in values):
        return None
    return [int(v) for v in values]


def _probe_nvrtc(text, prelude, exprs, cc):
    """The values from NVRTC: compiled into a PTX constant array (through the NVRTC disk cache).
    Raises TemplateError with NVRTC's log."""
    body = ", ".join(f"(unsigned long long)({e})" for e in exprs)
    src = (f"{text}\n{HELPERS}\n{_OFFSETOF}{prelude}\n"
           f'extern "C" __device__ const unsigned long long {_PROBE_VAR}[] = {{{body}}};\n')  # fmt: skip
    try:
        ptx = _nvrtc_ptx(src, "numbast_probe.cu", cc)
    except RuntimeError as e:
        raise TemplateError(str(e)) from None
    return _read_probe(ptx, len(exprs))

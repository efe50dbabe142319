"""Mangled names are clang's own: demangled with c++filt, each names the function's qualified
name and parameter types; constructors mangle as complete-object constructors (C1), destructors
as complete-object destructors (D1)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import ast_canopy
import pytest

HEADERS_DIR = Path(__file__).resolve().parent / "headers"
CXXFILT = shutil.which("c++filt")
pytestmark = pytest.mark.skipif(CXXFILT is None, reason="c++filt is not installed")

# How c++filt spells types the model spells otherwise: stdint names are kept in the model (Linux,
# LP64), and `std::nullptr_t` mangles as `decltype(nullptr)`.
DEMANGLED_SPELLING = {
    "std::nullptr_t": "decltype(nullptr)",
    "int8_t": "signed char", "uint8_t": "unsigned char", "int16_t": "short", "uint16_t": "unsigned short",
    "int32_t": "int", "uint32_t": "unsigned int", "int64_t": "long", "uint64_t": "unsigned long",
}  # fmt: skip
# The least and fast types as glibc defines them for 64-bit Linux (the device follows the host).
for _n in (8, 16, 32, 64):
    DEMANGLED_SPELLING[f"int_least{_n}_t"] = DEMANGLED_SPELLING[f"int{_n}_t"]
    DEMANGLED_SPELLING[f"uint_least{_n}_t"] = DEMANGLED_SPELLING[f"uint{_n}_t"]
    DEMANGLED_SPELLING[f"int_fast{_n}_t"] = "signed char" if _n == 8 else "long"
    DEMANGLED_SPELLING[f"uint_fast{_n}_t"] = "unsigned char" if _n == 8 else "unsigned long"


def _split_top(text: str, sep: str) -> list:
    """Splits `text` at `sep` outside <>, () and []."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def demangled_form(type_name: str, is_param: bool = True) -> str:
    """Our spelling of a parameter type (`const int *const &`) as c++filt writes it
    (`int const* const&`); top-level cv-qualifiers of a by-value parameter are not mangled."""
    name = type_name
    ref = ""
    for suffix in (" &&", " &"):
        if name.endswith(suffix):
            name, ref = name[: -len(suffix)], suffix.strip()
            break
    for declarator in ("(*)", "(&)", "(&&)"):  # pointer or reference to array: `const int (&)[4]`
        if declarator in name:
            elem, dims = name.split(f" {declarator}")
            return f"{demangled_form(elem, is_param=False)} {declarator} {dims}" + ref
    levels = [level.strip() for level in name.split("*")]
    base, pointer_quals = levels[0], levels[1:]
    quals = []
    while True:
        for q in ("const ", "volatile "):
            if base.startswith(q):
                quals.append(q.strip())
                base = base[len(q) :]
                break
        else:
            break
    base = DEMANGLED_SPELLING.get(base, base)
    out = base + "".join(f" {q}" for q in quals)
    for q in pointer_quals:
        out += "*" + (f" {q}" if q else "")
    if is_param and not ref:  # drop the outermost cv of a by-value parameter
        for q in (" const", " volatile"):
            out = out.removesuffix(q)
    return out + ref


def _callables(decls):
    for f in decls.functions:
        yield f, None
    records = list(decls.structs) + list(decls.class_template_specializations)
    while records:
        record = records.pop()
        records.extend(record.nested_records)
        for m in record.methods:
            yield m, record


def _all_callables():
    out = []
    for header in sorted(HEADERS_DIR.glob("*.cuh")):
        decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
        out.extend((header.name, f, record) for f, record in _callables(decls))
    return out


def _demangle(names: list) -> list:
    result = subprocess.run([CXXFILT], input="\n".join(names) + "\n", capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def _drop_unwritten_scopes(qualified: str) -> list:
    return [p for p in _split_top(qualified.replace("(anonymous namespace)::", ""), "::")]


def test_demangled_names_match_the_model():
    callables = [(h, f, r) for h, f, r in _all_callables() if f.mangled_name.startswith("_Z")]
    assert len(callables) > 50
    demangled = _demangle([f.mangled_name for _, f, _ in callables])
    problems = []
    for (header, f, record), text in zip(callables, demangled):
        is_const_method = text.endswith(" const")
        signature = text[: -len(" const")] if is_const_method else text
        # The parameter list is the last top-level parenthesized group.
        depth, open_at = 0, None
        for i in range(len(signature) - 1, -1, -1):
            if signature[i] == ")":
                depth += 1
            elif signature[i] == "(":
                depth -= 1
                if depth == 0:
                    open_at = i
                    break
        name, params = signature[:open_at], signature[open_at + 1 : -1]
        # Inline namespaces (`outer::v1::versioned`) are mangled but not part of qual_name.
        demangled_parts = _drop_unwritten_scopes(name)
        qual_parts = _split_top(f.qual_name.replace("(anonymous namespace)::", ""), "::")
        it = iter(demangled_parts)
        if demangled_parts[-1] != qual_parts[-1] or not all(p in it for p in qual_parts):
            problems.append(f"{header}: {f.qual_name}: demangled name is {name}")
        expected_params = [demangled_form(p.type_.name) for p in f.params]
        if f.is_variadic:
            expected_params.append("...")
        actual_params = [p.strip() for p in _split_top(params, ",")] if params else []
        actual_params = [p.replace("(anonymous namespace)::", "") for p in actual_params]
        if actual_params != expected_params:
            problems.append(f"{header}: {f.qual_name}: demangled parameters {actual_params}, model {expected_params}")
        if record is not None and is_const_method != f.is_const:
            problems.append(f"{header}: {f.qual_name}: const is {f.is_const}, demangled {text}")
    assert not problems, "\n".join(problems)


def test_constructors_and_destructors_mangle_as_complete_object_variants():
    header = HEADERS_DIR / "structs.cuh"
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    vec3 = next(s for s in decls.structs if s.name == "Vec3")
    constructors = vec3.constructors()
    assert len(constructors) == 6
    assert all("C1E" in c.mangled_name for c in constructors)
    (destructor,) = [m for m in vec3.methods if m.kind is ast_canopy.method_kind.destructor]
    assert destructor.mangled_name == "_ZN4Vec3D1Ev"
    assert _demangle([destructor.mangled_name]) == ["Vec3::~Vec3()"]


def test_extern_c_functions_keep_their_name():
    header = HEADERS_DIR / "namespaces.cuh"
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    c_api = next(f for f in decls.functions if f.name == "c_api")
    assert c_api.mangled_name == "c_api"


@pytest.mark.parametrize(
    "ours, theirs",
    [
        ("const int *const &", "int const* const&"),
        ("const char *const *", "char const* const*"),
        ("volatile unsigned int *", "unsigned int volatile*"),
        ("Pt &&", "Pt&&"),
        ("const float", "float"),
        ("float (*)[4]", "float (*) [4]"),
        ("const uint64_t *", "unsigned long const*"),
    ],
)
def test_demangled_form(ours, theirs):
    assert demangled_form(ours) == theirs

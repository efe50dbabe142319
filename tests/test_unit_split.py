"""Split shim units: a shim unit compiles against declarations views of its headers (external
definitions cut to `;`), and a kernel's link compiles, as a unit of its own, the definitions its
shims may reach, each once (`numbast/_unit_split.py`, `numbast/_kernel_cache.py`,
`crates/canopy/src/definitions.rs`)."""

import shutil
import zlib
from pathlib import Path

import ast_canopy
import numpy as np
import pytest
from _helpers import generate_static_module, require_gpu
from numba import cuda, types
from numbast import MemoryShimWriter, _kernel_cache, bind_cxx_functions, bind_cxx_struct
from numbast.testing import link_kernel

ARCH = "sm_80"
SPLIT = Path(__file__).resolve().parent / "headers" / "split"
LIB, DETAIL, WITH_VAR = SPLIT / "lib.cuh", SPLIT / "detail.cuh", SPLIT / "with_var.cuh"
CHAIN, OTHER, PASTED = SPLIT / "chain.cuh", SPLIT / "other.cuh", SPLIT / "pasted.cuh"


@pytest.fixture(autouse=True)
def split_always(monkeypatch):
    """The test headers are small: split them whatever the size of what is cut."""
    monkeypatch.setenv("NUMBAST_SPLIT_UNITS", "always")


@pytest.fixture(scope="module")
def lib():
    decls = ast_canopy.parse_declarations_from_source(LIB, [LIB, DETAIL], ARCH)
    writer = MemoryShimWriter(f'#include "{LIB}"')
    acc = bind_cxx_struct(writer, decls.structs[0])
    funcs = {f.__name__: f for f in bind_cxx_functions(writer, decls.functions)}
    return decls, writer, acc, funcs


def _cut_texts(decls):
    """{file name: [(name, kind, the text cut)]}"""
    out = {}
    for f in decls.definitions:
        text = Path(f.file).read_bytes()
        assert (f.size, f.crc32) == (len(text), zlib.crc32(text))
        out[Path(f.file).name] = [
            (d.name, d.kind.value, text[d.body.start : d.body.end].decode() if d.body else None) for d in f.definitions
        ]
    return out


def test_canopy_finds_the_external_definitions_and_their_bodies(lib):
    cuts = _cut_texts(lib[0])
    assert cuts["detail.cuh"] == [("lib::scale", "function", "{ return 3 * x; }")]
    names = [(n, k) for n, k, _ in cuts["lib.cuh"]]
    # Inline, static, anonymous-namespace, template and constexpr functions are not listed.
    assert names == [
        ("lib::Acc::Acc", "function"),
        ("lib::Acc::add", "function"),
        ("lib::offset", "function"),
        ("lib::kept_template", "function"),
        ("lib::use_all", "function"),
    ]
    bodies = {n: t for n, _, t in cuts["lib.cuh"]}
    # A member defined outside its class is cut whole (it cannot be declared again there).
    assert bodies["lib::Acc::Acc"] == "__device__ Acc::Acc(int start) : total{start} { }"
    assert bodies["lib::Acc::add"].startswith("__device__ int Acc::add(int x) {") and bodies["lib::Acc::add"].endswith("}")
    assert bodies["lib::offset"].startswith("{\n") and bodies["lib::offset"].endswith("0);\n}")
    assert bodies["lib::kept_template"] == "{ return x + 2; }"


def test_a_device_variable_blocks_the_cut():
    decls = ast_canopy.parse_declarations_from_source(WITH_VAR, [WITH_VAR], ARCH)
    cuts = _cut_texts(decls)["with_var.cuh"]
    assert cuts == [("hits", "variable", None), ("bump", "function", "{ return x + hits; }")]
    # The body's use of the variable is recorded (the variable itself cannot be cut, so the header
    # is compiled as written: below).
    (f,) = decls.definitions
    assert [(d.identifier, d.uses) for d in f.definitions] == [("hits", ()), ("bump", ("hits",))]


def _compiled_text(writer):
    """The text NVRTC compiles for the writer's shim unit."""
    return writer.unit.code.compiled_text(writer.unit.source())


def _definition_units(result):
    """{name: text} of the units a link compiled with definitions (a shim unit's shims with the
    definitions they reach, or a whole definitions unit)."""
    units = {u.name: u for u in _kernel_cache._NC_CLOSURE_UNITS.values()}
    units.update({u.name: u for u in _kernel_cache._NC_DEFINITION_UNITS.values()})
    return {o.name: units[o.name].data for o in result.objects if o.name in units}


def _view_of(unit_text, header):
    """The text a definitions unit compiles for `header`: its view (beside the view the unit
    includes), or the header itself."""
    for line in unit_text.splitlines():
        if line.startswith('#include "'):
            views = list(Path(line[len('#include "') : -1]).parent.glob(f"*_{header.name}"))
            if views and views[0].parent != header.parent:
                return views[0].read_text()
    return header.read_text()


def test_kernel_links_each_definition_once(lib):
    _, writer, acc, funcs = lib
    offset, use_all, scale = funcs["offset"], funcs["use_all"], funcs["scale"]

    def kernel(out):
        a = acc(out[0])
        out[1] = a.add(offset(out[0])) + use_all(out[0]) + scale(out[0])

    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    names = [o.name for o in result.objects]
    # One NVRTC unit: the shims with the definitions they reach (a second copy would not link).
    (unit,) = _definition_units(result)
    assert unit.startswith(writer.unit.name[:-3] + "_with_definitions_") and writer.unit.name not in names, names
    for symbol in ("_ZN3lib6offsetEi", "_ZN3lib7use_allEi", "_ZN3lib5scaleEi", "_ZN3lib3Acc3addEi"):
        assert not result.calls(symbol), symbol  # inlined by LTO from the definitions unit

    text = _compiled_text(writer)
    assert "views" in text and str(LIB) not in text  # the shim unit sees the declarations view


def test_views_keep_what_every_unit_needs(lib):
    text = _compiled_text(lib[1])
    view = Path(text.split('#include "', 1)[1].split('"', 1)[0]).read_text()
    original = LIB.read_text()
    assert view.count("\n") == original.count("\n")  # cut bodies keep their lines
    for kept in ("kept_inline(int x) { return x - 1; }", "kept_static(int x) { return x * 5; }", "kept_constexpr(int x) {"):
        assert kept in view
    assert "__device__ int offset(int x) ;" in view and "total += x" not in view
    assert '#include "' + str(DETAIL) not in view  # detail.cuh has a view of its own
    assert "detail.cuh" in view.split("\n")[2]


def test_a_header_with_a_variable_is_compiled_as_written():
    decls = ast_canopy.parse_declarations_from_source(WITH_VAR, [WITH_VAR], ARCH)
    writer = MemoryShimWriter(f'#include "{WITH_VAR}"')
    (bump,) = bind_cxx_functions(writer, decls.functions)

    def kernel(out):
        out[0] = bump(out[0])

    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    assert _definition_units(result) == {}
    assert writer.unit.code.linking_files() == [writer.unit.code]


def test_a_changed_header_is_compiled_as_written(tmp_path):
    header = tmp_path / "changing.cuh"
    header.write_text("#pragma once\n__device__ int grow(int x) { return x + 1; }\n")
    decls = ast_canopy.parse_declarations_from_source(header, [header], ARCH)
    (grow,) = bind_cxx_functions(MemoryShimWriter(f'#include "{header}"'), decls.functions)
    # Edited after the parse: the recorded offsets no longer describe the text, so a unit
    # including it is compiled as written.
    header.write_text("#pragma once\n__device__ int grow(int x) { return x + 2 /* more */; }\n")
    writer = MemoryShimWriter(f'#include "{header}"\n')
    (grow,) = bind_cxx_functions(writer, decls.functions)
    assert writer.unit.code.linking_files() == [writer.unit.code]

    def kernel(out):
        out[0] = grow(out[0])

    link_kernel(kernel, (types.int32[::1],), ARCH)
    # Parsed again: split again, with the new offsets.
    ast_canopy.parse_declarations_from_source(header, [header], ARCH)
    bind_cxx_functions(writer, decls.functions)
    assert len(writer.unit.code.linking_files()) == 2
    link_kernel(kernel, (types.int32[::1],), ARCH)


def test_splitting_can_be_turned_off(monkeypatch, tmp_path):
    header = tmp_path / "off.cuh"
    shutil.copy(DETAIL, header)
    decls = ast_canopy.parse_declarations_from_source(header, [header], ARCH)
    writer = MemoryShimWriter(f'#include "{header}"')
    bind_cxx_functions(writer, decls.functions)
    monkeypatch.setenv("NUMBAST_SPLIT_UNITS", "0")
    assert writer.unit.code.linking_files() == [writer.unit.code]
    monkeypatch.setenv("NUMBAST_SPLIT_UNITS", "always")
    other = MemoryShimWriter(f'#include "{header}"\n')
    bind_cxx_functions(other, decls.functions)
    assert len(other.unit.code.linking_files()) == 2


def test_by_default_only_large_definitions_are_split(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBAST_SPLIT_UNITS")
    units = {}
    for n in (1, 400):  # 17 bytes of body each: 17 bytes, below the rule; 6.8 KB, above it
        header = tmp_path / f"funcs_{n}.cuh"
        header.write_text("#pragma once\n" + "".join(f"__device__ int f_{i}(int x) {{ return x + {i}; }}\n" for i in range(n)))
        decls = ast_canopy.parse_declarations_from_source(header, [header], ARCH)
        writer = MemoryShimWriter(f'#include "{header}"')
        fns = bind_cxx_functions(writer, decls.functions)
        units[n] = (writer.unit.code, fns[-1])
    assert units[1][0].linking_files() == [units[1][0]]
    assert len(units[400][0].linking_files()) == 2
    f = units[400][1]

    def kernel(out):
        out[0] = f(out[0])

    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    (text,) = _definition_units(result).values()
    view = _view_of(text, tmp_path / "funcs_400.cuh")
    assert "{ return x + 399; }" in view and "{ return x + 398; }" not in view  # the one it calls
    assert not result.calls("_Z5f_399i")


@pytest.mark.gpu
def test_split_unit_values_on_gpu(lib):
    require_gpu()
    _, _, acc, funcs = lib
    offset, use_all, scale, kept = funcs["offset"], funcs["use_all"], funcs["scale"], funcs["kept_inline"]

    @cuda.jit
    def kernel(out):
        a = acc(out[0])
        out[1] = a.add(offset(out[0]))
        out[2] = use_all(out[0])
        out[3] = scale(out[0]) + kept(out[0])

    x = 4
    d = cuda.to_device(np.array([x, 0, 0, 0], dtype=np.int32))
    kernel[1, 1](d)
    out = d.copy_to_host()
    expected_use_all = (x - 1) + x * 5 + (x + 7) + (x + 2) + x * 11 + 3 * x
    assert out.tolist() == [x, x + (x + 1000), expected_use_all, 3 * x + (x - 1)]


def test_static_module_registers_its_definitions(tmp_path):
    header = tmp_path / "flat.cuh"
    shutil.copy(DETAIL, header)
    module = generate_static_module(tmp_path, header, "flat_split")
    text = (tmp_path / "out" / "flat_split.py").read_text()
    size = header.stat().st_size
    crc = zlib.crc32(header.read_bytes())
    start = header.read_text().index("{ return 3")
    # The header's place relative to the module, the span of `scale`'s body and where its whole
    # declaration starts.
    end = start + len("{ return 3 * x; }")
    declaration = header.read_text().rindex("__device__", 0, start)
    assert f'("../flat.cuh", {size}, {crc}, [({start}, {end}, "scale", (), {declaration})], False, ()),' in text
    scale = module.scale

    def kernel(out):
        out[0] = scale(out[0])

    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    names = [o.name for o in result.objects]  # the module's runtime copy made the unit
    assert len([n for n in names if n.startswith("flat_split_shims_with_definitions_")]) == 1, names
    assert not result.calls("_ZN3lib5scaleEi")


# ----------------------------------------------------------------------------- numba-cuda-mlir


@pytest.fixture(scope="module")
def lib_mlir():
    """lib.cuh bound for numba-cuda-mlir, whose shim units are compiled as written."""
    from _backends import Backend

    backend = Backend("mlir")
    api = backend.api
    decls = ast_canopy.parse_declarations_from_source(LIB, [LIB, DETAIL], ARCH)
    writer = api.MemoryShimWriter(f'#include "{LIB}"')
    acc = api.bind_cxx_struct(writer, decls.structs[0])
    funcs = {f.__name__: f for f in api.bind_cxx_functions(writer, decls.functions)}
    return backend, writer, acc, funcs


def split_kernel(acc, funcs):
    offset, use_all, scale, kept = funcs["offset"], funcs["use_all"], funcs["scale"], funcs["kept_inline"]

    def kernel(out):
        a = acc(out[0])
        out[1] = a.add(offset(out[0]))
        out[2] = use_all(out[0])
        out[3] = scale(out[0]) + kept(out[0])

    return kernel


def test_headers_with_definitions_link_on_mlir(lib_mlir):
    """On numba-cuda-mlir the unit holds the header's definitions itself (not split): the kernel
    links once with each of them, every shim inlined."""
    backend, writer, acc, funcs = lib_mlir
    backend.link(split_kernel(acc, funcs), (backend.types.int32[::1],), writer)
    assert str(LIB) in writer.unit.source()


@pytest.mark.gpu
def test_headers_with_definitions_values_on_mlir(lib_mlir):
    backend, _, acc, funcs = lib_mlir
    backend.gpu()
    x = 4
    d = backend.cuda.to_device(np.array([x, 0, 0, 0], dtype=np.int32))
    backend.cuda.jit(split_kernel(acc, funcs))[1, 1](d)
    expected_use_all = (x - 1) + x * 5 + (x + 7) + (x + 2) + x * 11 + 3 * x
    assert d.copy_to_host().tolist() == [x, x + (x + 1000), expected_use_all, 3 * x + (x - 1)]


# ----------------------------------------------------------------------------- what a link keeps


@pytest.fixture(scope="module")
def chain():
    decls = ast_canopy.parse_declarations_from_source(CHAIN, [CHAIN], ARCH)
    writer = MemoryShimWriter(f'#include "{CHAIN}"')
    funcs = {}
    for f in bind_cxx_functions(writer, decls.functions):
        funcs.setdefault(f.__name__, f)
    return decls, writer, funcs


def test_canopy_records_what_each_body_and_the_rest_of_the_file_use(chain):
    (f,) = chain[0].definitions
    uses = {(d.identifier, d.body is not None): d.uses for d in f.definitions}
    assert uses == {
        ("h", True): (),
        ("g", True): ("h",),
        ("f", True): ("g",),
        ("from_inline", True): (),
        ("calls_late", True): ("late",),
        ("late", True): (),
        ("unused_a", True): (),
        ("unused_b", True): ("unused_a",),
    }
    # The inline function's call is a use of the file; the declaration of `late` is not.
    assert f.uses == ("from_inline",)
    # Each whole declaration can be dropped where no code names it: it starts at `__device__`.
    text = Path(CHAIN).read_bytes()
    for d in f.definitions:
        assert text[d.declaration : d.body.start].startswith(b"__device__ "), d
        assert text[d.declaration : d.body.start].split(b"(")[0].endswith(d.identifier.encode()), d
    (p,) = ast_canopy.parse_declarations_from_source(PASTED, [PASTED], ARCH).definitions
    assert p.uses is None  # token pasting: what `run` calls cannot be read


def _kept_bodies(unit_text, header=CHAIN):
    """The bodies of chain.cuh that a definitions unit's text compiles."""
    text = _view_of(unit_text, header)
    bodies = {
        "h": "{ return x + 3; }",
        "h(float)": "{ return x + 0.5f; }",
        "g": "{ return h(x) * 2; }",
        "f": "{ return g(x) + 1; }",
        "from_inline": "{ return x * 10; }",
        "calls_late": "{ return late(x) + 100; }",
        "late": "{ return x - 5; }",
        "unused_a": "{ return x * 7; }",
        "unused_b": "{ return unused_a(x) - 1; }",
    }
    return {name for name, body in bodies.items() if body in text}


def test_a_link_keeps_the_call_chain_its_shims_reach(chain):
    _, _, funcs = chain
    f = funcs["f"]

    def kernel(out):
        out[0] = f(out[0])

    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    (text,) = _definition_units(result).values()
    # f -> g -> h (both overloads of h), and what the header's inline code calls; nothing else.
    assert _kept_bodies(text, CHAIN) == {"f", "g", "h", "h(float)", "from_inline"}
    assert not result.calls("_ZN5chain1fEi")
    # What no code of the unit names is not even declared there (the lines stay, blank).
    view = _view_of(text, CHAIN)
    assert view.count("\n") == Path(CHAIN).read_text().count("\n")
    for name in ("unused_a", "unused_b", "calls_late"):
        assert f" {name}(" not in view, name
    assert view.count(" late(") == 1  # its declaration is not a definition: it stays

    late = funcs["calls_late"]

    def kernel2(out):
        out[0] = late(out[0])

    # The shim unit now holds both kernels' shims (one text, read at link): a link keeps what it
    # reaches, under another name (the disk cache keys the unit by its text).
    result2 = link_kernel(kernel2, (types.int32[::1],), ARCH)
    ((name2, text2),) = _definition_units(result2).items()
    assert _kept_bodies(text2, CHAIN) == {"f", "g", "h", "h(float)", "from_inline", "calls_late", "late"}
    assert " unused_a(" not in _view_of(text2, CHAIN)
    assert name2 not in [o.name for o in result.objects]


def test_a_link_with_nothing_to_keep_compiles_no_definitions(tmp_path):
    header = tmp_path / "only_inline_used.cuh"
    header.write_text(
        "#pragma once\n__device__ int never(int x) { return x + 1; }\n__device__ inline int inline_only(int x) { return x * 3; }\n"
    )
    decls = ast_canopy.parse_declarations_from_source(header, [header], ARCH)
    writer = MemoryShimWriter(f'#include "{header}"')
    fns = {f.__name__: f for f in bind_cxx_functions(writer, decls.functions)}
    inline_only = fns["inline_only"]
    assert len(writer.unit.code.linking_files()) == 2  # split: `never` is cut from the shim unit

    def kernel(out):
        out[0] = inline_only(out[0])

    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    assert _definition_units(result) == {}


def test_token_pasting_keeps_every_definition():
    decls = ast_canopy.parse_declarations_from_source(PASTED, [PASTED], ARCH)
    writer = MemoryShimWriter(f'#include "{PASTED}"')
    fns = {f.__name__: f for f in bind_cxx_functions(writer, decls.functions)}
    run = fns["run"]

    def kernel(out):
        out[0] = run(out[0])

    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    (text,) = _definition_units(result).values()
    # Unknown: the whole header, as written, as before call graphs (`step_2` is called through the
    # macro; `step_1` is kept too).
    assert f'#include "{PASTED}"' in text
    assert not result.calls("_ZN6pasted6step_2Ei")


def test_each_definition_is_linked_once_across_units(chain):
    _, _, funcs = chain
    decls = ast_canopy.parse_declarations_from_source(OTHER, [OTHER], ARCH)
    writer = MemoryShimWriter(f'#include "{OTHER}"')
    (twice_f,) = bind_cxx_functions(writer, decls.functions)
    g = funcs["g"]

    def kernel(out):
        out[0] = twice_f(out[0]) + g(out[0])

    # Two shim units (two preceding texts) reach chain.cuh: its definitions are kept in one
    # definitions unit only (a second copy would not link).
    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    texts = sorted(_definition_units(result).values(), key=lambda t: len(_kept_bodies(t)))
    assert len(texts) == 2
    first, second = map(_kept_bodies, texts)
    assert first == set()
    # What the other unit's `twice_f` reaches (f -> g -> h) and the chain unit's shims (`g`, and
    # those earlier tests of this module added to that unit).
    assert {"f", "g", "h", "h(float)", "from_inline"} <= second <= {"f", "g", "h", "h(float)", "from_inline", "calls_late", "late"}
    assert "{ return 2 * chain::f(x); }" in _view_of(texts[0], OTHER)
    assert not result.calls("_ZN5other7twice_fEi")


@pytest.mark.gpu
def test_a_device_function_s_calls_join_the_kernel_s_closure_on_gpu(chain):
    require_gpu()
    # A unit of its own (another preceding text): only this test's shims are in it.
    writer = MemoryShimWriter(f'#include "{CHAIN}"\n\n')
    funcs = {}
    for fn in bind_cxx_functions(writer, chain[0].functions):
        funcs.setdefault(fn.__name__, fn)
    calls_late, h = funcs["calls_late"], funcs["h"]

    @cuda.jit(device=True)
    def via_device_function(x):
        return calls_late(x)

    @cuda.jit
    def kernel(out):
        out[0] = via_device_function(out[0]) + h(out[0])

    x = 4
    d = cuda.to_device(np.array([x], dtype=np.int32))
    kernel[1, 1](d)
    assert d.copy_to_host().tolist() == [(x - 5 + 100) + (x + 3)]
    (overload,) = kernel.overloads.values()
    texts = [f.data for f in overload._codelibrary._linking_files if hasattr(f, "_nbst_linked_for")]
    assert len(texts) == 1 and _kept_bodies(texts[0]) == {"calls_late", "late", "h", "h(float)", "from_inline"}


@pytest.mark.gpu
def test_closure_units_values_on_gpu(chain):
    require_gpu()
    _, _, funcs = chain
    f, calls_late, wrapper = funcs["f"], funcs["calls_late"], funcs["wrapper"]

    @cuda.jit
    def kernel(out):
        out[1] = f(out[0])
        out[2] = calls_late(out[0])
        out[3] = wrapper(out[0])

    x = 4
    d = cuda.to_device(np.array([x, 0, 0, 0], dtype=np.int32))
    kernel[1, 1](d)
    assert d.copy_to_host().tolist() == [x, (x + 3) * 2 + 1, (x - 5) + 100, x * 10 - 1]

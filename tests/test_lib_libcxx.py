"""libcu++ (`cuda/std/*`) bound from its headers as users write kernels against it: class templates
with operators and free function templates.

- `cuda::std::complex<float>` and `<double>`: constructors, `real()`/`imag()`, `+ - * /` and unary
  `-` between complex values (free operator templates), `*` by a scalar, `+=` (a member operator),
  `==`, and the free function templates `abs`, `norm`, `arg`, `conj`, `exp`, `polar`;
- `cuda::std::pair<int, float>`: construction and the `first`/`second` fields (members of a base);
  `make_pair`, whose return type (`pair<unwrap_ref_decay_t<T1>, ...>`) the compiler names;
- `cuda::std::array<int, 4>`: `fill`, `a[i]` (a member `operator[]`), `size()`, `data()`;
- `cuda::std::tuple<int, float, long long>`: its constructor (a member parameter pack of the
  class's pack), `get<I>` (the pack deduced from the instance), `make_tuple` (its returned
  instance asked of the compiler, each element of the pack);
- `cuda::std::optional<int>`: constructed from a value (three constructor templates fit; SFINAE in
  their template parameter lists leaves one, which C++ picks in the shim) and empty;
  `has_value()`, `value_or()`;
- numbers: `numeric_limits<T>::max()/min()/epsilon()` (static members of a base of a class
  template), `gcd`, `lcm`, `min`, `max`, `clamp`, `sqrt`, `hypot`.

The declarations live in libcu++'s internal `__name/` folders, which are in the files to retain.
CPU tests link each kernel to a cubin (every shim inlined); `gpu` tests check values against NumPy.
Every test runs on both backends (the `backend` fixture: numba-cuda and numba-cuda-mlir).
"""

from __future__ import annotations

import glob
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import ast_canopy
import numpy as np
import pytest
from _helpers import stored_constants
from numba import cuda, float32, float64

ARCH = "sm_80"
N = 256
HEADERS = ["complex", "utility", "array", "limits", "numeric", "algorithm", "cmath", "optional", "tuple", "span"]


@pytest.fixture(scope="module")
def libcxx_decls(tmp_path_factory):
    """The parsed headers and their entry (one parse for both backends)."""
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    std = cccl / "cuda" / "std"
    entry = tmp_path_factory.mktemp("libcxx") / "libcxx.cuh"
    # min/max/clamp through their own headers: CCCL 13.0 has no public <cuda/std/algorithm>.
    algorithm = [f"__algorithm/{f}" for f in ("min.h", "max.h", "clamp.h")]
    public = [h for h in HEADERS if (std / h).is_file()]
    entry.write_text("".join(f"#include <cuda/std/{h}>\n" for h in public + algorithm))
    files = [str(std / h) for h in public]
    for folder in ("__complex", "__utility", "__array", "__limits", "__cmath", "__optional", "__tuple_dir"):
        files += glob.glob(str(std / folder / "*.h"))
    files += [str(std / "__numeric" / "gcd_lcm.h")] + [str(std / f) for f in algorithm]
    # CCCL 13.0 still defines complex, array, tuple and optional in its libcxx folder, behind the
    # public headers.
    libcxx = std / "detail" / "libcxx" / "include"
    files += [str(libcxx / h) for h in ("complex", "array", "tuple", "optional", "span") if (libcxx / h).is_file()]
    return ast_canopy.parse_declarations_from_source(str(entry), files, ARCH), entry


@pytest.fixture(scope="module")
def L(backend, libcxx_decls):
    decls, entry = libcxx_decls
    api = backend.api
    writer = api.MemoryShimWriter(f'#include "{entry}"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # internal helpers and host-only members are reported, not bound
        classes = api.bind_cxx_class_templates(decls.class_templates, None, writer)
        templates = api.bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
        functions = api.bind_cxx_functions(writer, decls.functions)
    ns = {"writer": writer}
    for obj in [*classes, *templates, *functions]:
        if obj is not None:
            ns.setdefault(obj.__name__.rsplit("::", 1)[-1], obj)
    return ns


@dataclass
class Case:
    kernel: object
    args: object  # () -> fresh numpy arguments
    check: object  # (host arrays after the launch) -> asserts
    launch: tuple = (N // 64, 64)  # blocks, threads


# ----------------------------------------------------------------------------- complex

COMPLEX_OUTPUTS = ["add", "sub", "mul", "div", "neg", "scaled", "iadd", "conj", "exp", "polar"]
REAL_OUTPUTS = ["abs", "norm", "arg", "eq", "real_imag"]


def complex_case(L, dtype):
    C = L["complex"][dtype]
    abs_, norm, arg, conj, exp, polar = L["abs"], L["norm"], L["arg"], L["conj"], L["exp"], L["polar"]
    scalar = float32 if dtype == np.float32 else float64

    def kernel(values, cout, rout):
        i = cuda.grid(1)
        a = C(values[i, 0], values[i, 1])
        b = C(values[i, 2], values[i, 3])
        results = (a + b, a - b, a * b, a / b, -a, a * scalar(2.5))
        for k in range(6):
            cout[i, k, 0] = results[k].real()
            cout[i, k, 1] = results[k].imag()
        c = a
        c += b  # the member operator+=: c is the updated copy, a is unchanged
        cout[i, 6, 0], cout[i, 6, 1] = c.real(), c.imag()
        d = conj(a)
        cout[i, 7, 0], cout[i, 7, 1] = d.real(), d.imag()
        e = exp(a)
        cout[i, 8, 0], cout[i, 8, 1] = e.real(), e.imag()
        p = polar(values[i, 2], values[i, 3])  # modulus, phase
        cout[i, 9, 0], cout[i, 9, 1] = p.real(), p.imag()
        rout[i, 0] = abs_(a)
        rout[i, 1] = norm(a)
        rout[i, 2] = arg(a)
        rout[i, 3] = 1.0 if a == C(values[i, 0], values[i, 1]) and a != b else 0.0
        rout[i, 4] = a.real() * 10.0 + a.imag()

    def args():
        rng = np.random.default_rng(7)
        values = rng.uniform(-2.0, 2.0, (N, 4)).astype(dtype)
        values[:, 2] = rng.uniform(0.5, 2.0, N)  # b away from zero (and a positive modulus for polar)
        return values, np.zeros((N, len(COMPLEX_OUTPUTS), 2), dtype), np.zeros((N, len(REAL_OUTPUTS)), dtype)

    def check(out):
        values, cout, rout = out
        a = values[:, 0].astype(np.complex128) + 1j * values[:, 1]
        b = values[:, 2].astype(np.complex128) + 1j * values[:, 3]
        expected = [a + b, a - b, a * b, a / b, -a, a * 2.5, a + b, np.conj(a), np.exp(a), values[:, 2] * np.exp(1j * values[:, 3])]
        rtol, atol = (1e-5, 1e-5) if dtype == np.float32 else (1e-12, 1e-12)
        got = cout[..., 0] + 1j * cout[..., 1]
        for k, name in enumerate(COMPLEX_OUTPUTS):
            np.testing.assert_allclose(got[:, k], expected[k], rtol=rtol, atol=atol, err_msg=name)
        real_expected = [np.abs(a), np.abs(a) ** 2, np.angle(a), np.ones(N), values[:, 0] * 10.0 + values[:, 1]]
        for k, name in enumerate(REAL_OUTPUTS):
            np.testing.assert_allclose(rout[:, k], real_expected[k], rtol=rtol, atol=atol, err_msg=name)

    return Case(kernel, args, check)


def test_complex_instantiations(backend, L):
    C, D = L["complex"][np.float32], L["complex"][np.float64]
    assert C.__name__ == "cuda::std::complex<float>" and (C.size, C.align) == (8, 8)
    assert D.__name__ == "cuda::std::complex<double>" and (D.size, D.align) == (16, 16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float", "double"])
def test_complex_links(backend, L, dtype):
    backend.link_case(complex_case(L, dtype), L["writer"])
    src = L["writer"].unit.source()
    spelled = "float" if dtype == np.float32 else "double"
    # The free operator template, called as C++ code calls it (its template argument deduced: written
    # out, CCCL 13.0 would instantiate `reverse_iterator<float>`), on qualified instance types.
    assert "::cuda::std::operator+(*__nbst_a0, *__nbst_a1)" in src
    assert f"__nbst_ptr<const cuda::std::complex<{spelled}>> __nbst_a0" in src
    assert re.search(r"__nbst_self->(template )?operator\+=(<\w+>)?\(\*__nbst_a0\)", src)  # the member operator


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float", "double"])
def test_complex_values(backend, L, dtype):
    backend.run_case(complex_case(L, dtype))


def test_complex_operator_on_mismatched_types_is_a_typing_error(backend, L):
    C, D = L["complex"][np.float32], L["complex"][np.float64]

    def kernel(out):
        out[0] = (C(1.0, 2.0) + D(1.0, 2.0)).real()  # C++ has no complex<float> + complex<double> either

    case = Case(kernel, lambda: (np.zeros(1, np.float32),), None)
    with pytest.raises(Exception, match="add"):
        backend.link_case(case, L["writer"])


# ----------------------------------------------------------------------------- tuple


def tuple_case(L):
    T3 = L["tuple"][np.int32, np.float32, np.int64]
    get, make_tuple = L["get"], L["make_tuple"]

    def kernel(values, ints, floats):
        i = cuda.grid(1)
        t = T3(values[i], float32(1.5), 7)
        ints[i, 0] = get[0](t)
        ints[i, 1] = get[2](t)
        floats[i, 0] = get[1](t)
        u = make_tuple(values[i] * 3, float32(2.5), np.int64(11))
        ints[i, 2] = get[0](u)
        floats[i, 1] = get[1](u)
        ints[i, 3] = get[2](u)

    def args():
        return np.arange(N, dtype=np.int32) - 9, np.zeros((N, 4), np.int32), np.zeros((N, 2), np.float32)

    def check(out):
        values, ints, floats = out
        np.testing.assert_array_equal(ints, np.stack([values, np.full(N, 7), values * 3, np.full(N, 11)], axis=1))
        np.testing.assert_array_equal(floats, np.stack([np.full(N, 1.5), np.full(N, 2.5)], axis=1))

    return Case(kernel, args, check)


def test_tuple_links(backend, L):
    backend.link_case(tuple_case(L), L["writer"])


def test_tuple_constants(backend, L):
    T3 = L["tuple"][np.int32, np.float32, np.int64]
    get, make_tuple = L["get"], L["make_tuple"]

    def kernel(out):
        t = T3(np.int32(4), np.float32(1.5), 7)
        out[0] = get[0](t) + get[2](t)
        out[1] = get[1](make_tuple(np.int32(1), np.int32(6), np.int32(2)))
        out[2] = get[2](make_tuple(np.int32(1), np.int32(6), np.int32(2)))

    assert stored_constants(backend.linked_ptx(kernel, (backend.types.int32[::1],))) == [11, 6, 2]


@pytest.mark.gpu
def test_tuple_values(backend, L):
    backend.run_case(tuple_case(L))


# ----------------------------------------------------------------------------- optional


def optional_case(L):
    O = L["optional"][np.int32]

    def kernel(values, out):
        i = cuda.grid(1)
        full = O(values[i])
        empty = O()
        out[i, 0] = full.has_value()
        out[i, 1] = full.value_or(-1)
        out[i, 2] = empty.has_value()
        out[i, 3] = empty.value_or(values[i] * 2)

    def args():
        return np.arange(N, dtype=np.int32) - 7, np.zeros((N, 4), np.int32)

    def check(out):
        values, got = out
        expected = np.stack([np.ones(N), values, np.zeros(N), values * 2], axis=1)
        np.testing.assert_array_equal(got, expected)

    return Case(kernel, args, check)


def test_optional_links(backend, L):
    backend.link_case(optional_case(L), L["writer"])


def test_optional_constants(backend, L):
    """Over constants the linked PTX stores the values: each call reached the right member."""
    O = L["optional"][np.int32]

    def kernel(out):
        out[0] = O(np.int32(5)).value_or(np.int32(7))
        out[1] = O().value_or(np.int32(9))
        out[2] = O(np.int32(5)).has_value()
        out[3] = O().has_value()

    assert stored_constants(backend.linked_ptx(kernel, (backend.types.int32[::1],))) == [5, 9, 1, 0]


@pytest.mark.gpu
def test_optional_values(backend, L):
    backend.run_case(optional_case(L))


# ----------------------------------------------------------------------------- pair and array


def pair_array_case(L):
    P = L["pair"][np.int32, np.float32]
    A = L["array"][np.int32, 4]
    make_pair = L["make_pair"]

    def kernel(ints, floats):
        i = cuda.grid(1)
        p = P(i, floats[i, 0])
        floats[i, 1] = p.first + p.second
        ints[i, 0] = p.first * 3
        m = make_pair(i * 2, floats[i, 0])  # a pair<long long, float>
        ints[i, 3] = m.first
        floats[i, 2] = m.second
        a = A()
        a.fill(i)
        ints[i, 1] = a[2] + a.size()
        ints[i, 2] = a.data()[3] * 2

    def args():
        return np.zeros((N, 4), np.int32), np.random.default_rng(3).uniform(0, 1, (N, 3)).astype(np.float32)

    def check(out):
        ints, floats = out
        idx = np.arange(N)
        np.testing.assert_allclose(floats[:, 1], idx + floats[:, 0], rtol=1e-6)
        np.testing.assert_array_equal(ints[:, 0], idx * 3)
        np.testing.assert_array_equal(ints[:, 1], idx + 4)
        np.testing.assert_array_equal(ints[:, 2], idx * 2)
        np.testing.assert_array_equal(ints[:, 3], idx * 2)
        np.testing.assert_array_equal(floats[:, 2], floats[:, 0])

    return Case(kernel, args, check)


def test_pair_fields_come_from_its_base(backend, L):
    P = L["pair"][np.int32, np.float32]
    assert P.__name__ == "cuda::std::pair<int, float>" and P.size == 8
    types = backend.types
    assert P._numba_type._nbst_owner._inherited_field("first") == (types.int32, 0)
    assert P._numba_type._nbst_owner._inherited_field("second") == (types.float32, 4)
    assert P._numba_type._nbst_owner._inherited_field("swap") is None  # a method, not a field


def test_pair_and_array_link(backend, L):
    backend.link_case(pair_array_case(L), L["writer"])
    src = L["writer"].unit.source()
    assert "__nbst_self->operator[](*__nbst_a0)" in src
    assert "::new (static_cast<void *>(__nbst_ret)) cuda::std::pair<long long, float>(::cuda::std::make_pair(" in src


@pytest.mark.gpu
def test_pair_and_array_values(backend, L):
    backend.run_case(pair_array_case(L))


def test_array_fill_changes_the_variable(backend, L):
    """`a.fill(x)` on a variable changes it (a non-const method's receiver is written back): with
    constants, the linked PTX stores what the filled array gives, not what a default-constructed
    one gives (`a[2] + a.size()` was 4 and `a.data()[3] * 2` was 0 when the fill was lost)."""
    A = L["array"][np.int32, 4]

    def kernel(out):
        a = A()
        a.fill(7)
        out[0] = a[2] + a.size()
        out[1] = a.data()[3] * 2
        b = A()
        for k in range(3):  # in a loop, each fill replaces the last
            b.fill(k + 1)
        out[2] = b[0] + b[3]

    ptx = backend.linked_ptx(backend.kernel(kernel), (backend.types.int32[::1],))
    stored = stored_constants(ptx)
    if backend.name == "mlir":  # numba-cuda-mlir keeps the loop: its store is not a constant
        assert stored[:2] == [11, 14] and stored[2] in (6, None)
    else:
        assert stored == [11, 14, 6]


def test_swap_and_exchange_change_their_arguments(backend, L):
    """`cuda::std::swap(a, b)` and `exchange(c, v)` change the variables and array elements they
    are given (non-const references written back). `swap(_Tp &, type_identity_t<_Tp> &)`'s second
    parameter is a non-deduced context, as in C++: `_Tp` comes from the first."""
    swap, exchange = L["swap"], L["exchange"]
    int32, float32 = backend.types.int32, backend.types.float32

    def kernel(out):
        a = int32(1)
        b = int32(2)
        swap(a, b)
        out[0] = a * 10 + b
        c = float32(3.0)
        old = exchange(c, float32(7.0))
        out[1] = int32(old) * 10 + int32(c)
        buf = cuda.local.array(2, int32)
        buf[0] = 4
        buf[1] = 5
        swap(buf[0], buf[1])
        out[2] = buf[0] * 10 + buf[1]

    ptx = backend.linked_ptx(backend.kernel(kernel), (backend.types.int32[::1],))
    assert stored_constants(ptx) == [21, 37, 54]


# ----------------------------------------------------------------------------- numbers


def numbers_case(L):
    IL, FL = L["numeric_limits"][np.int32], L["numeric_limits"][np.float32]
    gcd, lcm, smin, smax, clamp, sqrt, hypot = L["gcd"], L["lcm"], L["min"], L["max"], L["clamp"], L["sqrt"], L["hypot"]
    fmax, fmin, fabs = L["fmax"], L["fmin"], L["fabs"]

    def kernel(ints, iout, floats, fout):
        i = cuda.grid(1)
        x, y = ints[i, 0], ints[i, 1]
        iout[i, 0] = gcd(x, y)
        iout[i, 1] = lcm(x, y)
        iout[i, 2] = smin(x, y)
        iout[i, 3] = smax(x, y)
        iout[i, 4] = clamp(x, 20, 60)
        iout[i, 5] = IL.max() - x
        iout[i, 6] = IL.min() + y
        fout[i, 0] = sqrt(floats[i, 0])
        fout[i, 1] = hypot(floats[i, 0], floats[i, 1])
        fout[i, 2] = FL.epsilon()
        # `fmax(T, T)` over `fmax(T, U)` (partial ordering); on ints libcu++ returns double
        fout[i, 3] = fmax(floats[i, 0], floats[i, 1])
        fout[i, 4] = fmin(floats[i, 0], floats[i, 1])
        fout[i, 5] = fmax(x, y)
        fout[i, 6] = fabs(floats[i, 0] - floats[i, 1])

    def args():
        rng = np.random.default_rng(11)
        ints = rng.integers(1, 100, (N, 2)).astype(np.int32)
        floats = rng.uniform(0, 10, (N, 2)).astype(np.float32)
        return ints, np.zeros((N, 7), np.int32), floats, np.zeros((N, 7), np.float32)

    def check(out):
        ints, iout, floats, fout = out
        x, y = ints[:, 0].astype(np.int64), ints[:, 1].astype(np.int64)
        np.testing.assert_array_equal(iout[:, 0], np.gcd(x, y))
        np.testing.assert_array_equal(iout[:, 1], np.lcm(x, y))
        np.testing.assert_array_equal(iout[:, 2], np.minimum(x, y))
        np.testing.assert_array_equal(iout[:, 3], np.maximum(x, y))
        np.testing.assert_array_equal(iout[:, 4], np.clip(x, 20, 60))
        np.testing.assert_array_equal(iout[:, 5], np.iinfo(np.int32).max - x)
        np.testing.assert_array_equal(iout[:, 6], np.iinfo(np.int32).min + y)
        np.testing.assert_allclose(fout[:, 0], np.sqrt(floats[:, 0]), rtol=1e-6)
        np.testing.assert_allclose(fout[:, 1], np.hypot(floats[:, 0], floats[:, 1]), rtol=1e-6)
        assert np.all(fout[:, 2] == np.finfo(np.float32).eps)
        f0, f1 = floats[:, 0], floats[:, 1]
        np.testing.assert_array_equal(fout[:, 3], np.fmax(f0, f1))
        np.testing.assert_array_equal(fout[:, 4], np.fmin(f0, f1))
        np.testing.assert_array_equal(fout[:, 5], np.maximum(x, y).astype(np.float32))
        np.testing.assert_array_equal(fout[:, 6], np.abs(f0 - f1))

    return Case(kernel, args, check)


def test_numbers_link(backend, L):
    backend.link_case(numbers_case(L), L["writer"])
    if backend.name != "mlir":  # the typing is shared; numba-cuda compiles a device function alone
        fmax, fabs, t = L["fmax"], L["fabs"], backend.types

        def result_type(fn, argtys):
            return cuda.compile(fn, argtys, device=True, output="ltoir", cc=(8, 0))[1]

        # C++'s result types: the float overloads take float32 as it is, the integral one is double
        assert result_type(lambda a, b: fmax(a, b), (t.float32, t.float32)) == t.float32
        assert result_type(lambda a, b: fmax(a, b), (t.int32, t.int32)) == t.float64
        assert result_type(lambda a: fabs(a), (t.float32,)) == t.float32
    src = L["writer"].unit.source()
    assert "::cuda::std::numeric_limits<int>::max()" in src  # a static member of a base class
    assert "::cuda::std::gcd(*__nbst_a0, *__nbst_a1)" in src


@pytest.mark.gpu
def test_numbers_values(backend, L):
    backend.run_case(numbers_case(L))


def test_operator_templates_follow_argument_dependent_lookup(backend, L, tmp_path):
    """`cuda::std::rel_ops::operator>` (`T > T` for any T) is not found for a struct of another
    namespace, as C++ finds it only by argument-dependent lookup or a using-directive."""
    header = tmp_path / "elsewhere.cuh"
    header.write_text("namespace elsewhere {\nstruct Plain {\n  int v;\n  __device__ Plain(int x) : v(x) {}\n};\n}\n")
    decls = ast_canopy.parse_declarations_from_source(str(header), [str(header)], ARCH)
    writer = backend.api.MemoryShimWriter(f'#include "{header}"')
    (Plain,) = backend.api.bind_cxx_structs(writer, decls.structs)
    C = L["complex"][np.float32]

    def kernel(out):
        out[0] = 1 if Plain(1) > Plain(2) else 0

    with pytest.raises(Exception, match="gt"):
        backend.link_case(Case(kernel, lambda: (np.zeros(1, np.int32),), None), writer)

    def kernel_ok(out):
        out[0] = 1 if C(1.0, 0.0) != C(2.0, 0.0) else 0  # cuda::std's own operator template

    backend.link_case(Case(kernel_ok, lambda: (np.zeros(1, np.int32),), None), L["writer"])


# ----------------------------------------------------------------------------- span


def span_case(L):
    if "span" not in L:
        pytest.skip("cuda::std::span is not defined in the files this CCCL's fixture reads")
    span = L["span"][np.int32]

    def kernel(a, out):
        s = span(a, a.size)
        out[0] = s[1] + s.size()
        sub = s.subspan(1, 2)  # `span<int, dynamic_extent>`: the instance `span<int>` itself
        out[1] = sub.front() * 10 + sub.size()
        out[2] = s.first(3).back()
        out[3] = s.subspan(1, 3).subspan(1, 1)[0]

    def check(out):
        assert out[1].tolist() == [6 + 5, 62, 7, 7]

    return Case(kernel, lambda: (np.arange(5, 10, dtype=np.int32), np.zeros(4, np.int32)), check, launch=(1, 1))


def test_span_links(backend, L):
    backend.link_case(span_case(L), L["writer"])


@pytest.mark.gpu
def test_span_values(backend, L):
    backend.run_case(span_case(L))


def test_span_store_through_operator_is_refused_and_its_pointer_writes(backend, L):
    """`s[i] = v` is refused with what to do instead (a bound value has no address, so the store
    would land in a copy); writing through the view's pointer reaches the array."""
    if "span" not in L:
        pytest.skip("cuda::std::span is not defined in the files this CCCL's fixture reads")
    span = L["span"][np.int32]

    def refused(a):
        s = span(a, a.size)
        s[1] = 5

    argtys = (backend.typeof(np.zeros(4, np.int32)),)
    with pytest.raises(Exception, match=r"`a\[i\] = v` on cuda::std::span<int> \(a bound C\+\+ value\) is not supported"):
        backend.link(refused, argtys, L["writer"])

    def through_pointer(a):
        s = span(a, a.size)
        p = s.data()
        p[1] = 5

    backend.link(through_pointer, argtys, L["writer"])

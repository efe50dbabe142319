"""CUB's warp primitives (`cub/warp/`) as users write kernels against them: WarpReduce, WarpScan,
WarpExchange, WarpLoad, WarpStore and WarpMergeSort, with one TempStorage per warp in a shared
array indexed by the warp's id (`WarpScan(temp[warp_id])`), items per thread in local arrays, and
the function objects of `cuda/std/functional` and `cuda/functional` (`cuda::std::plus<int>`,
`cuda::maximum<int>`, `cuda::std::less<int>`) constructed in the kernel as operators.

CPU tests compile and link each kernel to a cubin (every shim inlined); `gpu` tests launch it and
compare with NumPy. Every kernel test runs on both backends (the `backend` fixture: numba-cuda and
numba-cuda-mlir). Template arguments are positional, so the same kernels serve CCCL versions that
spell the parameters differently (`LogicalWarpThreads`, `LOGICAL_WARP_THREADS`).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import ast_canopy
import numbast
import numpy as np
import pytest
from _helpers import link_case
from ast_canopy import parse_declarations_from_source
from numba import cuda, int32
from test_templates import Case

ARCH = "sm_80"
WARP = 32
WARPS = 4  # per block
HALF_WARPS = 2 * WARPS  # logical warps of 16 threads per block
BLOCK = WARP * WARPS
BLOCKS = 8
N = BLOCK * BLOCKS
ITEMS = 4  # items per thread
TILE = WARP * ITEMS  # items per warp
# The kernels of ITEMS items per thread (exchange, load/store, merge sort) cover the N items with
# fewer blocks: a launch of BLOCKS blocks would read and write ITEMS times past the arrays' ends.
TILE_BLOCKS = N // (WARPS * TILE)
assert TILE_BLOCKS * WARPS * TILE == N

PRIMITIVES = {
    "warp_reduce": "cub::WarpReduce",
    "warp_scan": "cub::WarpScan",
    "warp_exchange": "cub::WarpExchange",
    "warp_load": "cub::WarpLoad",
    "warp_store": "cub::WarpStore",
    "warp_merge_sort": "cub::WarpMergeSort",
}
FUNCTORS = ("cuda::std::plus", "cuda::std::less", "cuda::std::greater", "cuda::maximum")
OUTPUTS = {"InclusiveSum": {"inclusive_output": "out_return"}, "ExclusiveSum": {"exclusive_output": "out_return"},
           "InclusiveScan": {"inclusive_output": "out_return"}}  # fmt: skip
INTENTS = {"WarpScan": OUTPUTS}


@pytest.fixture(scope="module")
def warp_decls(tmp_path_factory):
    """The primitives' and the function objects' class templates, and the functors' entry header
    (one parse for both backends)."""
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    decls = []
    for header, qual_name in PRIMITIVES.items():
        path = cccl / "cub" / "warp" / f"{header}.cuh"
        decls += [t for t in parse_declarations_from_source(str(path), [str(path)], ARCH).class_templates
                  if t.qual_name == qual_name]  # fmt: skip
    assert sorted(t.qual_name for t in decls) == sorted(PRIMITIVES.values())
    # The function objects: class templates of two libcu++ headers, reached through their umbrellas.
    entry = tmp_path_factory.mktemp("functors") / "functors.cuh"
    entry.write_text("#include <cuda/std/functional>\n#include <cuda/functional>\n")
    files = [cccl / "cuda" / "std" / "__functional" / "operations.h", cccl / "cuda" / "__functional" / "maximum.h"]
    functors = [t for t in parse_declarations_from_source(str(entry), [str(f) for f in files], ARCH).class_templates
                if t.qual_name in FUNCTORS]  # fmt: skip
    return decls, functors, entry


@pytest.fixture(scope="module")
def W(backend, warp_decls):
    decls, functors, entry = warp_decls
    api = backend.api
    writer = api.MemoryShimWriter("".join(f"#include <cub/warp/{h}.cuh>\n" for h in PRIMITIVES) + entry.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every member of the six primitives binds
        bound = api.bind_cxx_class_templates(decls, None, writer, arg_intent=INTENTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)  # their operator() is the compiler's to call
        bound += api.bind_cxx_class_templates(functors, None, writer)
    return dict(writer=writer, **{t.__name__.rsplit("::", 1)[1]: t for t in bound})


def test_every_warp_primitive_is_bound(backend, W):
    for qual_name in [*PRIMITIVES.values(), *FUNCTORS]:
        assert W[qual_name.rsplit("::", 1)[1]].__name__ == qual_name


def test_temp_storage_of_every_primitive(backend, W):
    """Each instantiation has its TempStorage: declared in the class (WarpReduce's is a nested
    struct in CCCL 3.0 and an alias of `Uninitialized<_TempStorage>` in later CCCL), or inherited
    (WarpMergeSort's comes from BlockMergeSortStrategy)."""
    instances = [W["WarpReduce"][np.int32], W["WarpReduce"][np.int32, 16], W["WarpScan"][np.int32],
                 W["WarpExchange"][np.int32, ITEMS, WARP], W["WarpLoad"][np.int32, ITEMS, "WARP_LOAD_TRANSPOSE"],
                 W["WarpStore"][np.int32, ITEMS, "WARP_STORE_TRANSPOSE"], W["WarpMergeSort"][np.int32, ITEMS]]  # fmt: skip
    sizes = {}
    for ci in instances:
        ts = ci.TempStorage._numba_type
        assert ts._nbst_size > 0 and ts._nbst_align > 0, ci.cxx
        sizes[ci.cxx] = ts._nbst_size
    # The shared-memory exchanges hold a warp's tile of items.
    for ci in instances[3:]:
        assert sizes[ci.cxx] >= TILE * 4, ci.cxx
    with pytest.raises(AttributeError, match="no accessible member type `NoSuchStorage`"):
        getattr(W["WarpMergeSort"][np.int32, ITEMS], "NoSuchStorage")  # noqa: B009


def warp_values(seed, n=N, low=-1000, high=1000):
    return np.random.default_rng(seed).integers(low, high, n).astype(np.int32)


# ----------------------------------------------------------------------------- WarpReduce


def reduce_case(W):
    """Warp sums, a maximum with `cuda::maximum<int>`, and sums over logical warps of 16 threads
    with `cuda::std::plus<int>`; each result is valid in the first lane of its (logical) warp."""
    WR = W["WarpReduce"][np.int32]
    WR16 = W["WarpReduce"][np.int32, 16]
    TempStorage, TempStorage16 = WR.TempStorage, WR16.TempStorage
    maximum, plus = W["maximum"], W["plus"]

    def kernel(values, sums, maxima, sums16):
        temp = cuda.shared.array(WARPS, TempStorage)
        temp16 = cuda.shared.array(HALF_WARPS, TempStorage16)
        i = cuda.grid(1)
        warp_id = cuda.threadIdx.x // 32
        lane = cuda.threadIdx.x % 32
        x = values[i]
        total = WR(temp[warp_id]).Sum(x)
        cuda.syncwarp()  # the storage is reused
        biggest = WR(temp[warp_id]).Reduce(x, maximum[np.int32]())
        half = WR16(temp16[cuda.threadIdx.x // 16]).Reduce(x, plus[np.int32]())
        if lane == 0:
            sums[i // 32] = total
            maxima[i // 32] = biggest
        if lane % 16 == 0:
            sums16[i // 16] = half

    def args():
        return warp_values(10), np.zeros(N // 32, np.int32), np.zeros(N // 32, np.int32), np.zeros(N // 16, np.int32)

    def check(a):
        values, sums, maxima, sums16 = a
        np.testing.assert_array_equal(sums, values.reshape(-1, 32).sum(axis=1))
        np.testing.assert_array_equal(maxima, values.reshape(-1, 32).max(axis=1))
        np.testing.assert_array_equal(sums16, values.reshape(-1, 16).sum(axis=1))

    return Case(kernel, args, check, launch=(BLOCKS, BLOCK))


def test_warp_reduce_links(backend, W):
    backend.link_case(reduce_case(W), W["writer"])
    source = W["writer"].unit.source()
    assert "__nbst_self->template Reduce<cuda::maximum<int>>(*__nbst_a0, *__nbst_a1)" in source
    assert "__nbst_self->template Reduce<cuda::std::plus<int>>(*__nbst_a0, *__nbst_a1)" in source


@pytest.mark.gpu
def test_warp_reduce_runs(backend, W):
    backend.run_case(reduce_case(W))


# ----------------------------------------------------------------------------- WarpScan


def scan_case(W):
    """Inclusive and exclusive warp prefix sums (outputs returned), and an inclusive running
    maximum with `cuda::maximum<int>`."""
    WS = W["WarpScan"][np.int32]
    TempStorage = WS.TempStorage
    maximum = W["maximum"]

    def kernel(values, inclusive, exclusive, running_max):
        temp = cuda.shared.array(WARPS, TempStorage)
        i = cuda.grid(1)
        scan = WS(temp[cuda.threadIdx.x // 32])
        inclusive[i] = scan.InclusiveSum(values[i])
        cuda.syncwarp()
        exclusive[i] = scan.ExclusiveSum(values[i])
        cuda.syncwarp()
        running_max[i] = scan.InclusiveScan(values[i], maximum[np.int32]())

    def args():
        n = np.zeros(N, np.int32)
        return warp_values(11), n, n.copy(), n.copy()

    def check(a):
        values, inclusive, exclusive, running_max = a
        warps = values.reshape(-1, 32)
        expected = np.cumsum(warps, axis=1, dtype=np.int32)
        np.testing.assert_array_equal(inclusive.reshape(-1, 32), expected)
        np.testing.assert_array_equal(exclusive.reshape(-1, 32), expected - warps)  # 0 in lane 0
        np.testing.assert_array_equal(running_max.reshape(-1, 32), np.maximum.accumulate(warps, axis=1))

    return Case(kernel, args, check, launch=(BLOCKS, BLOCK))


def test_warp_scan_links(backend, W):
    backend.link_case(scan_case(W), W["writer"])


@pytest.mark.gpu
def test_warp_scan_runs(backend, W):
    backend.run_case(scan_case(W))


# ----------------------------------------------------------------------------- WarpExchange


def exchange_case(W):
    """BlockedToStriped on a local array loaded blocked (lane t holds items 4t..4t+3 of its warp's
    tile), and StripedToBlocked on one loaded striped (lane t holds items t, t+32, t+64, t+96),
    both in place, through shared-memory storage of each warp."""
    WE = W["WarpExchange"][np.int32, ITEMS, WARP]
    TempStorage = WE.TempStorage

    def kernel(values, striped, blocked):
        temp = cuda.shared.array(WARPS, TempStorage)
        warp_id = cuda.threadIdx.x // 32
        lane = cuda.threadIdx.x % 32
        tile = (cuda.blockIdx.x * WARPS + warp_id) * 128
        items = cuda.local.array(4, int32)
        for j in range(4):
            items[j] = values[tile + lane * 4 + j]
        WE(temp[warp_id]).BlockedToStriped(items, items)
        for j in range(4):
            striped[tile + lane * 4 + j] = items[j]
        cuda.syncwarp()  # the storage is reused
        for j in range(4):
            items[j] = values[tile + lane + 32 * j]
        WE(temp[warp_id]).StripedToBlocked(items, items)
        for j in range(4):
            blocked[tile + lane * 4 + j] = items[j]

    def args():
        return warp_values(12), np.zeros(N, np.int32), np.zeros(N, np.int32)

    def check(a):
        values, striped, blocked = a
        tiles = values.reshape(-1, ITEMS, WARP)  # [tile, j, lane] is item lane + 32 j
        # Lane t, item j of the striped result is item t + 32 j of the tile.
        np.testing.assert_array_equal(striped.reshape(-1, WARP, ITEMS), tiles.transpose(0, 2, 1))
        np.testing.assert_array_equal(blocked, values)

    return Case(kernel, args, check, launch=(TILE_BLOCKS, BLOCK))


def test_warp_exchange_links(backend, W):
    if backend.name == "mlir":
        backend.link_case(exchange_case(W), W["writer"])
        return
    result = link_case(exchange_case(W), W["writer"])  # numba-cuda's link gives the linked PTX too
    # `temp[warp_id]` is the shared element itself: no copy of the 516-byte storage in local memory.
    assert re.search(r"\b(st|ld)\.local\b", result.ptx) is None


@pytest.mark.gpu
def test_warp_exchange_runs(backend, W):
    backend.run_case(exchange_case(W))


# ----------------------------------------------------------------------------- WarpLoad, WarpStore


def load_store_case(W):
    """Each warp loads its tile of 128 items (4 per lane, blocked) and stores them changed: a direct
    load with a transposing store (through shared memory, one TempStorage per warp), then a
    transposing load with a direct store."""
    WL = W["WarpLoad"][np.int32, ITEMS]  # WARP_LOAD_DIRECT, the default
    WLT = W["WarpLoad"][np.int32, ITEMS, "WARP_LOAD_TRANSPOSE"]
    WSt = W["WarpStore"][np.int32, ITEMS]  # WARP_STORE_DIRECT
    WStT = W["WarpStore"][np.int32, ITEMS, "WARP_STORE_TRANSPOSE"]
    LoadStorage, StoreStorage = WLT.TempStorage, WStT.TempStorage

    def kernel(values, out1, out2):
        load_temp = cuda.shared.array(WARPS, LoadStorage)
        store_temp = cuda.shared.array(WARPS, StoreStorage)
        warp_id = cuda.threadIdx.x // 32
        lane = cuda.threadIdx.x % 32
        tile = (cuda.blockIdx.x * WARPS + warp_id) * 128
        items = cuda.local.array(4, int32)
        WL().Load(values[tile:], items)
        for j in range(4):
            items[j] = items[j] * 2 + lane
        WStT(store_temp[warp_id]).Store(out1[tile:], items)
        WLT(load_temp[warp_id]).Load(values[tile:], items)
        for j in range(4):
            items[j] = items[j] * 3 - lane
        WSt().Store(out2[tile:], items)

    def args():
        return warp_values(13), np.zeros(N, np.int32), np.zeros(N, np.int32)

    def check(a):
        values, out1, out2 = a
        lane = (np.arange(N) % TILE) // ITEMS  # the blocked arrangement
        np.testing.assert_array_equal(out1, values * 2 + lane)
        np.testing.assert_array_equal(out2, values * 3 - lane)

    return Case(kernel, args, check, launch=(TILE_BLOCKS, BLOCK))


def test_warp_load_and_store_link(backend, W):
    backend.link_case(load_store_case(W), W["writer"])


@pytest.mark.gpu
def test_warp_load_and_store_run(backend, W):
    backend.run_case(load_store_case(W))


# ----------------------------------------------------------------------------- WarpMergeSort


def merge_sort_case(W):
    """Each warp sorts its 128 keys (4 per lane, blocked) ascending with `cuda::std::less<int>`,
    then descending with `cuda::std::greater<int>`. Sort is a member of the base class
    BlockMergeSortStrategy; the keys bind to its `KeyT (&keys)[ItemsPerThread]`."""
    WMS = W["WarpMergeSort"][np.int32, ITEMS]
    TempStorage = WMS.TempStorage
    less, greater = W["less"], W["greater"]

    def kernel(values, ascending, descending):
        temp = cuda.shared.array(WARPS, TempStorage)
        warp_id = cuda.threadIdx.x // 32
        base = cuda.grid(1) * 4
        keys = cuda.local.array(4, int32)
        for j in range(4):
            keys[j] = values[base + j]
        WMS(temp[warp_id]).Sort(keys, less[np.int32]())
        for j in range(4):
            ascending[base + j] = keys[j]
        cuda.syncwarp()  # the storage is reused
        WMS(temp[warp_id]).Sort(keys, greater[np.int32]())
        for j in range(4):
            descending[base + j] = keys[j]

    def args():
        return warp_values(14, low=-(1 << 30), high=1 << 30), np.zeros(N, np.int32), np.zeros(N, np.int32)

    def check(a):
        values, ascending, descending = a
        expected = np.sort(values.reshape(-1, TILE), axis=1)
        np.testing.assert_array_equal(ascending.reshape(-1, TILE), expected)
        np.testing.assert_array_equal(descending.reshape(-1, TILE), expected[:, ::-1])

    return Case(kernel, args, check, launch=(TILE_BLOCKS, BLOCK))


def test_warp_merge_sort_links(backend, W):
    backend.link_case(merge_sort_case(W), W["writer"])
    source = W["writer"].unit.source()
    assert "cub::WarpMergeSort<int, 4>(*__nbst_a0)" in source  # the shared element, by reference
    assert "__nbst_self->Sort(__nbst_items(*__nbst_a0), *__nbst_a1)" in source


@pytest.mark.gpu
def test_warp_merge_sort_runs(backend, W):
    backend.run_case(merge_sort_case(W))


# ----------------------------------------------------------------------------- array elements


def test_element_of_opaque_struct_array_is_a_reference(backend, W):
    """`temp[w]` on an array of an opaque struct is the element: a template's reference parameter
    is given its address; where a value is needed (a store, a by-value use) it is a copy."""
    WS = W["WarpScan"][np.int32]
    TempStorage = WS.TempStorage
    ts = TempStorage._numba_type

    def kernel(values, out):
        temp = cuda.shared.array(2, TempStorage)
        local = cuda.local.array(1, TempStorage)
        local[0] = temp[1]  # converts to a copy
        i = cuda.grid(1)
        out[i] = WS(temp[cuda.threadIdx.x // 32]).InclusiveSum(values[i])

    I32 = backend.typeof(np.zeros(1, np.int32))
    backend.link(kernel, (I32, I32), W["writer"])
    refs = [k for k in WS._calls if k[0] != "typed"]
    assert [getattr(k[0], "_nbst_ref_of", None) for k in refs] == [ts]  # the constructor took the element

    def by_value(values, out):
        temp = cuda.shared.array(2, TempStorage)
        out[0] = values.size
        x = temp[0]
        temp[1] = x

    backend.link(by_value, (I32, I32), W["writer"])

"""CUB's block primitives as users write kernels against them, beyond the BlockScan, BlockReduce,
BlockLoad, BlockStore and BlockRadixSort cases of test_templates.py: BlockExchange,
BlockHistogram, BlockDiscontinuity, BlockShuffle, BlockAdjacentDifference, BlockRunLengthDecode,
BlockMergeSort, and BlockReduce with an operator object.

Temporary storage is `cuda.shared.array(1, Cls.TempStorage)`, items per thread are local arrays,
and the operators CUB takes are libcu++'s function objects (`cuda::std::less<int>`,
`cuda::maximum<int>`), class templates bound from their headers and constructed in the kernel
(`less[np.int32]()`). Template arguments are positional, so the same kernels fit CUB 3.x
(`BlockDimX`) and older CUB (`BLOCK_DIM_X`). The CPU tests compile and link each kernel to a cubin;
the `gpu` tests launch it and compare with NumPy. Every kernel test runs on both backends (the
`backend` fixture: numba-cuda and numba-cuda-mlir).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ast_canopy
import numbast
import numpy as np
import pytest
from ast_canopy import parse_declarations_from_source
from numba import cuda, int32, uint8, uint32

ARCH = "sm_80"
BLOCK = 128
ITEMS = 4  # items per thread
TILE = BLOCK * ITEMS
BLOCKS = 8

FAMILIES = {
    "block_exchange": "BlockExchange",
    "block_histogram": "BlockHistogram",
    "block_discontinuity": "BlockDiscontinuity",
    "block_shuffle": "BlockShuffle",
    "block_adjacent_difference": "BlockAdjacentDifference",
    "block_run_length_decode": "BlockRunLengthDecode",
    "block_merge_sort": "BlockMergeSort",
    "block_reduce": "BlockReduce",
}
# The function objects, from the headers that define them (`<cuda/std/functional>` and
# `<cuda/functional>` include these).
FUNCTORS = {
    "cuda/std/__functional/operations.h": ["cuda::std::plus", "cuda::std::minus", "cuda::std::less",
                                           "cuda::std::not_equal_to"],
    "cuda/__functional/maximum.h": ["cuda::maximum"],
}  # fmt: skip


def parse(path):
    return parse_declarations_from_source(str(path), [str(path)], ARCH)


@pytest.fixture(scope="module")
def cub_decls():
    """The parsed class templates (one parse for both backends)."""
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    decls = []
    for header, name in FAMILIES.items():
        decls += [t for t in parse(cccl / "cub" / "block" / f"{header}.cuh").class_templates if t.qual_name == f"cub::{name}"]
    for header, names in FUNCTORS.items():
        decls += [t for t in parse(cccl / header).class_templates if t.qual_name in names]
    wanted = [f"cub::{n}" for n in FAMILIES.values()] + [n for names in FUNCTORS.values() for n in names]
    assert sorted(t.qual_name for t in decls) == sorted(wanted)
    return decls


@pytest.fixture(scope="module")
def CUB(backend, cub_decls):
    source = "".join(f"#include <cub/block/{h}.cuh>\n" for h in FAMILIES)
    writer = backend.api.MemoryShimWriter(source + "#include <cuda/std/functional>\n#include <cuda/functional>\n")
    with warnings.catch_warnings():
        # The function objects' operator() is not bound (a member operator of a class template);
        # CUB calls it, the kernels only construct the objects.
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        bound = backend.api.bind_cxx_class_templates(cub_decls, None, writer)
    return dict(writer=writer, **{t.__name__.rsplit("::", 1)[1]: t for t in bound})


@dataclass
class Case:
    kernel: Callable
    args: Callable[[], tuple]  # fresh numpy arguments
    check: Callable[[tuple], None]  # asserts on the arguments after a launch
    launch: tuple = (BLOCKS, BLOCK)  # blocks, threads


def rng(seed):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- the kernels


def exchange_case(CUB):
    """StripedToBlocked in place (one array) on a striped load, BlockedToStriped into a second
    array (the member template with `OutputT`) on a blocked load: each stored back in the other
    arrangement, the tile comes out as it went in."""
    BE = CUB["BlockExchange"][np.int32, BLOCK, ITEMS]
    TempStorage = BE.TempStorage

    def kernel(values, from_striped, from_blocked):
        temp = cuda.shared.array(1, TempStorage)
        items = cuda.local.array(ITEMS, int32)
        other = cuda.local.array(ITEMS, int32)
        t, base = cuda.threadIdx.x, cuda.blockIdx.x * TILE
        for j in range(ITEMS):
            items[j] = values[base + j * BLOCK + t]
        BE(temp).StripedToBlocked(items)
        for j in range(ITEMS):
            from_striped[base + t * ITEMS + j] = items[j]
        cuda.syncthreads()  # the storage is reused
        for j in range(ITEMS):
            items[j] = values[base + t * ITEMS + j]
        BE(temp).BlockedToStriped(items, other)
        for j in range(ITEMS):
            from_blocked[base + j * BLOCK + t] = other[j]

    def args():
        values = rng(0).integers(-1000, 1000, BLOCKS * TILE).astype(np.int32)
        return values, np.zeros_like(values), np.zeros_like(values)

    def check(a):
        values, from_striped, from_blocked = a
        np.testing.assert_array_equal(from_striped, values)
        np.testing.assert_array_equal(from_blocked, values)

    return Case(kernel, args, check)


BINS = 256


def histogram_case(CUB):
    """Histogram of uint8 samples into a shared-memory bin array (CUB's default sort-based
    algorithm), and InitHistogram + Composite with BLOCK_HISTO_ATOMIC into a second one."""
    BH = CUB["BlockHistogram"][np.uint8, BLOCK, ITEMS, BINS]
    BHA = CUB["BlockHistogram"][np.uint8, BLOCK, ITEMS, BINS, "BLOCK_HISTO_ATOMIC"]
    TempStorage = BH.TempStorage

    def kernel(samples, sorted_counts, atomic_counts):
        temp = cuda.shared.array(1, TempStorage)
        bins = cuda.shared.array(BINS, uint32)
        atomic_bins = cuda.shared.array(BINS, uint32)
        items = cuda.local.array(ITEMS, uint8)
        t, base = cuda.threadIdx.x, cuda.blockIdx.x * TILE
        for j in range(ITEMS):
            items[j] = samples[base + t * ITEMS + j]
        BH(temp).Histogram(items, bins)
        histo = BHA()
        histo.InitHistogram(atomic_bins)
        cuda.syncthreads()
        histo.Composite(items, atomic_bins)
        cuda.syncthreads()
        for b in range(t, BINS, BLOCK):
            sorted_counts[cuda.blockIdx.x * BINS + b] = bins[b]
            atomic_counts[cuda.blockIdx.x * BINS + b] = atomic_bins[b]

    def args():
        samples = rng(1).integers(0, 64, BLOCKS * TILE).astype(np.uint8)  # a skewed range: empty bins too
        samples[:TILE] = 7  # one tile of a single value: one full bin
        return samples, np.zeros(BLOCKS * BINS, np.uint32), np.zeros(BLOCKS * BINS, np.uint32)

    def check(a):
        samples, sorted_counts, atomic_counts = a
        expected = np.stack([np.bincount(tile, minlength=BINS) for tile in samples.reshape(-1, TILE)]).astype(np.uint32)
        np.testing.assert_array_equal(sorted_counts.reshape(-1, BINS), expected)
        np.testing.assert_array_equal(atomic_counts.reshape(-1, BINS), expected)

    return Case(kernel, args, check)


def discontinuity_case(CUB):
    """FlagHeads and FlagTails with `cuda::std::not_equal_to<int>`: the first item of the tile is
    always a head, the last always a tail."""
    BD = CUB["BlockDiscontinuity"][np.int32, BLOCK]
    TempStorage = BD.TempStorage
    not_equal_to = CUB["not_equal_to"]

    def kernel(values, heads, tails):
        temp = cuda.shared.array(1, TempStorage)
        items = cuda.local.array(ITEMS, int32)
        flags = cuda.local.array(ITEMS, int32)
        base = cuda.blockIdx.x * TILE + cuda.threadIdx.x * ITEMS
        for j in range(ITEMS):
            items[j] = values[base + j]
        BD(temp).FlagHeads[ITEMS](flags, items, not_equal_to[np.int32]())
        for j in range(ITEMS):
            heads[base + j] = flags[j]
        cuda.syncthreads()  # the storage is reused
        BD(temp).FlagTails[ITEMS](flags, items, not_equal_to[np.int32]())
        for j in range(ITEMS):
            tails[base + j] = flags[j]

    def args():
        values = np.repeat(rng(2).integers(0, 3, BLOCKS * TILE // 2), 2).astype(np.int32)  # runs of 2 and more
        values[TILE + 1 :: 7] += 5  # runs that cross threads' item boundaries
        return values, np.zeros_like(values), np.zeros_like(values)

    def check(a):
        values, heads, tails = a
        tiles = values.reshape(-1, TILE)
        change = tiles[:, 1:] != tiles[:, :-1]
        first = np.ones((tiles.shape[0], 1), bool)
        np.testing.assert_array_equal(heads.reshape(-1, TILE), np.hstack([first, change]).astype(np.int32))
        np.testing.assert_array_equal(tails.reshape(-1, TILE), np.hstack([change, first]).astype(np.int32))

    return Case(kernel, args, check)


def shuffle_case(CUB):
    """Offset by +3 and -2 (threads whose source is outside the block keep their output), Rotate
    by 5 (wraps around), Up and Down on a blocked local array."""
    BSh = CUB["BlockShuffle"][np.int32, BLOCK]
    TempStorage = BSh.TempStorage

    def kernel(values, offsets, rotated, up, down):
        temp = cuda.shared.array(1, TempStorage)
        out = cuda.local.array(1, int32)
        items = cuda.local.array(ITEMS, int32)
        prev = cuda.local.array(ITEMS, int32)
        t = cuda.threadIdx.x
        i = cuda.blockIdx.x * BLOCK + t
        x = values[i * ITEMS]
        out[0] = -1
        BSh(temp).Offset(x, out, 3)
        offsets[2 * i] = out[0]
        cuda.syncthreads()  # the storage is reused
        out[0] = -1
        BSh(temp).Offset(x, out, -2)
        offsets[2 * i + 1] = out[0]
        cuda.syncthreads()
        BSh(temp).Rotate(x, out, uint32(5))
        rotated[i] = out[0]
        cuda.syncthreads()
        for j in range(ITEMS):
            items[j] = values[i * ITEMS + j]
            prev[j] = -1
        BSh(temp).Up[ITEMS](items, prev)
        for j in range(ITEMS):
            up[i * ITEMS + j] = prev[j]
            prev[j] = -1
        cuda.syncthreads()
        BSh(temp).Down[ITEMS](items, prev)
        for j in range(ITEMS):
            down[i * ITEMS + j] = prev[j]

    def args():
        values = rng(3).integers(0, 1 << 20, BLOCKS * TILE).astype(np.int32)
        n = BLOCKS * BLOCK
        return (values, np.zeros(2 * n, np.int32), np.zeros(n, np.int32), np.zeros_like(values),
                np.zeros_like(values))  # fmt: skip

    def check(a):
        values, offsets, rotated, up, down = a
        first = values[::ITEMS].reshape(-1, BLOCK)  # each thread's x
        plus3 = np.full_like(first, -1)
        plus3[:, :-3] = first[:, 3:]
        minus2 = np.full_like(first, -1)
        minus2[:, 2:] = first[:, :-2]
        np.testing.assert_array_equal(offsets.reshape(-1, BLOCK, 2), np.stack([plus3, minus2], axis=-1))
        np.testing.assert_array_equal(rotated.reshape(-1, BLOCK), np.roll(first, -5, axis=1))
        tiles = values.reshape(-1, TILE)
        expected_up = np.full_like(tiles, -1)
        expected_up[:, 1:] = tiles[:, :-1]  # prev[0] of thread 0 is not written
        expected_down = np.full_like(tiles, -1)
        expected_down[:, :-1] = tiles[:, 1:]  # nor the last item of the last thread
        np.testing.assert_array_equal(up.reshape(-1, TILE), expected_up)
        np.testing.assert_array_equal(down.reshape(-1, TILE), expected_down)

    return Case(kernel, args, check)


def adjacent_difference_case(CUB):
    """SubtractLeft with `cuda::std::minus<int>`: each item minus its predecessor in the tile, the
    tile's first item kept."""
    BAD = CUB["BlockAdjacentDifference"][np.int32, BLOCK]
    TempStorage = BAD.TempStorage
    minus = CUB["minus"]

    def kernel(values, out):
        temp = cuda.shared.array(1, TempStorage)
        items = cuda.local.array(ITEMS, int32)
        diffs = cuda.local.array(ITEMS, int32)
        base = cuda.blockIdx.x * TILE + cuda.threadIdx.x * ITEMS
        for j in range(ITEMS):
            items[j] = values[base + j]
        BAD(temp).SubtractLeft[ITEMS](items, diffs, minus[np.int32]())
        for j in range(ITEMS):
            out[base + j] = diffs[j]

    def args():
        values = rng(4).integers(-(1 << 20), 1 << 20, BLOCKS * TILE).astype(np.int32)
        return values, np.zeros_like(values)

    def check(a):
        values, out = a
        tiles = values.reshape(-1, TILE)
        expected = np.hstack([tiles[:, :1], tiles[:, 1:] - tiles[:, :-1]])
        np.testing.assert_array_equal(out.reshape(-1, TILE), expected)

    return Case(kernel, args, check)


RUNS = 2  # runs per thread
DECODED = 4  # decoded items per thread and window
WINDOW = BLOCK * DECODED


def run_length_decode_case(CUB):
    """BlockRunLengthDecode constructed from run values and lengths (its template constructor,
    the total size written to a one-element local array), then decoded window by window, with
    each item's offset in its run."""
    RLD = CUB["BlockRunLengthDecode"][np.int32, BLOCK, RUNS, DECODED]
    TempStorage = RLD.TempStorage

    def kernel(run_values, run_lengths, decoded, relative, sizes):
        temp = cuda.shared.array(1, TempStorage)
        values = cuda.local.array(RUNS, int32)
        lengths = cuda.local.array(RUNS, uint32)
        total = cuda.local.array(1, uint32)
        items = cuda.local.array(DECODED, int32)
        offsets = cuda.local.array(DECODED, uint32)
        t, block = cuda.threadIdx.x, cuda.blockIdx.x
        for j in range(RUNS):
            values[j] = run_values[(block * BLOCK + t) * RUNS + j]
            lengths[j] = run_lengths[(block * BLOCK + t) * RUNS + j]
        rld = RLD(temp, values, lengths, total)
        size = total[0]
        if t == 0:
            sizes[block] = size
        window = uint32(0)
        while window < size:
            rld.RunLengthDecode(items, offsets, window)
            for j in range(DECODED):
                k = window + t * DECODED + j
                if k < size:
                    decoded[block * 3 * BLOCK * RUNS + k] = items[j]
                    relative[block * 3 * BLOCK * RUNS + k] = offsets[j]
            window += WINDOW

    def args():
        n = BLOCKS * BLOCK * RUNS
        run_values = rng(5).integers(-1000, 1000, n).astype(np.int32)
        run_lengths = rng(6).integers(1, 4, n).astype(np.uint32)  # 1 to 3: a block decodes 1 to 2 windows
        run_lengths[n - 5 :] = 0  # trailing empty runs are allowed
        capacity = BLOCKS * 3 * BLOCK * RUNS
        return (run_values, run_lengths, np.zeros(capacity, np.int32), np.zeros(capacity, np.uint32),
                np.zeros(BLOCKS, np.uint32))  # fmt: skip

    def check(a):
        run_values, run_lengths, decoded, relative, sizes = a
        per_block = BLOCK * RUNS
        for b in range(BLOCKS):
            v, n = run_values[b * per_block : (b + 1) * per_block], run_lengths[b * per_block : (b + 1) * per_block]
            size = int(n.sum())
            assert sizes[b] == size
            row = slice(b * 3 * per_block, b * 3 * per_block + size)
            np.testing.assert_array_equal(decoded[row], np.repeat(v, n))
            np.testing.assert_array_equal(relative[row], np.concatenate([np.arange(k) for k in n]).astype(np.uint32))

    return Case(kernel, args, check)


def merge_sort_case(CUB):
    """BlockMergeSort (whose Sort comes from its base class BlockMergeSortStrategy) with
    `cuda::std::less<int>`: sorted tiles of 512 keys, 4 per thread in a local array."""
    BMS = CUB["BlockMergeSort"][np.int32, BLOCK, ITEMS]
    TempStorage = BMS.TempStorage
    less = CUB["less"]

    def kernel(values, out):
        temp = cuda.shared.array(1, TempStorage)
        keys = cuda.local.array(ITEMS, int32)
        base = cuda.blockIdx.x * TILE + cuda.threadIdx.x * ITEMS
        for j in range(ITEMS):
            keys[j] = values[base + j]
        BMS(temp).Sort(keys, less[np.int32]())
        for j in range(ITEMS):
            out[base + j] = keys[j]

    def args():
        values = rng(7).integers(-(1 << 30), 1 << 30, BLOCKS * TILE).astype(np.int32)
        return values, np.zeros_like(values)

    def check(a):
        values, out = a
        np.testing.assert_array_equal(out.reshape(-1, TILE), np.sort(values.reshape(-1, TILE), axis=1))

    return Case(kernel, args, check)


def reduce_op_case(CUB):
    """BlockReduce's Reduce with an operator object: `cuda::maximum<int>` on one item per thread,
    `cuda::std::plus<int>` on a local array of items per thread."""
    BR = CUB["BlockReduce"][np.int32, BLOCK]
    TempStorage = BR.TempStorage
    maximum, plus = CUB["maximum"], CUB["plus"]

    def kernel(values, maxima, sums):
        temp = cuda.shared.array(1, TempStorage)
        items = cuda.local.array(ITEMS, int32)
        t, block = cuda.threadIdx.x, cuda.blockIdx.x
        base = block * TILE + t * ITEMS
        for j in range(ITEMS):
            items[j] = values[base + j]
        top = BR(temp).Reduce(items[0], maximum[np.int32]())
        cuda.syncthreads()  # the storage is reused
        total = BR(temp).Reduce[ITEMS](items, plus[np.int32]())
        if t == 0:  # the aggregate is valid in thread 0
            maxima[block] = top
            sums[block] = total

    def args():
        values = rng(8).integers(-1000, 1000, BLOCKS * TILE).astype(np.int32)
        return values, np.zeros(BLOCKS, np.int32), np.zeros(BLOCKS, np.int32)

    def check(a):
        values, maxima, sums = a
        tiles = values.reshape(-1, TILE)
        np.testing.assert_array_equal(maxima, tiles[:, ::ITEMS].max(axis=1))
        np.testing.assert_array_equal(sums, tiles.sum(axis=1, dtype=np.int32))

    return Case(kernel, args, check)


CASES = {
    "exchange": exchange_case,
    "histogram": histogram_case,
    "discontinuity": discontinuity_case,
    "shuffle": shuffle_case,
    "adjacent_difference": adjacent_difference_case,
    "run_length_decode": run_length_decode_case,
    "merge_sort": merge_sort_case,
    "reduce_op": reduce_op_case,
}


@pytest.mark.parametrize("family", CASES)
def test_cub_block_primitive_links(backend, CUB, family):
    backend.link_case(CASES[family](CUB), CUB["writer"])


@pytest.mark.gpu
@pytest.mark.parametrize("family", CASES)
def test_cub_block_primitive_runs(backend, CUB, family):
    backend.run_case(CASES[family](CUB))


# ----------------------------------------------------------------------------- what CUB needs of the runtime

BLOCK_LIKE = Path(__file__).resolve().parent / "headers" / "templates_dyn" / "block_like.cuh"


@pytest.fixture(scope="module")
def BLK(backend):
    decls = parse(BLOCK_LIKE).class_templates
    writer = backend.api.MemoryShimWriter(f'#include "{BLOCK_LIKE}"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)  # Times::operator()
        bound = backend.api.bind_cxx_class_templates(decls, None, writer)
    return dict(writer=writer, **{t.__name__.rsplit("::", 1)[1]: t for t in bound})


def block_like_case(BLK):
    """`Staged(storage)` through a member alias of a private record; `Fill[3]` and `Sum[3]`, member
    templates whose extent is given in the kernel; `Scaled`'s storage, `Scale` (an array by
    reference) and `Last` (an array as a pointer) from its base."""
    ST, SC, Times = BLK["Staged"][np.int32, 32], BLK["Scaled"][np.int32, 3], BLK["Times"]
    Storage, ScaledStorage = ST.Storage, SC.Storage

    def kernel(out):
        storage = cuda.shared.array(1, Storage)
        scaled_storage = cuda.shared.array(1, ScaledStorage)
        items = cuda.local.array(3, int32)
        t = cuda.threadIdx.x
        st = ST(storage)
        st.Fill[3](items, Times[np.int32](t))  # 0, t, 2t
        out[5 * t] = st.Sum[3](items)
        scaled = SC(scaled_storage)
        scaled.Scale(items, Times[np.int32](10))  # items[i] += 10 i
        for j in range(3):
            out[5 * t + 1 + j] = items[j]
        out[5 * t + 4] = scaled.Last(items)

    def check(a):
        (out,) = a
        t = np.arange(32)[:, None]
        scaled = (t + 10) * np.arange(3)  # 10 i added to t i
        expected = np.hstack([3 * t, scaled, scaled[:, 2:]])  # the Sum of 0, t, 2t first; Last at the end
        np.testing.assert_array_equal(out.reshape(32, 5), expected)

    return Case(kernel, lambda: (np.zeros(5 * 32, np.int32),), check, launch=(1, 32))


def test_member_alias_explicit_member_arguments_and_inherited_members_link(backend, BLK):
    backend.link_case(block_like_case(BLK), BLK["writer"])
    source = BLK["writer"].unit.source()
    # The constructor's storage is named by the alias, never by its private target.
    assert "__nbst_ptr<blk::Staged<int, 32>::Storage> __nbst_a0" in source and "_Storage>" not in source
    assert (
        "__nbst_self->template Sum<3>(*__nbst_a0)" in source
        and "__nbst_self->template Fill<3, blk::Times<int>>(*__nbst_a0, *__nbst_a1)" in source
    )
    # The base's storage through the derived class; the array reaches the inherited member as its data.
    assert "__nbst_ptr<blk::Scaled<int, 3>::Storage> __nbst_a0" in source
    assert "__nbst_ptr<int *> __nbst_a0" in source and "__nbst_self->Scale(__nbst_items(*__nbst_a0), *__nbst_a1)" in source
    assert "__nbst_self->Last(__nbst_items(*__nbst_a0))" in source


@pytest.mark.gpu
def test_member_alias_explicit_member_arguments_and_inherited_members_run(backend, BLK):
    backend.run_case(block_like_case(BLK))


def test_explicit_member_template_argument_of_the_wrong_kind_is_named(backend, BLK):
    ST = BLK["Staged"][np.int32, 32]
    Storage = ST.Storage

    def kernel(out):
        storage = cuda.shared.array(1, Storage)
        items = cuda.local.array(3, int32)
        out[0] = ST(storage).Sum[np.int32](items)

    with pytest.raises(Exception) as e:
        backend.link_case(Case(kernel, lambda: (np.zeros(1, np.int32),), None), BLK["writer"])
    assert "takes the template arguments" in str(e.value)
    assert "non-type template parameter `N`" in str(e.value)


def test_scalar_typedefs_in_defaults_stay_global(backend, CUB):
    """A default written in namespace `cub` is qualified (by the renderer) for use outside it, but
    `uint32_t` is a global name (BlockRunLengthDecode's `DecodedOffsetT = uint32_t`)."""
    type_defaults = [p.default for p in CUB["BlockRunLengthDecode"]._tparams if p.kind == "type" and p.default]
    assert type_defaults == ["uint32_t"]
    algorithm = CUB["BlockHistogram"]._tparams[4]  # BlockHistogramAlgorithm, named by CUB version
    assert algorithm.default == "cub::BLOCK_HISTO_SORT"

"""The GPU harness's guard bands (`_backends._Guarded`): a kernel's write past either end of an
array argument fails the test and names the argument; writes inside it come back. Checked on the
CPU with a stand-in for `cuda.to_device` (a NumPy array that has `copy_to_host`)."""

from __future__ import annotations

import types

import numpy as np
import pytest
from _backends import _guardable, _Guarded


class _HostDevice(np.ndarray):
    def copy_to_host(self):
        return np.array(self)


fake_cuda = types.SimpleNamespace(to_device=lambda a: np.array(a).view(_HostDevice))


def guarded(a):
    assert _guardable(a)
    return _Guarded(fake_cuda, a)


def test_writes_inside_come_back_with_shape_and_dtype():
    g = guarded(np.arange(12, dtype=np.int32).reshape(3, 4))
    g.view[2, 3] = 99
    got = g.result(0)
    assert got.dtype == np.int32 and got.shape == (3, 4)
    assert got[2, 3] == 99 and got[0, 1] == 1


@pytest.mark.parametrize("offset, where", [(1, "past the end of"), (-1, "before")])
def test_a_write_outside_names_the_argument(offset, where):
    a = np.zeros(1000, dtype=np.float32)  # 4000 bytes: bands of 4096
    g = guarded(a)
    flat = g.whole
    at = g.band + a.nbytes if offset > 0 else g.band - 4
    flat[at : at + 4] = 0
    with pytest.raises(AssertionError, match=f"wrote {where} argument 2 \\(float32\\[1000\\]"):
        g.result(2)


def test_what_is_not_guarded():
    assert not _guardable(np.zeros(0, np.int32))
    assert not _guardable(np.zeros((4, 4), np.int32, order="F"))
    assert not _guardable(np.zeros(3, object))
    assert not _guardable(3)

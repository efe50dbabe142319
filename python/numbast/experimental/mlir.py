"""`numbast.experimental.mlir`: the numba-cuda-mlir backend under the existing Numbast's name; the
same module object as `numbast.mlir`."""

import sys

from numbast import mlir as _mlir

sys.modules[__name__] = _mlir

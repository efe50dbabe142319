"""The existing Numbast's module path for the shim writers."""

from numbast._dynamic import FileShimWriter, MemoryShimWriter

__all__ = ["FileShimWriter", "MemoryShimWriter"]

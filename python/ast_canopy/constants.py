"""The existing Numbast's module path for the layout sentinels."""

from ast_canopy import INVALID_ALIGN_OF, INVALID_SIZE_OF

__all__ = ["INVALID_ALIGN_OF", "INVALID_SIZE_OF"]

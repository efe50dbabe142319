"""Names the existing Numbast uses for experimental parts (`numbast.experimental.mlir`)."""

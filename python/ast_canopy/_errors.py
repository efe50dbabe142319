"""Exceptions raised by ast_canopy; the Rust core raises these classes by name."""


class ParseError(Exception):
    """clang reported errors; ``diagnostics`` lists each as ``file:line:col: message``."""

    def __init__(self, message, diagnostics=()):
        super().__init__(message, list(diagnostics))

    @property
    def diagnostics(self):
        return self.args[1]

    def __str__(self):
        return self.args[0]


class ToolchainError(RuntimeError):
    """libclang, its resource headers or the CUDA headers could not be found or loaded."""

    def __init__(self, message, _unused=()):
        super().__init__(message)

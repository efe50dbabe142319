"""PEP 517 backend: maturin, building wheels for the manylinux tag named in pyproject.toml.

Through pip, maturin tags wheels for the build machine only (`linux_x86_64`). This backend passes
`[tool.maturin] compatibility` on instead, and where the build machine's glibc is newer than that
tag allows it links with zig (the `ziglang` wheel, added to the build requirements), so that
`pip wheel .` gives the same wheel on any Linux host. Arguments given through
`MATURIN_PEP517_ARGS` or `--config-settings maturin.build-args=...` are left as they are.
"""

from __future__ import annotations

import os
import re
import sys

import maturin
from maturin import (  # noqa: F401 (hooks passed through unchanged)
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

ZIGLANG = "ziglang>=0.17,<0.18"


def _glibc(text: str):
    match = re.search(r"(\d+)[._](\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _target_glibc():
    """The glibc version of the configured manylinux tag (None: no tag, or not a glibc tag)."""
    tag = maturin.get_config().get("compatibility")
    if not isinstance(tag, str) or not tag.startswith("manylinux_"):
        return None, None
    return tag, _glibc(tag)


def _host_glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return _glibc(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return None  # musl


def _user_args(config_settings) -> bool:
    settings = config_settings or {}
    return bool(os.getenv("MATURIN_PEP517_ARGS") or "maturin.build-args" in settings or "build-args" in settings)


def _needs_zig(config_settings) -> bool:
    tag, target = _target_glibc()
    host = _host_glibc()
    return not _user_args(config_settings) and tag is not None and host is not None and host > target


def _zig_binary():
    try:
        import ziglang
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(ziglang.__file__), "zig")
    return path if os.path.exists(path) else None


def _wheel_settings(config_settings):
    """`config_settings` with the maturin arguments for the configured tag."""
    tag, _ = _target_glibc()
    if _user_args(config_settings) or tag is None or _host_glibc() is None:
        return config_settings
    args = ["--compatibility", tag]
    if _needs_zig(config_settings):
        zig = _zig_binary()
        if zig is None:
            print(
                f"numbast build: this machine's glibc is newer than {tag} allows and `ziglang` is not "
                "installed; building a wheel for this machine only",
                file=sys.stderr,
            )
            return config_settings
        os.environ.setdefault("CARGO_ZIGBUILD_ZIG_PATH", zig)
        args.append("--zig")
    return {**(config_settings or {}), "maturin.build-args": args}


def get_requires_for_build_wheel(config_settings=None):
    requires = list(maturin.get_requires_for_build_wheel(config_settings))
    if _needs_zig(config_settings):
        requires.append(ZIGLANG)
    return requires


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return maturin.build_wheel(wheel_directory, _wheel_settings(config_settings), metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)

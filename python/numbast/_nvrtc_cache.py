"""Numbast runtime, NVRTC cache: a content-addressed disk cache of what NVRTC compiles for Numbast
(shim units, to LTO-IR or PTX, and the template runtime's layout probes, to PTX).

An entry's key hashes the unit's text, its name, the NVRTC version, the compute capability, the
output kind and options, the include path, and the content (SHA-256) of every header the unit can
read. NVRTC cannot list the headers it read, so they are found by following the `#include` lines
of the text and of each header found, through the same include path, with preprocessor conditions
ignored: a superset of what NVRTC reads, so a change to any header it read changes the key. A unit
that reaches a computed include (`#include MACRO(x)`, which only the preprocessor can resolve) is
not cached. Headers NVRTC ships inside itself are covered by its version.

The cache lives in `<root>/nvrtc`, beside the parse cache (`<root>/parse`): `AST_CANOPY_CACHE_DIR`
moves the root (default `$XDG_CACHE_HOME/ast_canopy`, else `~/.cache/ast_canopy`),
`AST_CANOPY_NO_CACHE=1` turns both caches off, `NUMBAST_NVRTC_CACHE_MAX_MB` bounds this one
(default 2048; the least recently used entries go first). Entries are written to a temporary file
and renamed, so concurrent processes see a whole entry or none; each carries the SHA-256 of its
payload, and one that does not match (corrupt, truncated) is ignored, never loaded, and rewritten.
A folder that cannot be written (read-only, full) turns writing off for the process with one
warning; compiling goes on uncached.

A unit whose text and headers name nothing that NVRTC's `-minimal` mode leaves out (the CUDA
runtime's `cuda...` names and types, textures and surfaces, launches from device code: no
`cudaX...`, `texND`/`surfND`, `texture<`, `surface<` or `<<<` in any of them; the toolkit's headers
that declare those are not counted) is compiled with `-minimal`, which halves NVRTC's fixed cost for a small unit (about 35 to 18 ms on a 2-core
machine); if NVRTC rejects it there, it is compiled again without, and that result (or error) is
what the kernel gets.

Both backends compile shim units through it: each backend's NVRTC module (numba-cuda's, or the
copy numba-cuda-mlir carries) gets its `compile` wrapped (`_nc_hook_nvrtc`), so that a unit, when a
kernel's link compiles it, is answered from the cache, whatever the linker asked for (LTO-IR or
PTX, the compute capability, line info or debug).

Static mode pastes this text before the runtime's, so it imports only the standard library here;
each backend's modules are given to it by that backend's runtime. Every module-level name starts
with `_nc_`/`_Nc`.
"""

import contextlib as _nc_contextlib
import hashlib as _nc_hashlib
import os as _nc_os
import re as _nc_re
import tempfile as _nc_tempfile
import threading as _nc_threading
import warnings as _nc_warnings

_NC_FORMAT = b"numbast-nvrtc-cache-1"
_NC_MAGIC = b"NBNVRTC1"
_NC_DEFAULT_MAX_MB = 2048
_NC_INCLUDE = _nc_re.compile(rb'^[ \t]*#[ \t]*(include|include_next)[ \t]*([<"])([^>"\r\n]+)[>"]', _nc_re.MULTILINE)
_NC_COMPUTED = _nc_re.compile(rb"^[ \t]*#[ \t]*(?:include|include_next)[ \t]+[A-Za-z_]", _nc_re.MULTILINE)
# Both of the above in one pass, found from their `#` (a literal the search skips to, five times
# faster than the line-anchored forms over CCCL's headers); `_nc_scan` checks what precedes it.
_NC_DIRECTIVE = _nc_re.compile(rb'#[ \t]*(include_next|include)(?:[ \t]*([<"])([^>"\r\n]+)[>"]|[ \t]+([A-Za-z_]))')
# A name that NVRTC's `-minimal` mode leaves out; a unit that can read one is compiled without it.
_NC_RUNTIME_NAME = _nc_re.compile(rb"\bcuda[A-Z]|\b(?:tex|surf)(?:[123]D|Cubemap)|\b(?:texture|surface)[ \t]*<|<<<")
# The CUDA toolkit headers that declare the runtime API, its types, textures and surfaces: they are
# what `-minimal` leaves out, so reaching one does not by itself turn `-minimal` off.
_NC_RUNTIME_DECLARATIONS = frozenset(
    [
        "cuda_runtime.h",
        "cuda_runtime_api.h",
        "cuda_device_runtime_api.h",
        "driver_types.h",
        "device_types.h",
        "surface_types.h",
        "texture_types.h",
        "texture_fetch_functions.h",
        "texture_indirect_functions.h",
        "surface_functions.h",
        "surface_indirect_functions.h",
    ]
)
_NC_LOCK = _nc_threading.Lock()
# path -> (mtime_ns, size, digest, [(directive, quote, name)], has a computed include, names a
# runtime name)
_NC_FILES = {}
_NC_STATS = {"hits": 0, "misses": 0, "uncacheable": 0, "corrupt": 0, "writes": 0, "evicted": 0, "minimal": 0, "minimal_fallbacks": 0}
_NC_STATE = {"write_disabled": False}


class NcCacheWarning(UserWarning):
    """The NVRTC cache folder cannot be written: compiling goes on without the cache."""


def _nc_truthy(value):
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _nc_enabled():
    return not _nc_truthy(_nc_os.environ.get("AST_CANOPY_NO_CACHE"))


def _nc_root():
    """The cache root shared with the parse cache (see crates/canopy/src/toolchain.rs)."""
    root = _nc_os.environ.get("AST_CANOPY_CACHE_DIR")
    if root:
        return root
    xdg = _nc_os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return _nc_os.path.join(xdg, "ast_canopy")
    return _nc_os.path.join(_nc_os.path.expanduser("~"), ".cache", "ast_canopy")


def _nc_dir():
    return _nc_os.path.join(_nc_root(), "nvrtc")


def _nc_max_bytes():
    raw = _nc_os.environ.get("NUMBAST_NVRTC_CACHE_MAX_MB")
    try:
        mb = float(raw) if raw else _NC_DEFAULT_MAX_MB
    except ValueError:
        _nc_warnings.warn(f"NUMBAST_NVRTC_CACHE_MAX_MB={raw!r} is not a number; using {_NC_DEFAULT_MAX_MB}", NcCacheWarning, stacklevel=3)
        mb = _NC_DEFAULT_MAX_MB
    return max(0, int(mb * 1024 * 1024))


# ----------------------------------------------------------------------------- headers a unit reads


def _nc_file(path):
    """(digest, includes, computed, runtime) of the header at `path` (`_nc_scan`), memoized while
    its stat is unchanged; None if it cannot be read."""
    try:
        st = _nc_os.stat(path)
    except OSError:
        return None
    memo = _NC_FILES.get(path)
    if memo is not None and memo[0] == st.st_mtime_ns and memo[1] == st.st_size:
        return memo[2:]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    entry = (st.st_mtime_ns, st.st_size, _nc_hashlib.sha256(data).hexdigest(), *_nc_scan(data))
    _NC_FILES[path] = entry
    return entry[2:]


def _nc_scan(data):
    """The include lines of `data` (bytes), [(directive, quote, name)], whether it has a computed
    include (what `_NC_INCLUDE` and `_NC_COMPUTED` find, in one pass), and whether it names
    something `-minimal` leaves out (`_NC_RUNTIME_NAME`)."""
    includes, computed = [], False
    for m in _NC_DIRECTIVE.finditer(data):
        start = m.start()
        if data[data.rfind(b"\n", 0, start) + 1 : start].strip(b" \t"):
            continue  # not the first thing on its line
        if m[4] is not None:
            computed = True
        else:
            includes.append((m[1], m[2], m[3].strip()))
    return includes, computed, _NC_RUNTIME_NAME.search(data) is not None


def _nc_resolve(directive, quote, name, from_dir, include_dirs):
    """The files an include line can name: the first match on the search path (`"..."` starts in
    the including file's folder); every match for `#include_next`."""
    if _nc_os.path.isabs(name):
        return [name] if _nc_os.path.isfile(name) else []
    dirs = ([from_dir] if quote == b'"' and from_dir else []) + list(include_dirs)
    found = []
    for d in dirs:
        p = _nc_os.path.normpath(_nc_os.path.join(d, name))
        if _nc_os.path.isfile(p):
            found.append(p)
            if directive == b"include":
                break
    return found


def _nc_headers(text, include_dirs):
    """[(path, sha256)] of every header reachable from `text` (bytes) through its include lines,
    sorted; None if one of them has a computed include."""
    return _nc_walk(text, include_dirs)[0]


def _nc_walk(text, include_dirs):
    """(`_nc_headers(text, include_dirs)`, whether `text` or one of those headers names something
    `-minimal` leaves out)."""
    seen = {}
    runtime = False
    # An include line resolves the same way wherever it is met in one walk (a quoted one, in the
    # same folder): CCCL's headers repeat their include lines about six times over.
    resolved = {}
    stack = [(None, text)]
    while stack:
        from_dir, data = stack.pop()
        if data is None:
            continue
        if isinstance(data, tuple):
            _, includes, computed, uses = data
        else:
            includes, computed, uses = _nc_scan(data)
        if computed:
            return None, True
        if not isinstance(data, tuple):
            runtime = runtime or uses  # the unit's own text; a header's flag is taken where it is found
        for directive, quote, raw in includes:
            key = (directive, quote, raw, from_dir if quote == b'"' else None)
            paths = resolved.get(key)
            if paths is None:
                name = raw.decode("utf-8", "surrogateescape")
                paths = resolved[key] = _nc_resolve(directive, quote, name, from_dir, include_dirs)
            for path in paths:
                if path in seen:
                    continue
                info = _nc_file(path)
                if info is None:
                    continue
                seen[path] = info[0]
                # The CUDA runtime's own declaration headers declare what `-minimal` leaves out;
                # reaching them is no use of it (cuda_fp16.h reaches them, and compiles there).
                runtime = runtime or (info[3] and _nc_os.path.basename(path) not in _NC_RUNTIME_DECLARATIONS)
                stack.append((_nc_os.path.dirname(path), info))
    return sorted(seen.items()), runtime


def _nc_key(text, parts, include_dirs):
    """The entry key of `text` (str) compiled with `parts` (strings), or None if uncacheable."""
    data = text.encode("utf-8", "surrogateescape")
    return _nc_key_of(data, _nc_headers(data, include_dirs), parts, include_dirs)


def _nc_key_of(data, headers, parts, include_dirs):
    """`_nc_key` of `data` (bytes) whose headers are `headers` (`_nc_headers`)."""
    if headers is None:
        return None
    h = _nc_hashlib.sha256(_NC_FORMAT)
    for p in [
        data,
        *(str(x).encode("utf-8", "surrogateescape") for x in parts),
        *(d.encode("utf-8", "surrogateescape") for d in include_dirs),
    ]:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    for path, digest in headers:
        h.update(b"\0" + path.encode("utf-8", "surrogateescape") + b"\0" + digest.encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- entries on disk


def _nc_entry_path(key):
    return _nc_os.path.join(_nc_dir(), key[:2], key[2:] + ".bin")


def _nc_read(key):
    """The payload stored under `key`, or None (absent, or failing the hash check)."""
    path = _nc_entry_path(key)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    head = len(_NC_MAGIC) + 32
    if len(blob) >= head and blob[: len(_NC_MAGIC)] == _NC_MAGIC:
        payload = blob[head:]
        if _nc_hashlib.sha256(payload).digest() == blob[len(_NC_MAGIC) : head]:
            with _nc_contextlib.suppress(OSError):
                _nc_os.utime(path)  # least recently used goes first
            return payload
    _NC_STATS["corrupt"] += 1
    return None


def _nc_disable_writes(error):
    if not _NC_STATE["write_disabled"]:
        _NC_STATE["write_disabled"] = True
        _nc_warnings.warn(
            f"the NVRTC cache folder {_nc_dir()} cannot be written ({error}); NVRTC output is not cached in this process",
            NcCacheWarning,
            stacklevel=4,
        )


def _nc_write(key, payload):
    """Store `payload` under `key` atomically (a temporary file renamed over the entry)."""
    if _NC_STATE["write_disabled"]:
        return
    path = _nc_entry_path(key)
    tmp = None
    try:
        _nc_os.makedirs(_nc_os.path.dirname(path), exist_ok=True)
        fd, tmp = _nc_tempfile.mkstemp(prefix=".tmp-", dir=_nc_os.path.dirname(path))
        with _nc_os.fdopen(fd, "wb") as f:
            f.write(_NC_MAGIC + _nc_hashlib.sha256(payload).digest() + payload)
        _nc_os.replace(tmp, path)
        tmp = None
    except OSError as e:
        _nc_disable_writes(e)
        return
    finally:
        if tmp is not None:
            with _nc_contextlib.suppress(OSError):
                _nc_os.unlink(tmp)
    _NC_STATS["writes"] += 1
    _nc_evict(_nc_max_bytes())


def _nc_entries():
    """[(mtime, size, path)] of every entry (and stale temporary file) in the cache."""
    out = []
    try:
        subdirs = list(_nc_os.scandir(_nc_dir()))
    except OSError:
        return out
    for sub in subdirs:
        if not sub.is_dir():
            continue
        try:
            for e in _nc_os.scandir(sub.path):
                try:
                    st = e.stat()
                except OSError:
                    continue
                out.append((st.st_mtime, st.st_size, e.path))
        except OSError:
            continue
    return out


def _nc_evict(limit):
    """Delete the least recently used entries until the cache holds at most 90% of `limit` bytes."""
    entries = _nc_entries()
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return
    for _, size, path in sorted(entries):
        try:
            _nc_os.unlink(path)
        except OSError:
            continue
        _NC_STATS["evicted"] += 1
        total -= size
        if total <= limit * 0.9:
            break


def nvrtc_cache_stats():
    """This process's counts (hits, misses, uncacheable, corrupt, writes, evicted; units compiled
    with `-minimal`, and those NVRTC rejected there), the hit rate, and the cache's folder, entry
    count and size on disk."""
    entries = _nc_entries()
    looked = _NC_STATS["hits"] + _NC_STATS["misses"]
    return dict(
        _NC_STATS,
        hit_rate=(_NC_STATS["hits"] / looked if looked else None),
        dir=_nc_dir(),
        entries=len(entries),
        bytes=sum(size for _, size, _ in entries),
    )


def _nc_cached(text, parts, include_dirs, compile_fn, minimal_fn=None):
    """`compile_fn()` (bytes) for `text` compiled with `parts` and `include_dirs`, from the cache
    when an entry with the same key is there. `minimal_fn()`, where given, compiles the same with
    `-minimal` (falling back to `compile_fn` itself); it is called instead when neither the text
    nor a header it reaches names something `-minimal` leaves out. Both give the same code, so an
    entry does not record which one made it."""
    if not _nc_enabled():
        return compile_fn()
    data = text.encode("utf-8", "surrogateescape")
    with _NC_LOCK:
        headers, runtime = _nc_walk(data, include_dirs)
        key = _nc_key_of(data, headers, parts, include_dirs)
    if key is None:
        _NC_STATS["uncacheable"] += 1
        return compile_fn()
    payload = _nc_read(key)
    if payload is not None:
        _NC_STATS["hits"] += 1
        return payload
    _NC_STATS["misses"] += 1
    payload = minimal_fn() if minimal_fn is not None and not runtime else compile_fn()
    _nc_write(key, bytes(payload))
    return payload


# ----------------------------------------------------------------------------- a backend's NVRTC


def _nc_units(nvrtc):
    """Name -> shim unit of the units that backend NVRTC module `nvrtc` compiles through the cache
    (kept on the module: every runtime copy registers its units there). A unit with a
    `compiled_text(text)` method gives the text NVRTC compiles in place of its own (a split unit,
    `_unit_split.py`); None stands for a unit compiled as written."""
    units = getattr(nvrtc, "_nbst_units", None)
    if units is None:
        units = nvrtc._nbst_units = {}
    return units


def _nc_hook_nvrtc(nvrtc, object_code, include_dirs):
    """Wraps `nvrtc.compile(src, name, cc, ltoir, lineinfo, debug)` of a backend's NVRTC module
    once per process (marked on the function): a shim unit (a name in `_nc_units(nvrtc)`) is
    answered from the cache and compiled only on a miss; other sources are compiled as before.
    `object_code` is the class of what `compile` returns (cuda.core's `ObjectCode`, as the backend
    imports it); `include_dirs(nvrtc)` the include path the backend gives NVRTC, in its order."""
    compile_ = nvrtc.compile
    if getattr(compile_, "_nbst_hook", False):
        return

    def compile(src, name, cc, ltoir=False, lineinfo=False, debug=False):
        units = _nc_units(nvrtc)
        if name not in units:
            return compile_(src, name, cc, ltoir=ltoir, lineinfo=lineinfo, debug=debug)
        text = src.decode("utf8") if isinstance(src, bytes) else src
        unit = units[name]
        if unit is not None and hasattr(unit, "compiled_text"):
            text = unit.compiled_text(text)
        parts = ("unit", name, nvrtc._get_nvrtc_version(), tuple(cc), bool(ltoir), bool(lineinfo), bool(debug))

        def run():
            code = compile_(text, name, cc, ltoir=ltoir, lineinfo=lineinfo, debug=debug)[0].code
            return code.encode() if isinstance(code, str) else bytes(code)

        def minimal():
            try:
                code = _nc_compile_minimal(nvrtc, text, name, cc, ltoir, lineinfo, debug, include_dirs(nvrtc))
            except Exception:  # NVRTC rejects it in -minimal mode: as the backend compiles it
                _NC_STATS["minimal_fallbacks"] += 1
                return run()
            _NC_STATS["minimal"] += 1
            return code

        data = _nc_cached(text, parts, include_dirs(nvrtc), run, minimal)
        obj = object_code.from_ltoir(data, name=name) if ltoir else object_code.from_ptx(data, name=name)
        return obj, ""

    compile._nbst_hook = True
    compile.__wrapped__ = compile_
    nvrtc.compile = compile


def _nc_compile_minimal(nvrtc, text, name, cc, ltoir, lineinfo, debug, include_dirs):
    """`text` compiled as backend NVRTC module `nvrtc` compiles it (the same architecture, include
    path and options, through its cuda.core `Program`), with `-minimal` added; NVRTC's log, if it
    has one, is a warning as the backend gives it."""
    found = nvrtc._verify_cc_tuple(cc)
    arch = f"sm_{found[0]}{found[1]}{found[2] if len(found) == 3 else ''}"
    options = nvrtc.ProgramOptions(
        arch=arch,
        include_path=list(include_dirs),
        relocatable_device_code=True,
        link_time_optimization=ltoir,
        name=name,
        debug=debug,
        lineinfo=lineinfo,
        minimal=True,
    )
    log = []

    class _Log:
        write = log.append

    code = nvrtc.Program(text, "c++", options=options).compile("ltoir" if ltoir else "ptx", logs=_Log()).code
    if log:
        _nc_warnings.warn("NVRTC log messages: " + "\n".join(log), stacklevel=2)
    return code.encode() if isinstance(code, str) else bytes(code)

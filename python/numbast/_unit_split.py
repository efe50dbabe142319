"""Numbast runtime, split shim units: a kernel compiles only what it uses.

A header's external definitions (device functions with external linkage that are neither inline
nor templates: ast_canopy's `FileDefinitions`) are compiled by NVRTC into every unit that includes
the header, used or not. So a shim unit is compiled against a declarations view of its headers
(each such body cut to `;`), and a kernel's link adds a definitions unit keeping only the
definitions its shim units may reach (`_us_closures`): those their text names or their headers
name outside the definitions (inline functions, templates, macros), then those these bodies name,
and so on, each definition in one unit of the link only. A kernel calling one of 1000 functions
then compiles its shims against 1000 prototypes and that one definition (kept by the NVRTC disk
cache, keyed by the text and so by the set kept), and nvJitLink inlines it. What the text cannot
tell (a header whose names a macro pastes together) keeps every definition.

A preceding text is split only when that is safe: every header it can reach (its include lines
followed through the include path, preprocessor conditions ignored, as the NVRTC cache key does)
is either known, registered with `_us_register` by a parse (dynamic mode) or by a generated module
(static mode) with the size and CRC-32 of its text still matching, or lies under NVRTC's own
include folders (CUDA, CCCL, numba-cuda's: headers made to be included by many units); no header it
reaches has an external definition that cannot be cut (a device variable, a function whose return
type is deduced from its body...); the definitions it cuts hold at least `_US_MIN_CUT_BYTES` of
text (fewer are cheaper to compile again than a unit of their own); and no header uses a
computed include, `#include_next` or an include line that the include path does not resolve.
Otherwise the unit is compiled as written.

Views are written to `<cache root>/views/<plan digest>/`, one folder per set of headers
(written once, atomically; a temporary folder when the caches are off). In a view each cut body
becomes `;` followed by the newlines it held, so line numbers stay; in a kernel's closure unit a
definition no code of the unit names is dropped whole where its declaration can be (`_us_cut`),
leaving the newlines it held; an include line naming a header
that has a view names the view, and a quoted one names its header by its absolute path.
`NUMBAST_SPLIT_UNITS=0` turns splitting off, `NUMBAST_SPLIT_UNITS=always` drops the size rule.

Static mode pastes this text after the NVRTC cache's (whose `_nc_*` helpers it uses); it imports
only the standard library. Every module-level name starts with `_us_`/`_Us`.
"""

import hashlib as _us_hashlib
import os as _us_os
import re as _us_re
import shutil as _us_shutil
import tempfile as _us_tempfile
import zlib as _us_zlib

if "_nc_resolve" not in globals():  # dynamic mode (static mode pastes the NVRTC cache's text above)
    from importlib import import_module as _us_import

    _us_cache = _us_import("._nvrtc_cache", __package__ or "numbast")
    _NC_COMPUTED, _NC_INCLUDE = _us_cache._NC_COMPUTED, _us_cache._NC_INCLUDE
    _nc_dir, _nc_enabled, _nc_resolve, _nc_truthy = (
        _us_cache._nc_dir,
        _us_cache._nc_enabled,
        _us_cache._nc_resolve,
        _us_cache._nc_truthy,
    )

_US_FORMAT = b"numbast-unit-split-1"
# A definitions unit costs NVRTC its fixed cost once more (~50 ms on a 2-core machine), about what
# compiling this much text of simple definitions again costs: below it a unit is compiled whole.
_US_MIN_CUT_BYTES = 4096
# real path -> (size, crc32, cuts ((start, end), ...) sorted, blocked)
_US_REGISTRY = {}
# real path -> (identifiers mentioned outside the cuts, or None when unknown,
#               {(start, end): (identifier or None, identifiers its body mentions)})
_US_GRAPH = {}
_US_STATE = {"version": 0, "temp": None}


class _UsUnsafe(Exception):
    """A header the split cannot follow."""


def _us_mode():
    """`NUMBAST_SPLIT_UNITS`: "0" never splits, "always" splits whatever is cut, anything else
    (the default) splits when the definitions cut are worth a unit of their own."""
    raw = (_us_os.environ.get("NUMBAST_SPLIT_UNITS") or "").strip().lower()
    if raw == "always":
        return "always"
    return "auto" if not raw or _nc_truthy(raw) else "off"


def _us_register(entries):
    """Record the external definitions of headers: `entries` of (path, size, crc32, cuts, blocked,
    uses), `cuts` the definitions that can be cut, (start, end, identifier, identifiers its body
    mentions[, declaration]) with (start, end) the byte span to replace by `;`, identifier None for
    one code uses without naming it and `declaration` (None: unknown) the offset the whole
    declaration starts at, where a unit that never names it may drop it; `blocked` whether the
    header has a definition that cannot be cut, and `uses` the identifiers of definitions the
    header mentions outside them (None: unknown). Entries of one text from several parses are
    united."""
    changed = False
    for path, size, crc, cuts, blocked, uses in entries:
        key = _us_os.path.realpath(path)
        spans = {(int(c[0]), int(c[1])): (c[2], frozenset(c[3]), c[4] if len(c) > 4 else None) for c in cuts}
        value = (int(size), int(crc), tuple(sorted(spans)), bool(blocked))
        graph = (None if uses is None else frozenset(uses), spans)
        old = _US_REGISTRY.get(key)
        if old is not None and old[:2] == value[:2]:
            value = (value[0], value[1], tuple(sorted(set(old[2]) | set(value[2]))), old[3] or value[3])
            old_uses, old_spans = _US_GRAPH[key]
            merged = dict(old_spans)
            for span, (name, body_uses, decl) in spans.items():
                old_def = merged.get(span)
                merged[span] = (name, body_uses | old_def[1], decl if decl == old_def[2] else None) if old_def else (name, body_uses, decl)
            both = None if old_uses is None or graph[0] is None else old_uses | graph[0]
            graph = (both, merged)
        if old != value or _US_GRAPH.get(key) != graph:
            _US_REGISTRY[key] = value
            _US_GRAPH[key] = graph
            changed = True
    if changed:
        _US_STATE["version"] += 1


def _us_version():
    """Changes whenever the registry does (plans made before are made again)."""
    return _US_STATE["version"]


def _us_under(path, dirs):
    return any(path == d or path.startswith(d.rstrip(_us_os.sep) + _us_os.sep) for d in dirs)


def _us_includes(data, from_dir, include_dirs):
    """[(start, end, quote, real path)] of the include lines of `data` (bytes); one that cannot be
    resolved makes the text unsafe to split."""
    if _NC_COMPUTED.search(data):
        raise _UsUnsafe
    lines = []
    for m in _NC_INCLUDE.finditer(data):
        if m[1] != b"include":
            raise _UsUnsafe
        name = m[3].strip().decode("utf-8", "surrogateescape")
        found = _nc_resolve(m[1], m[2], name, from_dir, include_dirs)
        if not found:
            raise _UsUnsafe  # NVRTC may find it where this search does not
        lines.append((m.start(), m.end(), m[2], _us_os.path.realpath(found[0])))
    return lines


def _us_reach(preceding, include_dirs, trusted_dirs):
    """{real path: (text, include lines)} of the headers `preceding` reaches outside `trusted_dirs`,
    each known and unchanged; None when the text cannot be split."""
    trusted = [_us_os.path.realpath(d) for d in trusted_dirs]
    reached = {}
    try:
        top = _us_includes(preceding.encode("utf-8", "surrogateescape"), None, include_dirs)
        stack = [line[3] for line in top]
        while stack:
            path = stack.pop()
            if path in reached or _us_under(path, trusted):
                continue
            entry = _US_REGISTRY.get(path)
            if entry is None or entry[3]:
                return None
            with open(path, "rb") as f:
                text = f.read()
            if len(text) != entry[0] or _us_zlib.crc32(text) != entry[1]:
                return None  # changed since its definitions were found
            lines = _us_includes(text, _us_os.path.dirname(path), include_dirs)
            reached[path] = (text, lines)
            stack.extend(line[3] for line in lines)
    except (_UsUnsafe, OSError):
        return None
    return reached, top


def _us_views_root():
    if _nc_enabled():  # beside the NVRTC cache's entries, not among them
        return _us_os.path.join(_us_os.path.dirname(_nc_dir()), "views")
    if _US_STATE["temp"] is None:
        _US_STATE["temp"] = _us_tempfile.mkdtemp(prefix="numbast-views-")
    return _US_STATE["temp"]


def _us_edit(text, edits):
    """`text` with each (start, end, replacement) applied; edits must not overlap."""
    out, pos = [], 0
    for start, end, repl in sorted(edits):
        if start < pos:
            raise _UsUnsafe
        out += [text[pos:start], repl]
        pos = end
    out.append(text[pos:])
    return b"".join(out)


def _us_include_edits(lines, views, quoted_absolute):
    """Edits pointing include lines at views (and, in a view, quoted ones at absolute paths)."""
    edits = []
    for start, end, quote, target in lines:
        if target in views:
            path = views[target]
        elif quoted_absolute and quote == b'"':
            path = target
        else:
            continue
        edits.append((start, end, b'#include "' + path.encode("utf-8", "surrogateescape") + b'"'))
    return edits


def _us_plan(preceding, include_dirs, trusted_dirs):
    """The text a shim unit compiles in place of `preceding` (its include lines pointing at
    declarations views, written to disk), or None when the unit is compiled as written."""
    mode = _us_mode()
    if not _US_REGISTRY or mode == "off":
        return None
    found = _us_reach(preceding, include_dirs, trusted_dirs)
    if found is None:
        return None
    reached, top = found
    cuts = {p: _US_REGISTRY[p][2] for p in reached if _US_REGISTRY[p][2]}
    if not cuts or (mode == "auto" and sum(e - s for p in cuts for s, e in cuts[p]) < _US_MIN_CUT_BYTES):
        return None
    try:
        return _us_viewed(preceding, include_dirs, reached, top, cuts)
    except (_UsUnsafe, OSError):
        return None


def _us_viewed(preceding, include_dirs, reached, top, cuts):
    """`preceding` with its include lines pointing at views of the `reached` headers in which the
    spans `cuts[path]` are cut to `;` (views written to disk once per set of cuts)."""
    need = {p for p in cuts if cuts[p]}
    if not need:
        return preceding
    grew = True
    while grew:  # a header that includes one with a view needs a view too
        grew = False
        for p, (_, lines) in reached.items():
            if p not in need and any(line[3] in need for line in lines):
                need.add(p)
                grew = True
    order = sorted(need)
    h = _us_hashlib.sha256(_US_FORMAT)
    for part in [*(d.encode("utf-8", "surrogateescape") for d in include_dirs), b"\0"]:
        h.update(len(part).to_bytes(8, "little") + part)
    for p in order:
        size, crc = _US_REGISTRY[p][:2] if p in _US_REGISTRY else (0, 0)
        h.update(f"{p}\0{size}\0{crc}\0{tuple(sorted(cuts.get(p, ())))}\0".encode("utf-8", "surrogateescape"))
    folder = _us_os.path.join(_us_views_root(), h.hexdigest()[:32])
    views = {p: _us_os.path.join(folder, f"{i}_{_us_os.path.basename(p)}") for i, p in enumerate(order)}
    if not _us_os.path.isfile(_us_os.path.join(folder, ".complete")):
        _us_write_views(folder, order, reached, views, cuts)
    text = _us_edit(preceding.encode("utf-8", "surrogateescape"), _us_include_edits(top, views, False))
    return text.decode("utf-8", "surrogateescape")


def _us_write_views(folder, order, reached, views, cuts):
    """Write the views into a temporary folder renamed to `folder` (another process may win)."""
    parent = _us_os.path.dirname(folder)
    _us_os.makedirs(parent, exist_ok=True)
    tmp = _us_tempfile.mkdtemp(prefix=".tmp-", dir=parent)
    try:
        for p in order:
            text, lines = reached[p]
            # a body becomes `;`, a dropped declaration nothing: the newlines they held stay
            edits = [(c[0], c[1], (b";" if len(c) == 2 else b"") + b"\n" * text.count(b"\n", c[0], c[1])) for c in cuts.get(p, ())]
            view = _us_edit(text, edits + _us_include_edits(lines, views, True))
            with open(_us_os.path.join(tmp, _us_os.path.basename(views[p])), "wb") as f:
                f.write(view)
        open(_us_os.path.join(tmp, ".complete"), "wb").close()
        try:
            _us_os.rename(tmp, folder)
            tmp = None
        except OSError:
            if not _us_os.path.isfile(_us_os.path.join(folder, ".complete")):
                raise
    finally:
        if tmp is not None:
            _us_shutil.rmtree(tmp, ignore_errors=True)


_US_WORD = _us_re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _us_kept(reached, texts):
    """({path: spans kept}, the identifiers named) of the `reached` headers' definitions that code
    of `texts` may use: the definitions named in `texts` or, outside the definitions, in the headers
    (their inline functions, templates and macros), those named in their bodies, and so on; every
    definition code uses without naming it. None when a header's text cannot tell what it uses."""
    by_name = {}
    kept = {p: set() for p in reached if _US_REGISTRY[p][2]}
    work = set()
    for p in reached:
        uses, spans = _US_GRAPH.get(p, (None, {}))
        if uses is None:
            return None
        work |= uses
        for span, (name, body_uses, _decl) in spans.items():
            if name is None:
                kept[p].add(span)
                work |= body_uses
            else:
                by_name.setdefault(name, []).append((p, span))
    for text in texts:
        work.update(_US_WORD.findall(text))
    seen = set()
    while work:
        name = work.pop()
        if name in seen:
            continue
        seen.add(name)
        for p, span in by_name.get(name, ()):
            if span not in kept[p]:
                kept[p].add(span)
                work |= _US_GRAPH[p][1][span][1] - seen
    return kept, seen


def _us_cut(path, span, named):
    """How a definition that a unit does not keep is cut: its body to `;` (`span`), or, where no
    code of the unit names it (`named`, None: unknown) and its declaration can be taken out whole,
    from the declaration's start with nothing left (`(start, end, 0)`): a unit calling one of 1000
    functions does not compile 999 prototypes."""
    name, _uses, decl = _US_GRAPH[path][1][span]
    if named is None or name is None or decl is None or name in named or decl >= span[0]:
        return span
    return (decl, span[1], 0)


def _us_closures(units, include_dirs, trusted_dirs):
    """The definitions one link of split shim units needs: `units` is [(preceding text, unit
    text)] of the link's split units; returned is {preceding text: the text to compile in its
    place} for each preceding text whose headers hold a definition the link may use
    (`_us_kept`): its include lines point at views keeping those definitions, each in the views of
    one preceding text only (the first, in sorted order, whose headers reach it), the others cut
    to `;`. What cannot be told keeps every definition (still once)."""
    found = {}
    for preceding, _ in units:
        if preceding not in found:
            found[preceding] = _us_reach(preceding, include_dirs, trusted_dirs)
            if found[preceding] is None:
                raise _UsUnsafe
    reached = {}
    for preceding in sorted(found):
        reached.update(found[preceding][0])
    found_kept = _us_kept(reached, [text for _, text in units])
    kept, named = found_kept if found_kept is not None else (None, None)
    owner = {}
    texts = {}
    for preceding in sorted(found):
        here, top = found[preceding]
        cuts, keeps = {}, False
        for p in here:
            spans = _US_REGISTRY[p][2]
            if not spans:
                continue
            mine = owner.setdefault(p, preceding) == preceding
            keep = (set(spans) if kept is None else kept[p]) if mine else set()
            cuts[p] = tuple(_us_cut(p, span, named) for span in spans if span not in keep)
            keeps = keeps or bool(keep)
        if keeps:
            texts[preceding] = _us_viewed(preceding, include_dirs, here, top, cuts)
    return texts

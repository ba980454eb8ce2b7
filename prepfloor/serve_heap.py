"""The zygote's heaps, their free space taken once before it forks, so that sessions share its pages.

After its warm-up the zygote's C heap (glibc's main ``malloc`` arena) is full of holes: the
warm-up's database connections are closed, and with them went thousands of small blocks (a SQLite
connection parses the whole schema, its tables, indexes and triggers, into blocks of a few dozen
bytes), scattered between blocks that stay alive.  A forked session's ``malloc`` fills those holes
first.  Every block it places there writes to a page it shares with the zygote and every other
session, and the kernel copies that whole page for it.  One new SQLite connection's first read
made about 880 pages (3.5 MB) of the zygote's heap private to the session this way, though SQLite
itself allocated 0.4 MB; a session opens two or three.

:func:`take_free_space` allocates every hole of the main arena below its top and keeps the blocks
for the life of the process (never freed: a session that freed them would write to those pages).
A session's new blocks then come from the top of the heap, on pages of its own, packed.  The
zygote's memory does not grow: the holes' pages were its own already.

The same goes for the arenas of the zygote's threads, which a session's threads would take over:
:func:`one_arena` keeps every thread in the main arena.

Only with glibc (``mallinfo2``, glibc 2.33 and newer); elsewhere both do nothing.

Python's own small-object allocator (pymalloc) has the same holes in its pools: the warm-up's
app, its widgets and its styles, freed between objects that stay.  :func:`take_free_blocks`
takes them too (with 32 sessions, 0.4-0.5 MB less per session).

And the reference counts: every object a session uses, it writes to (its count of references),
copying its page.  :func:`make_immortal` makes the zygote's objects immortal where Python has
immortal objects (3.12, 3.13), so that their counts are never written.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

# the chunk sizes asked for, largest first: each takes every hole it fits (splitting larger ones)
# before the next, smaller one; a request of 64 KB is well below glibc's mmap threshold (128 KB)
_SIZES = tuple(1 << n for n in range(16, 9, -1)) + tuple(range(1008, 16, -16))
_CHUNK_OVERHEAD = 8  # glibc's size field: a request of c - 8 bytes takes a chunk of c bytes
_MAX_BLOCKS = 200_000  # never more, whatever the heap looks like
_CACHED = 1040  # glibc keeps freed chunks up to this size in caches, not in the top
_CACHE_BYTES = 64 * 7 * _CACHED  # at most what those caches hold: 64 sizes, 7 chunks each


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_kept: list[int] = []  # the blocks taken, for the life of the process
_libc: ctypes.CDLL | None = None


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None:
        if not sys.platform.startswith("linux"):
            return None
        try:
            if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
                return None
            libc = ctypes.CDLL("libc.so.6")
            libc.mallinfo2.restype = _MallInfo2
        except (AttributeError, OSError, ValueError):
            return None
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        libc.free.argtypes = [ctypes.c_void_p]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.sbrk.restype = ctypes.c_void_p
        libc.sbrk.argtypes = [ctypes.c_ssize_t]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        _libc = libc
    return _libc


_M_ARENA_MAX = -8  # mallopt's parameter


def one_arena() -> bool:
    """Every thread allocates from the main arena (call it before any thread starts).

    A thread that ends leaves its arena, holes and all, to the next thread that starts: in a
    session, one of its own threads, which would fill the zygote's holes there too
    (:func:`take_free_space` reaches only the main arena).  With one arena there are none: the
    threads of a session, few and taking turns on Python's lock, share the main arena."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, 1))


def _top(libc: ctypes.CDLL) -> int:
    """Where the main arena's top chunk starts: the heap's end less the top's size."""
    return int(libc.sbrk(0) or 0) - int(libc.mallinfo2().keepcost)


def free_bytes() -> int | None:
    """The free bytes of every arena outside their tops (None without glibc)."""
    libc = _glibc()
    if libc is None:
        return None
    info = libc.mallinfo2()
    return int(info.fordblks) - int(info.keepcost)  # fordblks counts the fast bins' too


def take_free_space() -> int | None:
    """Take every hole of the main arena below its top; the bytes taken (None without glibc).

    Once, when the zygote is ready to fork, from its main thread.  Not before every fork: what
    the zygote frees between two forks (a request's message) it allocates again at the next, so
    taking it each time would grow the zygote by that much per session."""
    libc = _glibc()
    if libc is None:
        return None
    # First the heap's free memory goes back to the system: at its top, and whole free pages
    # inside it.  A large block freed late (make_immortal's list of every object) raises glibc's
    # threshold for giving the top back, and the touched pages above a session's first blocks
    # would stay shared, to be copied by the first session that allocates there.
    libc.malloc_trim(0)
    taken = 0
    # never more than the heap says is free, and glibc's per-thread cache (which it counts as
    # in use): should the top be misjudged (a heap not grown by brk), this stops it all the same
    budget = (free_bytes() or 0) + _CACHE_BYTES
    top = _top(libc)
    for size in _SIZES:
        while len(_kept) < _MAX_BLOCKS and taken + size <= budget:
            block = libc.malloc(size - _CHUNK_OVERHEAD)
            if not block:
                return taken
            if block >= top:  # no hole left that this size fits: it came from the top
                if size > _CACHED:
                    libc.free(block)  # back into the top, which it borders
                else:
                    _kept.append(block)  # freed, it would wait in glibc's cache: a hole
                top = _top(libc)
                break
            _kept.append(block)
            taken += size
    return taken


# -- Python's own allocator ------------------------------------------------------------------------
_BYTES_HEADER = sys.getsizeof(b"x") - 1  # a bytes object of n bytes takes this + n
_kept_objects: list[object] = []  # the blocks taken, for the life of the process


def _pymalloc_free() -> tuple[dict[int, int], int, int] | None:
    """pymalloc's free blocks by block size, its unused pools and a pool's size, as CPython's
    ``sys._debugmallocstats`` prints them (None where it prints nothing of the kind)."""
    import re
    import tempfile

    stats = getattr(sys, "_debugmallocstats", None)
    if stats is None:
        return None
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as out:
            os.dup2(out.fileno(), 2)
            try:
                stats()
            finally:
                os.dup2(saved, 2)
            out.seek(0)
            text = out.read().decode("ascii", "replace")
    finally:
        os.close(saved)
    free = {
        int(size): int(avail)
        for size, avail in re.findall(r"^\s*\d+\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s*$", text, re.M)
    }
    pools = re.search(r"^(\d+) unused pools \* (\d+) bytes", text, re.M)
    if not free or pools is None:
        return None
    return free, int(pools.group(1)), int(pools.group(2))


def _block(size: int) -> object | None:
    """A new object that takes one pymalloc block of ``size`` bytes (None for 16)."""
    if size >= _BYTES_HEADER + 1:
        return bytes(size - _BYTES_HEADER)
    if size == 32:
        return float(len(_kept_objects)) + 0.5  # 24 bytes
    return None


def take_free_blocks() -> int:
    """Take every free block of Python's small-object allocator (pymalloc) and every unused
    pool of its arenas, and keep them for the life of the process; the blocks taken.

    The warm-up run's objects, freed, left holes between the objects that stay (the imports, the
    compiled statements).  A session fills those first, and each object placed there writes to a
    page it shares with the zygote and every other session.  Taken, a session's objects go to
    pools of its own."""
    found = _pymalloc_free()
    if found is None:
        return 0
    free, unused_pools, pool_size = found
    taken = 0
    for size, avail in free.items():
        if _block(size) is None:
            continue
        _kept_objects.extend(_block(size) for _ in range(avail))
        taken += avail
    largest = max(free)
    whole = unused_pools * (pool_size // largest)
    _kept_objects.extend(_block(largest) for _ in range(whole))
    return taken + whole


# -- reference counts ------------------------------------------------------------------------------
def _immortal_count() -> int | None:
    """The reference count that CPython 3.12 and 3.13 give an immortal object (``None``'s): an
    object whose count is that is never counted again, nor freed.  None on any other Python."""
    if sys.implementation.name != "cpython" or not (3, 12) <= sys.version_info[:2] <= (3, 13):
        return None
    if sys.maxsize < 2**63 - 1:
        return None
    count = ctypes.c_ssize_t.from_address(id(None)).value
    return count if count == sys.getrefcount(None) == 0xFFFFFFFF else None


def make_immortal() -> int:
    """Make every object the zygote holds immortal; how many were made so (0 on a Python
    without immortal objects: 3.11, or a version this was not checked on).

    A session writes to an object each time it takes or drops a reference to it: a function it
    calls, its code, the names and constants and classes it uses.  On a page the session shares
    with the zygote, that write copies the page.  Python 3.12 has immortal objects (PEP 683),
    whose count is never written: ``None``, the small integers, the interned strings.  This gives
    the same count to the rest of what the zygote holds: what the collector lists (call this
    before ``gc.freeze``, which hides its objects from that list), and the objects they hold that
    it does not list (strings, numbers, code, and the tuples and dicts of those).  With 32
    sessions (``bench/bench_serve.py``): 14.8 -> 8.4 MB PSS per session on Python 3.12, 15.6 ->
    9.0 on 3.13.

    An immortal object is never freed: what a session drops of the zygote's stays, on the pages
    every session shares (the zygote keeps all of it alive anyway).  Only the zygote calls this,
    once, after its warm-up run is garbage."""
    import gc
    import types

    immortal = _immortal_count()
    if immortal is None:
        return 0
    made = 0
    listed = gc.get_objects()
    for obj in listed:
        inside = [obj]  # obj, then what it holds that the collector does not list
        while inside:
            one = inside.pop()
            count = ctypes.c_ssize_t.from_address(id(one))
            if count.value == immortal and one is not obj:
                continue  # done already (or immortal by birth, as interned strings are)
            count.value = immortal
            made += 1
            if isinstance(one, types.CodeType):  # the collector cannot look inside code
                held: Any = (
                    one.co_consts,
                    one.co_names,
                    one.co_varnames,
                    one.co_linetable,
                    one.co_exceptiontable,
                    one.co_filename,
                    one.co_qualname,
                )
            else:
                held = gc.get_referents(one)
            inside.extend(ref for ref in held if not gc.is_tracked(ref))
    del listed
    return made

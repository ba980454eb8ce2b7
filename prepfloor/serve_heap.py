"""The zygote's C heap, its free space taken once before it forks, so that sessions share its pages.

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
"""

from __future__ import annotations

import ctypes
import os
import sys

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

#!/usr/bin/env python3
"""seeds.py — writes the hand-made seed inputs of fuzz_alloc, fuzz_misuse,
fuzz_harden, fuzz_sched, fuzz_shell and fuzz_threaded.

Usage: fuzz/seeds.py [CORPUS_DIR [HARNESS...]]   (default: corpus/, every harness)

Each seed is an operation list encoded the way fuzz/shadow_decode.c,
fuzz/fuzz_misuse.c and fuzz/fuzz_sched.c decode it (fuzz/fdp.h): integers
from the tail of the file, the first one consumed being the last byte, a
value in [lo, hi] taking as many bytes as hi - lo needs, most significant
first. The encoder keeps the few facts the decoder's widths depend on (how
many objects are live, how many were freed) in step with the harness,
assuming every allocation succeeds.
Files are named by the sha1 of their content, as libFuzzer names its finds;
the seeds' names and what they do are listed at the end of this file's run.
Check what a seed does with:
    GORT_FUZZ_TRACE=1 build/fuzz-replay/fuzz_alloc corpus/fuzz_alloc/SHA1

fuzz_shell's seeds are gortsh scripts: the hand-made ones in SHELL_SEEDS
below (every command, its options and its errors) and examples/tour.gsh and
tests/shell/scripts/**/*.gsh cut into pieces of up to two dozen commands,
comments, blank lines and `threads=on` lines dropped, the folder part of
every file name taken off (the harness skips threaded mode and paths with a
'/'). Rerun after those scripts change, and remove the pieces of their old
versions (or keep them: they are just inputs).

Keep in step with the harnesses: changing the order or ranges of what an
operation decodes changes what these bytes mean (they stay valid inputs, just
less interesting), so rerun this script after such a change, and remove the
seeds it wrote before.
"""
import hashlib
import os
import sys

# Op bytes of fuzz_alloc (shadow_decode.c sh_ops: first byte of each range).
MALLOC, ALLOC_MANY, CALLOC, REALLOC, ALIGNED, ALLOC, FREE, FREE_MANY, RELEASE, FLUSH, STATS, \
    USABLE, IMPOSSIBLE = 0, 36, 40, 56, 84, 100, 140, 210, 218, 220, 226, 228, 240
NOSCAN, ZERO = 1, 2
FLAGSETS = [NOSCAN, NOSCAN, 0, ZERO, NOSCAN | ZERO]
NORMAL_OPS = 216  # fuzz_misuse: op bytes below are fuzz_alloc's, scaled
MISUSES = ["double_free_now", "double_free_later", "freed_span", "interior", "foreign",
           "never_allocated"]
FREE_CALL, REALLOC_CALL, USABLE_CALL = 0, 1, 2
# fuzz_harden: op bytes below 200 are fuzz_alloc's, scaled; above, its misuse
# table (the hardened operations twice, the first entry is the one used).
HARDEN_NORMAL_OPS = 200
HARDEN_MISUSES = MISUSES + ["overflow", "write_after_free", "double_free_held"] * 2
DEFAULT, PARANOID = 0, 1
CLASS_SIZES = [0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240,
               256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152,
               1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376,
               6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336,
               16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768]


class Enc:
    def __init__(self, misuse=False, harden=None):
        """harden: (preset, quarantine 1..16, seed 0..255) for fuzz_harden,
        whose inputs start with them."""
        self.tail = []  # in consumption order
        self.misuse = misuse or harden is not None
        self.normal_ops = HARDEN_NORMAL_OPS if harden else NORMAL_OPS
        self.misuses = HARDEN_MISUSES if harden else MISUSES
        self.nlive = 0
        self.ngrave = 0
        if harden:
            preset, quarantine, seed = harden
            self.range(0, 255, 1 if preset == PARANOID else 0)
            self.range(1, 16, quarantine)
            self.range(0, 255, seed)

    def range(self, lo, hi, v):
        assert lo <= v <= hi, (lo, hi, v)
        span, x, nbytes = hi - lo, v - lo, 0
        while nbytes < 8 and (span >> (8 * nbytes)) != 0:
            nbytes += 1
        for i in reversed(range(nbytes)):
            self.tail.append((x >> (8 * i)) & 0xFF)

    def index(self, n, i):
        """sh_pick: two bytes, whatever n is."""
        assert n == 0 or i < n, (n, i)
        self.range(0, 65535, i)

    def op(self, byte):
        if self.misuse:
            # smallest b with b * 256 // normal_ops == byte's op
            n = self.normal_ops
            b = next(b for b in range(n) if b * 256 // n >= byte)
            self.range(0, 255, b)
        else:
            self.range(0, 255, byte)

    def misuse_op(self, name):
        self.range(0, 255, self.normal_ops + self.misuses.index(name))

    # sh_size: a request size, by kind
    def size(self, n):
        if n == 0:
            self.range(0, 7, 7)
        elif n <= 16:
            self.range(0, 7, 0)
            self.range(0, 16, n)
        elif any(c - 1 <= n <= c + 1 for c in CLASS_SIZES[1:]):
            c = next(i for i, c in enumerate(CLASS_SIZES) if i and c - 1 <= n <= c + 1)
            self.range(0, 7, 1)
            self.range(1, 67, c)
            self.range(0, 2, n - CLASS_SIZES[c] + 1)
        elif n <= 32768:
            bits = max(3, n.bit_length())
            self.range(0, 7, 3)
            self.range(3, 15, bits)
            self.range(0, (1 << bits) - 1, n)
        elif n % 8192 in (0, 1, 8191) and 4 <= (n + 1) // 8192 <= 256:
            pages = (n + 1) // 8192
            self.range(0, 7, 5)
            self.range(4, 256, pages)
            self.range(0, 2, n - pages * 8192 + 1)
        elif n <= 256 << 10:
            self.range(0, 7, 4)
            self.range(32769, 256 << 10, n)
        else:
            self.range(0, 7, 6)
            self.range(0, 3, 0)
            self.range(256 << 10, 2 << 20, n)

    def malloc(self, n):
        self.op(MALLOC)
        self.size(n)
        self.nlive += 1

    def calloc(self, n, elt_log=0):
        self.op(CALLOC)
        self.size(n)
        self.range(0, 6, elt_log)
        self.range(0, 1, 0)
        self.nlive += 1

    def aligned(self, align_log, n):
        self.op(ALIGNED)
        self.range(0, 20, align_log)
        self.size(n)
        self.nlive += 1

    def alloc(self, n, flags):
        self.op(ALLOC)
        self.range(0, 4, FLAGSETS.index(flags))
        if n <= 17:
            self.range(0, 255, 1)  # bool: a small size
            self.range(0, 17, n)
        else:
            self.range(0, 255, 0)
            self.size(n)
        self.nlive += 1

    def alloc_many(self, n, flags, k):
        self.op(ALLOC_MANY)
        self.range(0, 2, [0, NOSCAN, ZERO].index(flags))
        if n <= 17:
            self.range(0, 255, 1)
            self.range(0, 17, n)
        else:
            self.range(0, 255, 0)
            self.size(n)
        self.range(2, 64, k)
        self.nlive += k

    def realloc(self, i, n):
        self.op(REALLOC)
        self.index(self.nlive, i)
        if n <= 24:
            self.range(0, 3, 0)
            self.range(0, 24, n)
        else:
            self.range(0, 3, 1)
            self.size(n)
        self.ngrave += 1  # if it moves; only the count's width matters

    def free(self, i):
        self.op(FREE)
        self.index(self.nlive, i)
        self.nlive -= 1
        self.ngrave += 1

    def free_many(self, k):
        self.op(FREE_MANY)
        self.range(1, 64, k)
        k = min(k, self.nlive)
        self.nlive -= k
        self.ngrave += k

    def simple(self, byte):
        self.op(byte)

    def usable(self, i):
        self.op(USABLE)
        self.index(self.nlive, i)

    def impossible(self, huge_kind, what, extra=()):
        """huge_kind 0..5 with its own bytes (extra[0]); what 0..6 with its bytes."""
        self.op(IMPOSSIBLE)
        self.range(0, 5, huge_kind)
        if huge_kind == 0:
            self.range(0, 2, 0)
        elif huge_kind == 2:
            self.range(0, 22, 3)
        elif huge_kind == 3:
            self.range(0, 2 * 8192, 5)
        elif huge_kind == 5:
            self.range(1, 1 << 32, 12345)
        self.range(0, 6, what)
        if what == 1:
            self.range(2, 4096, 24)
            self.range(1, 3, 1)
        elif what == 3:
            self.range(0, 20, 12)
        elif what == 4:
            self.range(0, 3, NOSCAN)
        elif what == 5:
            self.range(0, 5, extra[0] if extra else 2)
        elif what == 6 and self.nlive:
            self.index(self.nlive, 0)

    # ------------------------------------------------------------ misuse
    def call_jump(self, call, jump):
        self.range(0, 2, call)
        self.range(0, 255, 1 if jump else 0)

    def double_free_now(self, i, call, jump):
        self.misuse_op("double_free_now")
        self.index(self.nlive, i)
        self.call_jump(call, jump)
        self.range(0, 100, 40)
        self.nlive -= 1
        self.ngrave += 1

    def double_free_later(self, g, call, jump):
        self.misuse_op("double_free_later")
        self.index(self.ngrave, g)
        self.call_jump(call, jump)
        self.range(0, 100, 40)

    def freed_span(self, i, call, jump, release=False):
        self.misuse_op("freed_span")
        self.index(self.nlive, i)
        self.call_jump(call, jump)
        self.range(0, 100, 40)
        self.range(0, 3, 0 if release else 1)
        self.nlive -= 1
        self.ngrave += 1

    def interior(self, i, call, jump, usable, pick, off=1):
        """pick: 0 +1, 1 +8, 2 +16, 3 middle, 4 last byte, 5 +off."""
        self.misuse_op("interior")
        self.index(self.nlive, i)
        self.call_jump(call, jump)
        self.range(0, (1 << 32) - 1, off - 1)
        self.range(0, 5, pick)
        self.range(0, 100, 40)

    def foreign(self, kind, call, jump, v=5):
        """kind: 0 stack, 1 global, 2 libc malloc, 3 function, 4 small int,
        5 top of the address space, 6 a power of two; v picks within it."""
        self.misuse_op("foreign")
        self.call_jump(call, jump)
        self.range(0, 6, kind)
        self.range(0, (1 << 32) - 1, v)
        self.range(0, 100, 40)

    def never_allocated(self, kind, call, jump, i=0, v=4096, tail=True):
        """kind: 0 free run i, 1 uncommitted, 2 spans array, 3 bitmap, 4 past
        the arena, 5 live object i's span (its tail, or a slot); v: offset."""
        self.misuse_op("never_allocated")
        self.call_jump(call, jump)
        self.range(0, 5, kind)
        self.range(0, 65535, i)
        self.range(0, (1 << 32) - 1, v)
        self.range(0, 255, 1 if tail else 0)
        self.range(0, 100, 40)

    # ------------------------------------------------------------ harden
    def overflow(self, i, k, x, call, jump, free_after=False):
        """p[n + k] ^= x (x 1..255) of live object i, then call."""
        self.misuse_op("overflow")
        self.index(self.nlive, i)
        self.range(0, 7, k)
        self.range(1, 255, x)
        self.call_jump(call, jump)
        self.range(0, 100, 40)
        self.range(0, 255, 1 if free_after else 0)
        if free_after:
            self.nlive -= 1
            self.ngrave += 1

    def write_after_free(self, i, off, x, reuse, allocs=0):
        """Free small object i, write x at off % slot; reuse: flush, and
        allocate until the report (allocs: how many the harness will add)."""
        self.misuse_op("write_after_free")
        self.index(self.nlive, i)
        self.range(0, 65535, off)
        self.range(1, 255, x)
        self.range(0, 255, 1 if reuse else 0)
        self.nlive += allocs - 1
        self.ngrave += 1

    def double_free_held(self, k, call, jump):
        """The k-th object the model holds in a quarantine (classes in order)."""
        self.misuse_op("double_free_held")
        self.index(0, k)
        self.call_jump(call, jump)
        self.range(0, 100, 40)

    def data(self):
        return bytes(reversed(self.tail))


def alloc_seeds():
    seeds = []

    e = Enc()  # size class boundaries, freed in another order
    for n in [7, 8, 9, 15, 17, 1023, 1024, 1025, 8191, 8193, 32767, 32768, 32769]:
        e.malloc(n)
    e.simple(STATS)
    for i in [3, 0, 5, 1]:
        e.free(i)
    e.realloc(0, 4096)
    e.usable(1)
    seeds.append(("size class boundaries", e))

    e = Enc()  # tiny objects: Go's alignment, frees inside blocks
    for n in [1, 2, 3, 4, 5, 7, 8, 12, 15, 0, 16, 6]:
        e.alloc(n, NOSCAN)
    e.alloc(4, NOSCAN | ZERO)
    e.free(2)
    e.free(0)
    e.realloc(1, 100)
    e.alloc(3, NOSCAN)
    e.simple(FLUSH)
    e.alloc(9, NOSCAN)
    e.simple(STATS)
    seeds.append(("tiny objects", e))

    e = Enc()  # large and aligned objects, realloc in place and out
    e.malloc(40000)
    e.aligned(20, 40000)
    e.aligned(13, 100)
    e.aligned(6, 200)
    e.malloc(1 << 20)
    e.realloc(4, 700000)
    e.realloc(0, 35000)
    e.realloc(1, 20)
    e.calloc(300000, 3)
    e.simple(STATS)
    e.free(2)
    seeds.append(("large and aligned", e))

    e = Enc()  # impossible requests
    e.malloc(100)
    for huge, what in [(0, 0), (1, 2), (2, 3), (3, 4), (4, 0), (5, 6), (0, 1), (1, 5)]:
        e.impossible(huge, what)
    e.impossible(2, 5, extra=(0,))
    seeds.append(("impossible requests", e))

    e = Enc()  # release and reuse of released memory (calloc of zero pages)
    for n in [100, 5000, 40000, 300000]:
        e.malloc(n)
    e.free_many(4)
    e.simple(RELEASE)
    e.calloc(300000)
    e.calloc(5000)
    e.alloc(40000, ZERO)
    e.simple(FLUSH)
    e.simple(STATS)
    e.simple(RELEASE)
    e.usable(0)
    seeds.append(("release and reuse", e))

    e = Enc()  # realloc chains through every kind of object
    e.alloc(5, NOSCAN)
    for n in [12, 24, 100, 5000, 33000, 2 << 20, 33000, 8192, 8, 0]:
        e.realloc(0, n)
    e.simple(STATS)
    seeds.append(("realloc chains", e))

    e = Enc()  # one span filled and emptied, then other classes
    for _ in range(40):
        e.malloc(208)
    e.free_many(20)
    e.simple(FLUSH)
    for _ in range(20):
        e.malloc(208)
    e.free_many(64)
    e.simple(RELEASE)
    seeds.append(("fill and empty a span", e))

    e = Enc()  # spans of 16-byte objects (512 a span) and tiny blocks, full and emptied
    for _ in range(11):
        e.alloc_many(16, 0, 64)
    for _ in range(3):
        e.alloc_many(5, NOSCAN, 64)
    e.alloc_many(4096, ZERO, 10)
    e.simple(STATS)
    for _ in range(6):
        e.free_many(64)
    e.simple(FLUSH)
    e.alloc_many(16, 0, 64)
    e.simple(STATS)
    seeds.append(("full spans", e))
    return seeds


def misuse_seeds():
    seeds = []

    e = Enc(misuse=True)  # immediate double frees, each call, both handler modes
    for n in [100, 100, 100, 5000, 40000, 8192]:
        e.malloc(n)
    e.alloc(6, NOSCAN)
    e.alloc(6, NOSCAN)
    e.double_free_now(0, FREE_CALL, False)
    e.double_free_now(0, REALLOC_CALL, True)
    e.double_free_now(0, USABLE_CALL, False)
    e.double_free_now(0, FREE_CALL, True)  # large
    e.double_free_now(0, FREE_CALL, False)  # 8192: one object per span
    e.double_free_now(0, FREE_CALL, False)  # tiny
    seeds.append(("immediate double frees", e))

    e = Enc(misuse=True)  # delayed double frees after traffic and a release
    for n in [64, 64, 64, 64, 3000, 50000]:
        e.malloc(n)
    e.free(0)
    e.free(0)
    for n in [64, 64, 300]:
        e.malloc(n)
    e.double_free_later(0, FREE_CALL, False)
    e.double_free_later(1, REALLOC_CALL, False)
    e.free_many(64)
    e.simple(RELEASE)
    e.double_free_later(2, FREE_CALL, True)
    e.double_free_later(0, USABLE_CALL, False)
    seeds.append(("delayed double frees", e))

    e = Enc(misuse=True)  # interior pointers of small and large objects
    e.malloc(100)
    e.malloc(40000)
    e.malloc(24)
    e.interior(0, FREE_CALL, False, 112, 0)
    e.interior(0, REALLOC_CALL, True, 112, 1)
    e.interior(1, FREE_CALL, False, 40960, 3)
    e.interior(1, USABLE_CALL, False, 40960, 4)
    e.interior(2, FREE_CALL, True, 24, 5, off=7)
    seeds.append(("interior pointers", e))

    e = Enc(misuse=True)  # foreign pointers
    e.malloc(100)
    for kind, call in [(0, FREE_CALL), (1, REALLOC_CALL), (2, FREE_CALL), (3, USABLE_CALL),
                       (4, FREE_CALL), (5, REALLOC_CALL), (6, FREE_CALL)]:
        e.foreign(kind, call, kind % 2 == 0)
    seeds.append(("foreign pointers", e))

    e = Enc(misuse=True)  # never-allocated arena addresses
    e.malloc(100)
    e.malloc(24)
    e.malloc(300000)
    e.free(2)
    for kind, v in [(0, 4096), (1, 3 << 20), (2, 800), (3, 800), (4, 16)]:
        e.never_allocated(kind, kind % 3, kind % 2 == 1, v=v)
    e.never_allocated(5, FREE_CALL, False, i=1, v=3, tail=True)
    e.never_allocated(5, REALLOC_CALL, False, i=0, v=5, tail=False)
    seeds.append(("never-allocated addresses", e))

    e = Enc(misuse=True)  # pointers into spans given back to the heap
    e.malloc(48)
    e.malloc(40000)
    e.alloc(3, NOSCAN)
    e.freed_span(0, FREE_CALL, False)
    e.freed_span(0, REALLOC_CALL, True, release=True)
    e.freed_span(0, USABLE_CALL, False)
    e.malloc(32)
    e.double_free_later(0, FREE_CALL, False)
    seeds.append(("freed spans", e))
    return seeds


def harden_seeds():
    seeds = []

    e = Enc(harden=(DEFAULT, 4, 1))  # a ring of 4: objects leave it, in order
    for _ in range(8):
        e.malloc(100)
    for _ in range(6):
        e.free(0)
    e.double_free_held(0, FREE_CALL, False)
    e.double_free_held(3, REALLOC_CALL, True)
    e.double_free_later(0, USABLE_CALL, False)  # left the ring: freed for real
    e.malloc(100)
    e.simple(STATS)
    e.simple(FLUSH)
    e.double_free_later(5, FREE_CALL, False)
    e.malloc(40000)
    e.free(e.nlive - 1)
    e.double_free_held(0, USABLE_CALL, False)  # the large FIFO survives the flush
    seeds.append(("quarantine rings, default", e))

    e = Enc(harden=(PARANOID, 2, 7))  # large objects through a FIFO of 2
    for n in [40000, 1 << 20, 33000, 300000]:
        e.malloc(n)
    e.aligned(16, 5000)
    e.aligned(12, 0)
    for _ in range(3):
        e.free(0)
    e.double_free_held(1, FREE_CALL, False)
    e.double_free_later(0, FREE_CALL, True)  # pushed out: its pages are free again
    e.realloc(0, 2 << 20)
    e.simple(RELEASE)
    e.simple(STATS)
    seeds.append(("large quarantine, paranoid", e))

    e = Enc(harden=(DEFAULT, 8, 3))  # overflows of each kind of object, each call
    for n in [0, 8, 13, 100, 4088, 32760, 40000, 1 << 20]:
        e.malloc(n)
    e.overflow(0, 0, 1, FREE_CALL, False)
    e.overflow(1, 6, 0x80, USABLE_CALL, False)  # the trailer's slack field
    e.overflow(1, 7, 1, REALLOC_CALL, True)
    e.overflow(2, 3, 0xff, FREE_CALL, True, free_after=True)
    e.overflow(2, 1, 2, REALLOC_CALL, False)
    e.overflow(3, 7, 0x55, FREE_CALL, False, free_after=True)
    e.overflow(3, 0, 9, USABLE_CALL, True)
    e.overflow(3, 5, 1, FREE_CALL, False, free_after=True)
    e.overflow(2, 0, 0x20, REALLOC_CALL, False)
    seeds.append(("heap overflows", e))

    e = Enc(harden=(PARANOID, 3, 11))  # overflows under paranoid's layout
    for n in [24, 500, 3000, 50000]:
        e.malloc(n)
    for i, k in enumerate([0, 4, 7, 2]):
        e.overflow(i, k, 0x41, i % 3, i % 2 == 1)
    e.free_many(4)
    seeds.append(("heap overflows, paranoid", e))

    e = Enc(harden=(DEFAULT, 4, 5))  # writes after free: repaired, flushed, reused
    for n in [100, 100, 100, 100, 3000]:
        e.malloc(n)
    e.write_after_free(0, 5, 0x41, False)  # repaired
    e.write_after_free(3, 3000, 1, True)  # alone in its span: the flush reports
    e.write_after_free(0, 111, 0xff, True, allocs=2)  # shared span: a malloc reports
    e.simple(STATS)
    seeds.append(("writes after free", e))

    e = Enc(harden=(PARANOID, 16, 200))  # writes after free, paranoid, many spans
    e.alloc_many(48, 0, 64)
    e.alloc_many(48, 0, 64)
    e.write_after_free(10, 0, 7, True, allocs=40)
    e.write_after_free(100, 47, 1, False)
    e.alloc_many(2000, ZERO, 8)
    e.write_after_free(e.nlive - 1, 1999, 0x80, True, allocs=1)
    seeds.append(("writes after free, paranoid", e))

    e = Enc(harden=(DEFAULT, 1, 0))  # fuzz_misuse's misuse under default
    e.malloc(100)
    e.malloc(40000)
    e.alloc(6, NOSCAN)  # no tiny blocks: a class of its own
    e.double_free_now(2, FREE_CALL, False)
    e.double_free_now(1, REALLOC_CALL, True)
    e.interior(0, FREE_CALL, False, 100, 4)
    e.interior(0, USABLE_CALL, True, 100, 5, off=104)
    e.foreign(2, FREE_CALL, False)
    e.never_allocated(5, FREE_CALL, False, i=0, v=3, tail=False)
    e.never_allocated(0, REALLOC_CALL, False)
    e.freed_span(0, FREE_CALL, False)
    e.double_free_later(0, USABLE_CALL, False)
    seeds.append(("misuse, default", e))

    e = Enc(harden=(DEFAULT, 2, 9))  # impossible requests, SIZE_MAX - 5 among them
    e.malloc(0)
    for huge, what in [(0, 0), (1, 2), (2, 3), (3, 3), (3, 6), (4, 4), (5, 1), (1, 5)]:
        e.impossible(huge, what)
    seeds.append(("impossible requests, default", e))

    e = Enc(harden=(PARANOID, 16, 42))  # the model's operations under paranoid
    for n in [7, 8, 9, 15, 17, 1023, 1024, 1025, 8191, 8193, 32760, 32761, 32768]:
        e.malloc(n)
    e.alloc(5, NOSCAN)
    e.calloc(5000, 3)
    e.aligned(13, 100)
    e.simple(STATS)
    for i in [3, 0, 5, 1]:
        e.free(i)
    e.realloc(0, 4096)
    e.realloc(1, 20)
    e.usable(2)
    e.alloc_many(16, 0, 64)
    e.free_many(64)
    e.simple(FLUSH)
    e.simple(RELEASE)
    seeds.append(("allocation, paranoid", e))
    return seeds


# fuzz_shell: small scripts, each about one command or one idea. The harness
# starts every input with `init procs=2 arena=4M seed=1` in effect.
SHELL_SEEDS = [
    ("alloc and free", "alloc 24 as a\nalloc 24\nfree a\nfree $2\nvals\n"),
    ("alloc sizes", "alloc 0\nalloc 1\nalloc 8\nalloc 15 noscan\nalloc 32K\nalloc 32769\n"
     "alloc 1M\nalloc 5M\nalloc 0x10\nalloc 1KiB\nalloc 2mb\n"),
    ("alloc errors", "alloc\nalloc x\nalloc -1\nalloc 24 bogus\nalloc 24 as\nalloc 24 as 1x\n"
     "alloc 24 as alloc\nalloc 18446744073709551615\nalloc 16G\n"),
    ("tiny objects", "alloc 5 noscan as t1\nalloc 3 noscan as t2\nalloc 8 noscan\n"
     "dump bitmap t1\ndump span t2\nfree t1\ntry free t1\n"),
    ("calloc", "calloc 10 24 as c\ncalloc 0 0\ncalloc 4294967296 4294967296\ncalloc x 1\n"
     "calloc 3\ncalloc 2 8 as c2 extra\n"),
    ("realloc", "alloc 24 as r\nrealloc r 200\nrealloc r 16\nrealloc $2 100K\nrealloc r 0\n"
     "realloc $9 8\nrealloc r x\nrealloc 0xc000000008 8\nrealloc\n"),
    ("free misuse", "alloc 24\nalloc 100K\nfree $1\nfree $1\nfree 0xc000000008\n"
     "free arena+0x10\nfree 1\nfree $0\nfree nosuch\nfree 0xffffffffffffffff\nfree $2\ncheck\n"),
    ("release and stats", "alloc 100K\nalloc 1M\nfree $1\nfree $2\nrelease\nrelease x\nstats\n"
     "dump heap\n"),
    ("names move", "alloc 8 as x\nalloc 16 as x\nfree x\nvals\nalloc 8 as on\nalloc 8 as global\n"),
    ("init settings", "init\ninit procs=3 seed=9\ninit arena=16M stack=32K\n"
     "init procs=1 arena=2M stack=16K seed=0x10 threads=off\ninit arena=1K\ninit\n"),
    ("init errors", "init procs=0\ninit procs=257\ninit arena=0\ninit arena=1T\n"
     "init arena=70368744177665\ninit stack=0\ninit stack=2G\ninit seed=-1\ninit threads=maybe\n"
     "init bogus=1\ninit procs\ninit procs=256 arena=4M\nps\n"),
    ("init forgets", "alloc 24 as a\nspawn { park }\nstep\ninit\nfree a\nvals\ngs\nready g1\n"),
    ("spawn and step", "spawn { alloc 100 as x; yield; free x }\nspawn { yield; alloc 200 as y }\n"
     "dump runq\nstep\nstep on p1\nstep 5\nstep\n"),
    ("spawn on", "spawn on p1 { yield; yield }\nspawn on p0 { exit; alloc 8 }\nspawn on p2 { }\n"
     "spawn on { }\nspawn on p1\nstep 2 on p1\nstep on p0\nstep on p9\nrun\n"),
    ("body steps", "spawn { alloc 24 noscan as a; free a; free a; free nosuch; work 100; "
     "repeat 3 { alloc 16; yield }; park \"chan receive\"; exit }\nrun\nready g1\nrun\n"),
    ("body errors", "spawn { bogus }\nspawn { work }\nspawn { work 100000001 }\n"
     "spawn { repeat 1000001 { } }\nspawn { repeat 2 }\nspawn { yield 1 }\n"
     "spawn { park a b }\nspawn { ready 3 }\nspawn { spawn }\nspawn { free }\n"
     "spawn { alloc 8 as }\nspawn { \"x\" }\nspawn\nspawn x\nspawn { { } }\n"),
    ("nested spawn", "spawn { spawn { yield; exit; alloc 8 }; spawn { spawn { yield } } }\n"
     "run\ngs\n"),
    ("park and ready", "spawn { park sleep; alloc 64 as z; free z }\nstep\ngs\n"
     "spawn { ready g1 }\nstep\ndump runq\nready g1\nready g9\nready x\nrun\n"),
    ("global queue", "spawn { park }\nstep\nready g1\ndump runq global\nschedtrace\n"
     "run max=1\nrun max=0\nrun max=x\nrun 5\nrun\n"),
    ("many Gs", "spawn { repeat 20 { spawn { yield; alloc 32 } } }\nrun max=5\n"
     "scheddetail\nps\nrun\n"),
    ("slice budget", "spawn { repeat 5 { work 1000 } ; yield; work 2000 }\nrun\n"),
    ("views", "gs\nps\nms\nschedtrace\nscheddetail\nvals\nstats\ncheck\n"),
    ("dump arena", "alloc 24\nalloc 40K as big\ndump arena\ndump arena $1\ndump arena big 16K\n"
     "dump arena arena+0x4000 1\ndump arena 0xc000000000 64K\ndump arena 1\n"
     "dump arena $1 0\ndump arena $1 1G\ndump arena x\n"),
    ("dump spans", "alloc 24\nalloc 5 noscan\nalloc 40K\ndump spans\ndump spans class=3\n"
     "dump spans class=tiny\ndump spans class=large\ndump spans class=0\n"
     "dump spans class=999\ndump spans bogus\n"),
    ("dump span and bitmap", "alloc 24 as a\nalloc 9K as mid\nalloc 40K as big\n"
     "dump span a\ndump span big\ndump span arena+0x6010\ndump span 0xc0000fe000\n"
     "dump bitmap a\ndump bitmap $2\ndump bitmap big\ndump bitmap 0xc000000018\n"
     "dump bitmap\ndump span\ndump bitmap 12\n"),
    ("dump caches", "alloc 24\ndump mcache\ndump mcache p1\ndump mcache p7\ndump mcentral\n"
     "dump mcentral 3\ndump mcentral tiny\ndump mcentral 999\ndump sizeclasses\n"),
    ("dump runq", "spawn { }\nspawn { }\nspawn { }\ndump runq\ndump runq p0\n"
     "dump runq global\ndump runq p5\ndump runq x\ndump\ndump bogus\n"),
    ("json", "set json on\nalloc 24 as a\nfree a\nfree a\nspawn { alloc 8; yield }\nstep\n"
     "run\ngs\nps\nms\nvals\nstats\ndump arena\ndump bitmap $1\nbogus\n{ x }\n"
     "help alloc\nset json off\n"),
    ("json views", "set json on\nspawn { park }\nstep\nscheddetail\nschedtrace\n"
     "dump spans\ndump heap\ndump mcache\ndump mcentral 3\ndump runq\ndump sizeclasses\n"
     "check\nrelease\necho \"a\\\"b\"\n"),
    ("set", "set color on\nalloc 24\ndump arena\nset color off\nset echo on\nalloc 8\n"
     "set echo off\nset json maybe\nset bogus on\nset\n"),
    ("echo and strings", "echo hello world\necho \"a; b\"\necho \"x\\\\y\"\necho\n"
     "echo \"unterminated\necho a\"b\necho a{b\n"),
    ("syntax", "alloc 8; alloc 16 ; ; free $1 # a comment\n}\n{\n}\nalloc 8 {\n"
     "# only a comment\n   \n\t\n"),
    ("braces across lines", "spawn {\n  alloc 8 as x\n  yield\n  free x\n}\nrun\n"
     "spawn { repeat 2 {\n work 10\n }\n}\nrun\n"),
    ("deep braces", "spawn { repeat 2 { repeat 2 { repeat 2 { repeat 2 { yield } } } } }\nrun\n"
     "echo {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}\n"),
    ("too many words", "echo " + "w " * 70 + "\n"),
    ("try", "alloc 24\nfree $1\ntry free $1\ntry\ntry try free $1\ntry bogus\n"
     "try step\ntry init procs=0\n"),
    ("help", "help\nhelp dump\nhelp spawn\nhelp nosuch\nhelp a b\n"),
    ("source stdin", "alloc 8\nsource -\nalloc 16\nfree $1\n"),
    ("source errors", "source\nsource a b\nsource nosuch.gsh\nsource .\n"),
    ("export svg", "alloc 24\nalloc 100K\nexport svg a.svg\nexport\nexport png x.png\n"
     "export svg\nexport svg a.svg b.svg\nexport svg .\nsource a.svg\n"),
    ("trace", "trace start t.json\nspawn { yield }\nstep\ntrace\nrun\ntrace stop\n"
     "trace stop\ntrace start\ntrace start .\ntrace start a b\ntrace bogus\n"),
    ("trace across init", "trace start t.json\ntrace start u.json\nspawn { park }\nstep\n"
     "init\ntrace\ntrace start t.json\nspawn { }\nrun\n"),
    ("quit", "alloc 8\nquit\nalloc 16\n"),
    ("exit", "exit\nbogus\n"),
    ("json quit", "set json on\nquit\n"),
    ("unknown commands", "bogus\n\"str\"\n{ block }\n$1\n1234\n"),
    ("block with newline in error", "{ a\nb }\nhelp {x\ny}\n"),
    ("out of memory", "alloc 3M\nalloc 3M\nrealloc $1 8M\nspawn { alloc 4M }\nrun\nstats\n"),
    ("small stack", "init stack=4K\nspawn { alloc 8; work 5; spawn { yield } }\nrun\n"),
    ("many procs", "init procs=64\nspawn { yield }\nstep on p63\nstep on p64\nps\n"),
    ("procs", "spawn { yield; yield }\nspawn on p1 { park }\nstep on p1\nprocs 4\n"
     "spawn on p3 { }\nprocs 1\nps\ndump runq global\nrun\nprocs 0\nprocs 257\nprocs x\n"
     "procs\nprocs 256\nschedtrace\n"),
    ("NUL byte", "alloc 8\x00junk\nalloc 16\n"),
]


class Raw:
    def __init__(self, data):
        self.bytes = data

    def data(self):
        return self.bytes


def script_pieces(path, max_lines=24):
    """A script cut into pieces of up to max_lines commands (a block across
    lines stays whole), split early at an `echo` section header."""
    pieces, cur, depth = [], [], 0
    with open(path) as f:
        lines = f.read().split("\n")
    for line in lines:
        stripped = line.strip()
        if depth == 0 and (not stripped or stripped.startswith("#")):
            continue
        if "threads=on" in stripped:
            continue  # the harness skips threaded mode: keep the rest usable
        words = stripped.split()
        if words and words[0] in ("source", "export", "trace") and "/" in stripped:
            line = " ".join(w.rsplit("/", 1)[-1] for w in words)
        if depth == 0 and cur and (len(cur) >= max_lines or
                                   (stripped.startswith("echo") and len(cur) >= 8)):
            pieces.append(cur)
            cur = []
        cur.append(line)
        depth += line.count("{") - line.count("}")
        depth = max(depth, 0)
    if cur:
        pieces.append(cur)
    return ["\n".join(p) + "\n" for p in pieces]


def shell_seeds(root="."):
    seeds = [(what, Raw(text.encode("latin-1"))) for what, text in SHELL_SEEDS]
    scripts = [os.path.join(root, "examples", "tour.gsh")]
    tests = os.path.join(root, "tests", "shell", "scripts")
    for d, _, files in sorted(os.walk(tests)):
        scripts += [os.path.join(d, f) for f in sorted(files) if f.endswith(".gsh")]
    for path in scripts:
        if not os.path.exists(path):
            continue
        rel = os.path.relpath(path, root)
        for i, piece in enumerate(script_pieces(path)):
            seeds.append((f"{rel} piece {i + 1}", Raw(piece.encode())))
    return seeds


# ------------------------------------------------------------ fuzz_sched
# Op bytes of fuzz_sched (fuzz_sched.c fz_ops: first byte of each range).
SCHED_OPS = dict(spawn=0, spawn_on=41, spawn_many=61, step=69, step_p=141, steps=176, ready=191,
                 reseed=216, set_procs=223, run=235, outside=247, wait_outside=252)
# Body actions (fuzz_sched.c enum fz_act): the low nibble of an action byte.
ACTS = dict(yield_=0, park=2, ready=3, spawn=4, spawn_on=5, alloc=6, free=7, exit=8, nest=9,
            alloc_tiny=14, self_=15)
SCHED_PROCS_MAX = 8
# A waiting body's actions (fuzz_sched.c W_*, a body whose header's high
# nibble is 1): the low nibble of an action byte.
WACTS = dict(send=0, recv=1, select=2, select2=3, close=4, lock=5, unlock=6, trylock=7,
             wg_add=8, wg_done=9, wg_wait=10, sleep=11, yield_=12, spawn=13, exit=14, park=15)
# sleep's argument: an index into fuzz_sched.c fz_sleep_ms
SLEEP_MS = [0, 1, 1, 1, 2, 2, 3, 5, 1, 1, 2, 4, 8, 1, 2, 10]


def wact(name, arg=0):
    """One waiting body's action byte. send, recv, close: channel arg & 3
    (c0 unbuffered, c1 cap 1, c2 cap 2, c3 cap 4); select: receive on c[a],
    send on c[a+1], with arg & 4 receive on c[a+2]; select2: send and receive
    on c[a], with arg & 4 a nil channel; arg & 8: a default; lock, unlock,
    trylock: mutex arg & 1 (unlock with arg & 8 of a mutex nobody holds:
    reported); wg_add: 1 + (arg & 3); sleep: SLEEP_MS[arg]; spawn: the
    child's body."""
    return WACTS[name] | (arg << 4)


class Wait(list):
    """A waiting body's actions (the header's high nibble 1)."""


def act(name, arg=0):
    """One body action byte: the action, and its argument in the high nibble.
    ready: 0..11 a parked G, 12 itself, 13 a dead G, 14 goid 0, 15 a bogus goid;
    spawn: the child's body; spawn_on: P (arg & 7), and the child's body is
    this one's (+1 with arg & 8); alloc: a size index (fuzz_sched.c fz_sizes);
    nest: 0 gort_step, 1 gort_step_p, 2 gort_set_procs, 3 gort_run (EDEADLK),
    4 gort_go(NULL), 5 gort_go_p(200) (EINVAL), 6 gort_self."""
    return ACTS[name] | (arg << 4)


class SchedEnc:
    """fuzz_sched's decoder, backwards: the bodies first, then operations."""

    def __init__(self, bodies):
        """bodies: a list of (actions, loop); 1 to 8 bodies of 1 to 8 actions."""
        self.tail = []
        self.nbodies = len(bodies)
        assert 1 <= self.nbodies <= 8
        self.range(1, 8, self.nbodies)
        for acts, loop in bodies:
            assert 1 <= len(acts) <= 8
            self.range(0, 255, (len(acts) - 1) | (8 if loop else 0) |
                       (0x10 if isinstance(acts, Wait) else 0))
            for a in acts:
                self.range(0, 255, a)

    range = Enc.range

    def op(self, name):
        self.range(0, 255, SCHED_OPS[name])

    def body(self, b):
        self.range(0, self.nbodies - 1, b)

    def spawn(self, b=0):
        self.op("spawn")
        self.body(b)

    def spawn_on(self, p, b=0):
        """p up to 8: a P that does not exist with fewer Ps (EINVAL)."""
        self.op("spawn_on")
        self.body(b)
        self.range(0, SCHED_PROCS_MAX, p)

    def spawn_many(self, k, p=None, b=0):
        """k Gs (2..64) with gort_go (p None) or gort_go_p(p)."""
        self.op("spawn_many")
        self.body(b)
        self.range(0, SCHED_PROCS_MAX + 1, 0 if p is None else p + 1)
        self.range(2, 64, k)

    def step(self, n=1):
        for _ in range(n):
            self.op("step")

    def step_p(self, p, n=1):
        for _ in range(n):
            self.op("step_p")
            self.range(0, SCHED_PROCS_MAX, p)

    def steps(self, k):
        self.op("steps")
        self.range(1, 16, k)

    def ready(self, which):
        """which: < 240 the (which % parked)-th parked G; 240..243 any G of
        the input; 244..247 a dead G; 248..251 goid 0; 252.. a bogus goid."""
        self.op("ready")
        self.range(0, 255, which)

    def reseed(self, seed):
        self.op("reseed")
        self.range(0, (1 << 32) - 1, seed)

    def set_procs(self, n):
        """n: 0 (EINVAL), 1..8, or 257 (EINVAL)."""
        self.op("set_procs")
        self.range(0, SCHED_PROCS_MAX + 1, SCHED_PROCS_MAX + 1 if n > SCHED_PROCS_MAX else n)

    def run(self):
        self.op("run")

    def outside(self):
        self.op("outside")

    def wait_outside(self, sub, ch=0):
        """sub: 0 close, 1 or 6 or 7 try_send, 2 try_recv, 3 a deadlock probe
        (only when nothing can run and no timer is pending), 4 wg add 1,
        5 wg done; on channel ch."""
        self.op("wait_outside")
        self.range(0, 255, sub | (ch << 3))

    def data(self):
        return bytes(reversed(self.tail))


def sched_seeds():
    seeds = []

    e = SchedEnc([([act("yield_"), act("yield_"), act("exit")], False)])
    for _ in range(3):
        e.spawn()
    e.step(4)
    e.step_p(1)
    e.step_p(8)  # no such P: EINVAL
    e.outside()
    e.steps(3)
    e.run()
    seeds.append(("spawn, step, step_p, steps, run", e))

    e = SchedEnc([([act("park"), act("yield_")], False),
                  ([act("ready", 0), act("ready", 12), act("ready", 14), act("ready", 15),
                    act("spawn", 0), act("yield_"), act("ready", 1), act("exit")], False)])
    for _ in range(3):
        e.spawn(0)
    e.run()
    e.ready(0)  # from outside: the global queue
    e.ready(250)  # goid 0
    e.ready(254)  # a bogus goid
    e.spawn(1)
    e.run()
    e.ready(240)  # whatever the first G is now
    e.ready(245)  # a dead G
    e.run()
    seeds.append(("park, ready inside and outside", e))

    e = SchedEnc([([act("yield_")], True)])
    for _ in range(5):
        e.spawn_many(64)  # P 0's ring overflows at the 258th
    e.steps(16)
    e.set_procs(8)
    e.run()
    e.set_procs(1)  # everything to the global queue, more than 256
    e.steps(8)
    seeds.append(("ring overflow, global queue past 256", e))

    e = SchedEnc([([act("yield_"), act("yield_"), act("yield_")], False)])
    for p in range(4):
        for _ in range(3):
            e.spawn_on(p)
    e.spawn_on(6)  # no such P yet: EINVAL
    e.set_procs(2)  # P 3 and P 2 to the head of the global queue
    e.set_procs(0)
    e.set_procs(257)
    e.set_procs(8)
    e.spawn_on(6)
    e.steps(10)
    e.set_procs(1)
    e.run()
    seeds.append(("set_procs shrink and grow", e))

    e = SchedEnc([([act("yield_"), act("yield_")], False)])
    e.spawn_many(11, p=0)
    e.step_p(3)  # steals ceil(11/2) = 6 from P 0
    e.step_p(2)
    e.step_p(1)
    e.step_p(1)
    e.step_p(0, 3)
    e.spawn_on(2)
    e.step_p(2)  # runnext first
    e.run()
    seeds.append(("stealing", e))

    e = SchedEnc([([act("yield_")], True), ([act("park"), act("exit")], False)])
    e.spawn(1)
    e.spawn(1)
    e.step_p(0, 2)  # both park
    e.ready(0)
    e.ready(0)  # both on the global queue
    e.spawn(0)
    e.step_p(0, 70)  # P 0 takes from the global queue first at ticks 0 and 61
    seeds.append(("the 61st tick", e))

    e = SchedEnc([([act("alloc", 3), act("spawn_on", 1), act("alloc_tiny", 0), act("nest", 0),
                    act("nest", 1), act("nest", 2), act("nest", 3), act("yield_")], False),
                  ([act("nest", 4), act("nest", 5), act("nest", 6), act("self_"),
                    act("alloc", 15), act("free", 0), act("spawn_on", 7), act("exit")], False)])
    e.spawn(0)
    e.spawn(1)
    e.run()
    e.set_procs(8)
    e.spawn(1)
    e.run()
    seeds.append(("body actions: alloc, free, nested calls, spawn_on", e))

    e = SchedEnc([([act("yield_"), act("spawn", 0), act("yield_"), act("exit")], False)])
    e.spawn_many(6)
    e.reseed(1)
    e.steps(8)
    e.reseed(0)  # the default seed
    e.steps(8)
    e.reseed(0xdeadbeef)
    e.run()
    seeds.append(("reseed", e))

    # Waiting bodies (channels, select, mutexes, the WaitGroup, sleeps).
    e = SchedEnc([(Wait([wact("send", 0), wact("send", 1), wact("send", 3), wact("exit")]), False),
                  (Wait([wact("recv", 0), wact("recv", 1), wact("recv", 3), wact("recv", 0)]),
                   False)])
    e.spawn(1)
    e.spawn(0)
    e.spawn(1)
    e.run()
    e.wait_outside(0, 0)  # close c0: the receiver waiting there wakes with zero
    e.run()
    seeds.append(("channels: hand-off, buffers, close wakes a receiver", e))

    e = SchedEnc([(Wait([wact("select", 0), wact("select", 4), wact("select2", 1),
                         wact("select", 8), wact("yield_")]), True),
                  (Wait([wact("send", 0), wact("recv", 1), wact("send", 2), wact("recv", 3)]),
                   True)])
    e.spawn(0)
    e.spawn(1)
    e.spawn(0)
    for _ in range(6):
        e.steps(16)
    e.wait_outside(1, 2)
    e.wait_outside(2, 3)
    e.wait_outside(0, 1)
    e.run()
    seeds.append(("select: ready cases, waiting, default, same channel twice", e))

    e = SchedEnc([(Wait([wact("lock", 0), wact("sleep", 4), wact("unlock", 0), wact("yield_")]),
                   True),
                  (Wait([wact("lock", 0), wact("yield_"), wact("unlock", 0), wact("trylock", 1),
                         wact("unlock", 1), wact("unlock", 8)]), True)])
    for _ in range(3):
        e.spawn(0)
        e.spawn(1)
    for _ in range(8):
        e.steps(16)
    e.set_procs(2)
    e.run()
    seeds.append(("mutex: waiters, a 2 ms holder (starvation), trylock, unlock of unlocked", e))

    e = SchedEnc([(Wait([wact("wg_add", 2), wact("spawn", 1), wact("spawn", 1),
                         wact("spawn", 1), wact("wg_wait"), wact("wg_done"), wact("exit")]),
                   False),
                  (Wait([wact("sleep", 7), wact("wg_done"), wact("sleep", 0), wact("exit")]),
                   False)])
    e.spawn(0)
    e.spawn(0)
    e.run()
    e.wait_outside(3, 0)  # nothing runnable, no timer: the probe reports the deadlock
    e.wait_outside(4)
    e.wait_outside(5)
    e.wait_outside(5)  # a negative counter: reported
    e.run()
    seeds.append(("WaitGroup, sleeps, deadlock probe, negative counter", e))

    e = SchedEnc([(Wait([wact("send", 1), wact("send", 1), wact("close", 1), wact("send", 1),
                         wact("close", 1), wact("exit")]), False),
                  (Wait([wact("recv", 1), wact("recv", 1), wact("recv", 1), wact("recv", 1),
                         wact("exit")]), False)])
    e.spawn(0)
    e.step(3)
    e.spawn(1)
    e.run()
    seeds.append(("close: buffered values drain, send on closed, double close", e))
    return seeds


# fuzz_threaded (fuzz/fuzz_threaded.c): operation kinds in enum ft_kind order,
# the inner actions of a critical section in enum ft_inner order.
FT_KINDS = ["yield", "send", "try_send", "recv", "try_recv", "lock", "try_lock", "sleep",
            "syscall", "alloc", "spawn", "join"]
FT_INNER = ["none", "yield", "sleep", "syscall"]
FT_CAPS = [0, 1, 2, 4]


class ThreadedEnc(Enc):
    """A plan: four channels (two sinks, then two sources: capacity and
    drainers or feeders), then the workers' programs. A program is a list of
    ops; an op is a tuple (kind, ...) whose arguments follow decode_args:
    ("send"|"try_send"|"try_recv", sink 0..1, value), ("recv", source 0..1),
    ("lock"|"try_lock", mutex, inner, ns), ("sleep"|"syscall", ns),
    ("alloc", size), ("spawn", prog), ("join", copies 1..3, prog)."""

    def __init__(self, chans, workers):
        super().__init__()
        for cap, helpers in chans:
            self.range(0, 3, FT_CAPS.index(cap))
            self.range(1, 2, helpers)
        self.range(1, 6, len(workers))
        for prog in workers:
            self.prog(prog, 0)

    def prog(self, ops, depth):
        self.range(0, 12 if depth == 0 else 4, len(ops))
        for o in ops:
            self.op_args(o, depth)

    def op_args(self, o, depth):
        kind = o[0]
        self.range(0, len(FT_KINDS) - 1, FT_KINDS.index(kind))
        if kind in ("send", "try_send", "try_recv"):
            self.range(0, 1, o[1])
            self.range(0, 65535, o[2])
        elif kind == "recv":
            self.range(0, 1, o[1])
        elif kind in ("lock", "try_lock"):
            self.range(0, 1, o[1])
            self.range(0, 3, FT_INNER.index(o[2]))
            self.range(0, 50000, o[3])
        elif kind in ("sleep", "syscall"):
            self.range(0, 50000, o[1])
        elif kind == "alloc":
            self.range(1, 4096, o[1])
        elif kind == "spawn":
            assert depth < 2
            self.prog(o[1], depth + 1)
        elif kind == "join":
            assert depth < 2
            self.range(1, 3, o[1])
            self.prog(o[2], depth + 1)


def threaded_seeds():
    seeds = []
    unbuffered = [(0, 1), (0, 2), (0, 1), (0, 2)]
    buffered = [(1, 2), (4, 1), (2, 2), (4, 1)]
    ping = [("send", 0, 7), ("recv", 0), ("send", 1, 9), ("recv", 1)] * 3
    seeds.append(("unbuffered sends and receives, two workers", ThreadedEnc(
        unbuffered, [ping, list(reversed(ping))])))
    locker = [("lock", 0, "yield", 0), ("lock", 1, "none", 0), ("try_lock", 0, "none", 0),
              ("lock", 0, "sleep", 20000), ("lock", 1, "syscall", 30000),
              ("try_lock", 1, "yield", 0), ("lock", 0, "none", 0)]
    seeds.append(("mutex contention: yields, sleeps and syscalls held", ThreadedEnc(
        buffered, [locker] * 4)))
    child = [("send", 0, 3), ("recv", 1), ("lock", 0, "yield", 0)]
    seeds.append(("fork-join two deep over channels and a mutex", ThreadedEnc(
        buffered, [[("join", 3, child + [("join", 2, child)]), ("recv", 0), ("send", 1, 5)],
                   [("join", 2, [("sleep", 10000), ("recv", 0)]), ("send", 0, 11)]])))
    io = [("syscall", 40000), ("sleep", 30000), ("alloc", 24), ("syscall", 5000),
          ("alloc", 4000), ("yield",), ("sleep", 0), ("alloc", 1)]
    seeds.append(("syscalls, sleeps and allocations on both Ps", ThreadedEnc(
        unbuffered, [io, io[::-1], io])))
    spawner = [("spawn", [("send", 0, 1), ("spawn", [("recv", 0), ("try_send", 1, 2)])]),
               ("try_recv", 0, 0), ("try_send", 0, 4), ("spawn", [("try_recv", 1, 0)]),
               ("yield",), ("try_recv", 1, 0)]
    seeds.append(("detached spawns, try_send and try_recv", ThreadedEnc(
        buffered, [spawner, spawner])))
    mixed = [("send", 1, 65535), ("lock", 1, "syscall", 1000), ("recv", 1),
             ("join", 1, [("alloc", 100), ("sleep", 5000)]), ("try_lock", 0, "sleep", 2000),
             ("spawn", [("lock", 0, "none", 0), ("send", 0, 8)]), ("recv", 0),
             ("syscall", 20000), ("try_send", 1, 6), ("yield",), ("send", 0, 42),
             ("alloc", 2048)]
    seeds.append(("everything, six workers", ThreadedEnc(
        [(0, 2), (2, 1), (1, 2), (0, 1)], [mixed] * 6)))
    return seeds


def write(corpus, harness, seeds):
    d = os.path.join(corpus, harness)
    os.makedirs(d, exist_ok=True)
    for what, e in seeds:
        data = e.data()
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print(f"{harness}/{name}  {len(data):4d} bytes  {what}")


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else "corpus"
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    harnesses = {
        "fuzz_alloc": alloc_seeds,
        "fuzz_misuse": misuse_seeds,
        "fuzz_harden": harden_seeds,
        "fuzz_sched": sched_seeds,
        "fuzz_shell": lambda: shell_seeds(root),
        "fuzz_threaded": threaded_seeds,
    }
    for harness in sys.argv[2:] or harnesses:
        write(corpus, harness, harnesses[harness]())


if __name__ == "__main__":
    main()

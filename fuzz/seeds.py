#!/usr/bin/env python3
"""seeds.py — writes the hand-made seed inputs of fuzz_alloc and fuzz_misuse.

Usage: fuzz/seeds.py [CORPUS_DIR]     (default: corpus/)

Each seed is an operation list encoded the way fuzz/shadow.h and
fuzz/fuzz_misuse.c decode it (fuzz/fdp.h): integers from the tail of the
file, the first one consumed being the last byte, a value in [lo, hi] taking
as many bytes as hi - lo needs, most significant first. The encoder keeps the
few facts the decoder's widths depend on (how many objects are live, how many
were freed) in step with the harness, assuming every allocation succeeds.
Files are named by the sha1 of their content, as libFuzzer names its finds;
the seeds' names and what they do are listed at the end of this file's run.
Check what a seed does with:
    GORT_FUZZ_TRACE=1 build/fuzz-replay/fuzz_alloc corpus/fuzz_alloc/SHA1

Keep in step with the harnesses: changing the order or ranges of what an
operation decodes changes what these bytes mean (they stay valid inputs, just
less interesting), so rerun this script after such a change, and remove the
seeds it wrote before.
"""
import hashlib
import os
import sys

# Op bytes of fuzz_alloc (shadow.h sh_ops: first byte of each range).
MALLOC, ALLOC_MANY, CALLOC, REALLOC, ALIGNED, ALLOC, FREE, FREE_MANY, RELEASE, FLUSH, STATS, \
    USABLE, IMPOSSIBLE = 0, 36, 40, 56, 84, 100, 140, 210, 218, 220, 226, 228, 240
NOSCAN, ZERO = 1, 2
FLAGSETS = [NOSCAN, NOSCAN, 0, ZERO, NOSCAN | ZERO]
NORMAL_OPS = 216  # fuzz_misuse: op bytes below are fuzz_alloc's, scaled
MISUSES = ["double_free_now", "double_free_later", "freed_span", "interior", "foreign",
           "never_allocated"]
FREE_CALL, REALLOC_CALL, USABLE_CALL = 0, 1, 2
CLASS_SIZES = [0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240,
               256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152,
               1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376,
               6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336,
               16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768]


class Enc:
    def __init__(self, misuse=False):
        self.tail = []  # in consumption order
        self.misuse = misuse
        self.nlive = 0
        self.ngrave = 0

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
            # smallest b with b * 256 // 216 == byte's op
            b = next(b for b in range(NORMAL_OPS) if b * 256 // NORMAL_OPS >= byte)
            self.range(0, 255, b)
        else:
            self.range(0, 255, byte)

    def misuse_op(self, name):
        self.range(0, 255, NORMAL_OPS + MISUSES.index(name))

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
    write(corpus, "fuzz_alloc", alloc_seeds())
    write(corpus, "fuzz_misuse", misuse_seeds())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""garbage.py — writes the inputs of test_garbage.sh: about 11 MB of bad and
half-good gortsh input in chunks of about 1 MB, reproducibly (a fixed seed).

  garbage.py OUTDIR SEED SCRIPT...

SCRIPT... are the scripts to mutate (the tour and tests/shell/scripts/*.gsh).
Writes OUTDIR/NN-KIND.gsh, one file per chunk, and prints their names:

  bytes-*     random bytes (some with many newlines)
  lines-*     random printable lines; lines of shell words in random order
  longline-*  one 1 MB line: random printable characters; one command with
              far too many words; one huge string
  braces      100,000 '{' on a line, 100,000 '{' then '}', blocks nested
              10,000 deep, spawn bodies nested past the limit
  mutant-*    the scripts mutated: bytes flipped, lines shuffled, dropped
              and repeated, tokens swapped between lines

Every chunk is made safe and quick to run in a scratch directory (clean):
 - lines that name export, trace or source lose '/' and '..', so a file
   they write or read stays in the current directory;
 - the count after repeat and work is cut to at most 64: nested repeats
   multiply (a body allocating in 1000 x 1000000 rounds runs for minutes,
   which is not what this test is about; test_batch.sh times that case);
 - quit, and exit where it starts a command (after a line start, ';', '}'
   or try), become check, so each chunk runs to its end (exit as a body
   step right after '{' stays);
 - a block (a '{' outside strings and comments) open for 50 lines gets a
   line that closes it: gortsh's reader rescans an open block for every
   line it adds, so 1 MB inside one block takes minutes (test_batch.sh
   times that case).
"""
import os
import random
import re
import sys

CHUNK = 1 << 20
OPEN_LINES = 50

WORDS = (
    "init alloc calloc realloc free release stats vals spawn step run ready gs ps ms "
    "schedtrace scheddetail dump export trace check try set echo source help quit exit "
    "arena spans span bitmap mcache mcentral heap sizeclasses runq global svg start stop "
    "color json on off noscan as yield park work repeat procs=2 procs=4 arena=4M seed=3 "
    "stack=16K threads=on threads=off max=5 class=3 class=tiny p0 p1 p2 p7 g1 g2 g3 g99 "
    "$1 $2 $3 $0 $99 x y a b 0 1 8 24 100 4K 1M 0x10 0xc000000000 0xc000000008 "
    "arena+0x8 arena+0x2000 { } { } ; ; # \" \"\" {} -1 1e3 1Q ~ %s \\ \\\" \t"
).split(" ")

NUMBER_AFTER = re.compile(rb"\b(repeat|work)(\s+)(\S+)")
QUIT = re.compile(rb"\bquit\b|(^|;|\}|\btry)(\s*)exit\b")
PATHS = re.compile(rb"export|trace|source")


def cap_count(m):
    word, space, arg = m.group(1), m.group(2), m.group(3)
    try:
        n = int(arg, 0)
    except ValueError:
        return m.group(0)
    if n <= 64:
        return m.group(0)
    return word + space + str(n % 65).encode()


class BlockState:
    """What gortsh's batch reader thinks of the lines so far: it joins lines
    while a '{' is open (outside strings and comments) and runs them when
    it closes; this follows its open_braces() over the joined text."""

    def __init__(self):
        self.depth, self.string, self.comment, self.escape, self.lines = 0, False, False, False, 0

    def feed(self, line):
        line = line.split(b"\0")[0] + b"\n"  # the reader stops at a NUL
        for c in line:
            if self.escape:
                self.escape = False
            elif self.string:
                if c == 0x5C:  # backslash
                    self.escape = True
                elif c == 0x22:
                    self.string = False
            elif self.comment:
                self.comment = c != 0x0A
            elif c == 0x22:
                self.string = True
            elif c == 0x23:
                self.comment = True
            elif c == 0x7B:
                self.depth += 1
            elif c == 0x7D:
                self.depth -= 1
        self.comment = False  # a comment ends with its line
        self.lines += 1
        if self.depth <= 0:
            self.__init__()

    def closer(self):
        """A line that closes every open string and block."""
        return (b'"' if self.string else b"") + b"}" * self.depth


def clean(data):
    """Keeps the scratch directory the only place files go; bounds counts;
    closes a block left open for OPEN_LINES lines."""
    out = []
    state = BlockState()
    for line in data.split(b"\n"):
        if PATHS.search(line):
            line = line.replace(b"/", b"_").replace(b"..", b"__")
        if b"repeat" in line or b"work" in line:
            line = NUMBER_AFTER.sub(cap_count, line)
        if b"quit" in line or b"exit" in line:
            line = QUIT.sub(lambda m: (m.group(1) or b"") + (m.group(2) or b"") + b"check", line)
        out.append(line)
        state.feed(line)
        if state.lines >= OPEN_LINES:
            out.append(state.closer())
            state.feed(out[-1])
    return b"\n".join(out)


PRINTABLE = bytes(32 + i % 95 for i in range(256))


def printable(rng, n):
    return rng.randbytes(n).translate(PRINTABLE)


def random_bytes(rng, newlines):
    data = bytearray(rng.randbytes(CHUNK))
    if newlines:
        for _ in range(CHUNK // 40):
            data[rng.randrange(CHUNK)] = 10
    return bytes(data)


def random_lines(rng):
    parts, size = [], 0
    while size < CHUNK:
        line = printable(rng, rng.choice([0, 1, 5, 20, 80, 300]))
        parts.append(line)
        size += len(line) + 1
    return b"\n".join(parts) + b"\n"


def word_lines(rng):
    parts, size = [], 0
    while size < CHUNK:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 12))).encode()
        parts.append(line)
        size += len(line) + 1
    return b"\n".join(parts) + b"\n"


def long_lines(rng):
    yield "random", printable(rng, CHUNK)  # no newline at all
    yield "words", b"echo " + b" ".join(rng.choice([b"a", b"bb", b"$1", b"x"]) for _ in range(CHUNK // 3)) + b"\n"
    yield "string", b'echo "' + printable(rng, CHUNK).replace(b'"', b"'").replace(b"\\", b"/") + b'"\necho after\n'


def braces():
    n = 100_000
    parts = [
        b"{" * n,
        b"echo after the open braces",
        b"}" * n,
        b"spawn " + b"{" * n + b"}" * n,
        b"spawn " + b"{ repeat 1 " * 10_000 + b"{ yield }" + b" }" * 10_000,
        b"spawn { " + b"spawn { " * 40 + b"yield" + b" }" * 41,
        b"spawn { " + b"spawn { " * 31 + b"yield" + b" }" * 32,
        b"run",
        b"echo " + b'"' * n,
        b"echo " + b"{}" * n,
        b"{" * n,
    ]
    return b"\n".join(parts) + b"\n"


def mutate(rng, lines):
    lines = list(lines)
    kind = rng.randrange(6)
    if kind == 0 and lines:  # flip bytes
        for _ in range(rng.randrange(1, 8)):
            i = rng.randrange(len(lines))
            if lines[i]:
                b = bytearray(lines[i])
                j = rng.randrange(len(b))
                b[j] = rng.choice([b[j] ^ (1 << rng.randrange(8)), rng.randrange(256),
                                   ord(rng.choice("{}\";#$ 0\\"))])
                lines[i] = bytes(b)
    elif kind == 1:  # shuffle lines
        rng.shuffle(lines)
    elif kind == 2 and len(lines) > 2:  # move a block of lines
        i, j = sorted(rng.sample(range(len(lines)), 2))
        block = lines[i:j]
        del lines[i:j]
        k = rng.randrange(len(lines) + 1)
        lines[k:k] = block
    elif kind == 3 and lines:  # drop and repeat lines
        for _ in range(rng.randrange(1, 6)):
            i = rng.randrange(len(lines))
            if rng.random() < 0.5:
                del lines[i]
            else:
                lines.insert(i, lines[i])
            if not lines:
                break
    elif kind == 4 and lines:  # swap tokens between lines
        for _ in range(rng.randrange(1, 10)):
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            ta, tb = lines[a].split(b" "), lines[b].split(b" ")
            i, j = rng.randrange(len(ta)), rng.randrange(len(tb))
            if a == b:
                ta[i], ta[j % len(ta)] = ta[j % len(ta)], ta[i]
                lines[a] = b" ".join(ta)
            else:
                ta[i], tb[j] = tb[j], ta[i]
                lines[a], lines[b] = b" ".join(ta), b" ".join(tb)
    elif lines:  # cut a line in two, or join two
        i = rng.randrange(len(lines))
        if rng.random() < 0.5 and len(lines[i]) > 1:
            k = rng.randrange(1, len(lines[i]))
            lines[i:i + 1] = [lines[i][:k], lines[i][k:]]
        elif i + 1 < len(lines):
            lines[i:i + 2] = [lines[i] + b" " + lines[i + 1]]
    return lines


def mutants(rng, scripts):
    texts = []
    for path in scripts:
        with open(path, "rb") as f:
            texts.append(f.read().split(b"\n"))
    parts, size = [], 0
    while size < CHUNK:
        lines = rng.choice(texts)
        for _ in range(rng.randrange(1, 4)):
            lines = mutate(rng, lines)
        text = b"\n".join(lines) + b"\n"
        parts.append(text)
        size += len(text)
    return b"".join(parts)


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    outdir, seed, scripts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    rng = random.Random(seed)
    chunks = [
        ("bytes-1", random_bytes(rng, False)),
        ("bytes-2", random_bytes(rng, True)),
        ("lines-1", random_lines(rng)),
        ("lines-2", word_lines(rng)),
    ]
    chunks += [("longline-" + k, v) for k, v in long_lines(rng)]
    chunks.append(("braces", braces()))
    chunks += [("mutant-%d" % i, mutants(rng, scripts)) for i in range(1, 5)]
    os.makedirs(outdir, exist_ok=True)
    for n, (kind, data) in enumerate(chunks, 1):
        name = os.path.join(outdir, "%02d-%s.gsh" % (n, kind))
        with open(name, "wb") as f:
            f.write(clean(data))
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

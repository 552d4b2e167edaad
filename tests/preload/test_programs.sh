#!/usr/bin/env bash
# test_programs.sh — run real, unmodified programs with and without
# LD_PRELOAD=libgortmalloc.so and compare what they print, byte for byte.
#
# Usage: tests/preload/test_programs.sh [BUILD_DIR]     (default: build)
#
# Output: one TAP-style line per check, `ok - NAME` or `not ok - NAME`.
# On failure a short diagnostic goes to stderr: the exit status of both runs
# and the first lines of the preloaded run's stderr (and of a stdout diff).
# Exit status: 0 if every check passed, 1 otherwise.
#
# A check fails when the preloaded run's stdout differs from the plain run's,
# or when the plain run exited 0 and the preloaded one did not (crash, abort,
# timeout, nonzero status). A plain run that itself fails is reported as a
# failure of the harness, not of the allocator.
#
# Environment:
#   GORT_PRELOAD_LIB  preload this library instead of BUILD_DIR/libgortmalloc.so.
#                     Meant for testing this script itself against another
#                     allocator (jemalloc, mimalloc, ...) while gort is not built.
#   KEEP_TMP=1        keep the temporary directory and print its name.
#
# The whole command of a check runs under LD_PRELOAD, including the bash that
# runs it and every child it spawns (gcc's cc1/as/ld, sort's helpers, ...).
#
# Check commands are single-quoted on purpose: they expand in the child bash.
# shellcheck disable=SC2016,SC2317

set -u
set -o pipefail

BUILD_DIR=${1:-build}
if [[ -n "${GORT_PRELOAD_LIB:-}" ]]; then
	LIB=$GORT_PRELOAD_LIB
else
	LIB=$BUILD_DIR/libgortmalloc.so
fi
LIB=$(realpath -m -- "$LIB")

if [[ ! -f "$LIB" ]]; then
	echo "not ok - libgortmalloc.so built"
	echo "# no such file: $LIB" >&2
	exit 1
fi
echo "ok - libgortmalloc.so built"

TIMEOUT=${TIMEOUT:-120}
FAILED=0

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gort-preload.XXXXXX") || exit 1
cleanup() {
	if [[ "${KEEP_TMP:-0}" == 1 ]]; then
		echo "# kept $TMP" >&2
	else
		rm -rf -- "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

IN=$TMP/in
mkdir -p "$IN" "$TMP/run"

# Children must not pick up a malloc tuning or preload from the caller.
unset LD_PRELOAD MALLOC_CONF MIMALLOC_OPTIONS TCMALLOC_RELEASE_RATE
export LC_ALL=C
export PYTHONHASHSEED=0
export IN

ok() { echo "ok - $1"; }

# fail NAME MESSAGE [FILE-TO-SHOW]...
fail() {
	local name=$1 msg=$2
	shift 2
	echo "not ok - $name"
	FAILED=1
	{
		echo "# $name: $msg"
		local f
		for f in "$@"; do
			[[ -s "$f" ]] || continue
			echo "# --- ${f##*/} (first lines)"
			head -n 15 -- "$f" | sed 's/^/#   /'
		done
	} >&2
}

# check NAME COMMAND
# Runs COMMAND (a bash script, working directory: a fresh empty directory,
# inputs under $IN) twice: plain, then with LD_PRELOAD=$LIB. Compares stdout
# byte for byte and the exit status.
check() {
	local name=$1 cmd=$2
	local d=$TMP/run/$name
	local rc_plain rc_pre
	mkdir -p "$d/plain" "$d/pre"

	# The two runs are independent, so they run side by side.
	(cd "$d/plain" && exec timeout -k 5 "$TIMEOUT" \
		bash -o pipefail -c "$cmd" >"$d/plain.out" 2>"$d/plain.err") &
	local pid_plain=$!
	(cd "$d/pre" && exec timeout -k 5 "$TIMEOUT" env LD_PRELOAD="$LIB" \
		bash -o pipefail -c "$cmd" >"$d/pre.out" 2>"$d/pre.err")
	rc_pre=$?
	wait "$pid_plain"
	rc_plain=$?

	if [[ $rc_plain -ne 0 ]]; then
		fail "$name" "plain run (no preload) failed with exit status $rc_plain; harness problem" \
			"$d/plain.err"
	elif [[ $rc_pre -ne 0 ]]; then
		local why="exit status $rc_pre"
		if [[ $rc_pre -eq 124 || $rc_pre -eq 137 ]]; then
			why="$why (timed out after ${TIMEOUT}s)"
		elif [[ $rc_pre -gt 128 ]]; then
			why="$why (signal $((rc_pre - 128)))"
		fi
		fail "$name" "preloaded run failed: $why (plain run: 0)" "$d/pre.err"
	elif ! cmp -s "$d/plain.out" "$d/pre.out"; then
		diff -- "$d/plain.out" "$d/pre.out" >"$d/stdout.diff" 2>&1
		fail "$name" "stdout differs from the plain run (exit status 0 in both)" \
			"$d/stdout.diff" "$d/pre.err"
	else
		ok "$name"
	fi
}

# ------------------------------------------------------------------ inputs
# Generated once, without preload, so both runs of a check read the same bytes.

# The library must really be loaded: the dynamic loader only warns and
# carries on when a preload object cannot be loaded.
if env LD_PRELOAD="$LIB" cat /proc/self/maps 2>"$TMP/maps.err" | grep -qF -- "$LIB"; then
	ok "preload takes effect"
else
	fail "preload takes effect" "$LIB does not appear in a preloaded process's memory map" \
		"$TMP/maps.err"
	exit 1
fi

# 1,000,000 lines: "word word number number", from a fixed seed. The words
# come from a fixed 2000-entry vocabulary so that counts repeat.
awk 'BEGIN {
	srand(20240611)
	split("a e i o u ka ri to ne su mo ha la zu qi", syl, " ")
	for (v = 0; v < 2000; v++) {
		w = ""; n = 2 + int(rand() * 4)
		for (j = 0; j < n; j++) w = w syl[1 + int(rand() * 15)]
		voc[v] = w
	}
	for (i = 0; i < 1000000; i++)
		printf "%s %s %d %.3f\n", voc[int(rand() * 2000)], voc[int(rand() * 2000)],
			int(rand() * 100000000) - 50000000, rand() * 1000
}' >"$IN/lines.txt"

# A C file with a few hundred functions of mixed shapes (loops, switches,
# structs, recursion through a dispatch table) and a main that calls them all.
awk 'BEGIN {
	N = 400
	print "#include <stdio.h>"
	print "#include <stdint.h>"
	print "#include <string.h>"
	print "struct pt { int64_t x, y; double w; char tag[8]; };"
	print "typedef uint64_t (*fn_t)(uint64_t, int);"
	for (i = 0; i < N; i++) printf "static uint64_t f%d(uint64_t, int);\n", i
	for (i = 0; i < N; i++) {
		printf "static uint64_t f%d(uint64_t a, int depth) {\n", i
		k = i % 4
		if (k == 0) {
			printf "\tuint64_t s = a ^ %dull;\n", i * 2654435761 % 1000003
			printf "\tfor (int j = 0; j < %d; j++) s = s * 6364136223846793005ull + %d + j;\n", 8 + i % 13, i
		} else if (k == 1) {
			printf "\tuint64_t s;\n\tswitch ((a + %d) %% 5) {\n", i
			for (c = 0; c < 5; c++) printf "\tcase %d: s = (a << %d) ^ (a >> %d) ^ %d; break;\n", c, 1 + (i + c) % 31, 1 + (i * c) % 29, i * c
			printf "\tdefault: s = a; break;\n\t}\n"
		} else if (k == 2) {
			printf "\tstruct pt p[4];\n\tmemset(p, 0, sizeof p);\n"
			printf "\tfor (int j = 0; j < 4; j++) { p[j].x = (int64_t)(a >> j) - %d; p[j].y = j * %d; p[j].w = (double)p[j].x / %d.0; p[j].tag[j] = (char)(%d + j); }\n", i, i, i + 1, i % 90 + 32
			printf "\tuint64_t s = 0;\n\tfor (int j = 0; j < 4; j++) s += (uint64_t)p[j].x * 31u + (uint64_t)p[j].y + (uint64_t)(int64_t)p[j].w + (uint64_t)p[j].tag[j];\n"
		} else {
			printf "\tchar buf[64];\n\tint n = snprintf(buf, sizeof buf, \"%%llu-%d\", (unsigned long long)a);\n", i
			printf "\tuint64_t s = 1469598103934665603ull;\n\tfor (int j = 0; j < n; j++) s = (s ^ (unsigned char)buf[j]) * 1099511628211ull;\n"
		}
		if (i > 0) printf "\tif (depth > 0) s += f%d(s, depth - 1);\n", int(i / 2)
		print "\treturn s;\n}"
	}
	printf "static const fn_t table[%d] = {\n", N
	for (i = 0; i < N; i++) printf "\tf%d,\n", i
	print "};"
	print "int main(void) {"
	print "\tuint64_t acc = 0;"
	printf "\tfor (int i = 0; i < %d; i++) {\n", N
	print "\t\tacc = acc * 31 + table[i](acc + (uint64_t)i, 3);"
	print "\t\tif (i % 50 == 49) printf(\"%d %016llx\\n\", i, (unsigned long long)acc);"
	print "\t}"
	print "\tprintf(\"final %016llx\\n\", (unsigned long long)acc);"
	print "\treturn 0;"
	print "}"
}' >"$IN/gen.c"

# A directory tree for tar: the first 200,000 lines in 20 files, plus the C
# file, with fixed timestamps.
mkdir -p "$IN/tree/src"
head -n 200000 "$IN/lines.txt" | (cd "$IN/tree" && split -l 10000 - lines.)
cp "$IN/gen.c" "$IN/tree/src/gen.c"
find "$IN/tree" -exec touch -h -d "2001-02-03 04:05:06" {} +

cat >"$IN/dicts.py" <<'PY'
import hashlib
import json

N = 200_000
d = {}
for i in range(N):
    k = "key-%07d-%x" % (i, (i * 2654435761) & 0xFFFFFFFF)
    d[k] = {"i": i, "sq": i * i, "s": k[::-1], "l": [i % 7, i % 11, str(i)]}

squares = [v["sq"] % 1000003 for v in d.values()]
evens = [k for k, v in d.items() if v["i"] % 2 == 0]
words = sorted(d, key=lambda k: (k[-3:], k))
squares.sort(reverse=True)

blob = json.dumps(d, sort_keys=True)
back = json.loads(blob)
assert back == d

for k in list(d)[::2]:
    del d[k]

joined = ",".join(words[:50_000])
parts = joined.split(",")
tail = "".join(v["s"][:3] for v in d.values())
sets = {frozenset(v["l"][:2]) for v in d.values()}

canon = json.dumps({"d": d, "sq": squares[:1000], "w": words[:1000]}, sort_keys=True)
print("blob_len", len(blob))
print("remaining", len(d))
print("evens", len(evens))
print("parts", len(parts), "joined_len", len(joined))
print("tail_len", len(tail), "sets", len(sets))
print("first_word", words[0], "last_word", words[-1])
print("sha256", hashlib.sha256(canon.encode()).hexdigest())
PY

PY=$(command -v python3 || true)
if [[ -n "$PY" ]]; then
	# Resolve version-manager shims to the real interpreter.
	PY=$("$PY" -c 'import sys; print(sys.executable)' 2>/dev/null || echo "$PY")
fi
export PY

# ------------------------------------------------------------------ checks

if [[ -n "$PY" ]]; then
	check python-dicts '"$PY" "$IN/dicts.py"'
	# Route every Python allocation through malloc, not only the large ones.
	check python-dicts-pymalloc-off 'PYTHONMALLOC=malloc "$PY" "$IN/dicts.py"'
else
	fail python-dicts "python3 not found"
fi

check sort 'sort "$IN/lines.txt" | sha256sum'
check sort-n 'sort -n -k3,3 -k4,4 "$IN/lines.txt" | sha256sum'
check sort-parallel 'sort --parallel=2 -S 50M -k2,2 -k1,1 "$IN/lines.txt" | sha256sum'
check sort-u 'sort -u -k1,1 "$IN/lines.txt" | sha256sum; sort -m <(cut -d" " -f1 "$IN/lines.txt" | sort) <(cut -d" " -f2 "$IN/lines.txt" | sort) | uniq -c | sha256sum'

check gcc-E 'gcc -E "$IN/gen.c" | sha256sum'
check gcc-O2 'gcc -O2 -c "$IN/gen.c" -o gen.o && sha256sum <gen.o && gcc gen.o -o gen && ./gen'

check ls-lR 'ls -lR /usr/include'
check tar-gzip 'tar -C "$IN" -cf - tree >t.tar && sha256sum <t.tar &&
	gzip -n -6 <t.tar >t.tar.gz && sha256sum <t.tar.gz && gunzip -c t.tar.gz | cmp - t.tar && echo roundtrip-ok &&
	mkdir x && gunzip -c t.tar.gz | tar -C x -xf - && tar -C x -cf - tree | cmp - t.tar && echo extract-ok'
check awk-wordcount 'awk "{ for (i = 1; i <= NF; i++) c[\$i]++ } END { for (w in c) print w, c[w] }" "$IN/tree/lines.a"* | sort | sha256sum'
check sed-grep 'sed -e "s/\([a-z]*\) \([a-z]*\)/\2:\1/" "$IN/lines.txt" | grep -E "^(ka|ri)[a-z]*:" | sha256sum'
if command -v perl >/dev/null; then
	check perl-hash 'perl -e "my %h; for my \$i (1..200000) { \$h{\"k\$i\"} = [\$i, \$i*\$i] } delete \$h{\"k\$_\"} for grep { \$_ % 3 } 1..200000; print scalar(keys %h), \" \", join(\",\", (sort keys %h)[0..4]), \"\\n\""'
fi
if command -v xz >/dev/null; then
	check xz 'head -c 6000000 "$IN/lines.txt" | xz -T2 -3 --block-size=1MiB -c | xz -dc | sha256sum'
fi
if command -v git >/dev/null; then
	check git 'git --version
	export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
	export GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z"
	git init -q -b main r && cd r && cp "$IN/gen.c" . && head -n 1000 "$IN/lines.txt" >lines.txt &&
	git add . && git commit -q -m one && sed -i "s/ka/KA/g" lines.txt && git commit -q -am two &&
	git rev-parse HEAD && git log --stat --format="%H %s" | sha256sum && git gc -q && git fsck --strict && git count-objects -v | grep -v size'
fi

# The ABI's alignment in every preset: SIMD structs copied with movaps.
if gcc -O2 -o "$TMP/abi_align" "$(dirname "$0")/abi_align.c" 2>"$TMP/abi_align.err"; then
	for preset in light default paranoid; do
		check "abi-align-$preset" "GORT_HARDEN=$preset \"$TMP/abi_align\""
	done
else
	fail abi-align "abi_align.c does not build" "$TMP/abi_align.err"
fi

# Started under an address-space limit: the drop-in must come up, and
# malloc must end in ENOMEM at the limit.
if gcc -O2 -o "$TMP/address_limit" "$(dirname "$0")/address_limit.c" 2>"$TMP/address_limit.err"; then
	check address-limit "ulimit -v 4000000 && \"$TMP/address_limit\""
	check address-limit-paranoid "ulimit -v 4000000 && GORT_HARDEN=paranoid \"$TMP/address_limit\""
else
	fail address-limit "address_limit.c does not build" "$TMP/address_limit.err"
fi

check fork-pipes 'bash -c '\''for i in $(seq 50); do echo $i | cat; done'\'
check fork-subshells 'for i in $(seq 200); do x=$(echo "$i" | tr 0-9 a-j); printf "%s " "$x"; done; echo'

exit "$FAILED"

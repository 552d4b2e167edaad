#!/usr/bin/env bash
# test_heap_base.sh — the drop-in's heap base: random per process under
# default and paranoid, Go's 0xc000000000 with GORT_FIXED_ADDRESS=1 and
# under light (docs/hardening.md, "Heap base").
set -u
BUILD=${1:-build}
PRELOAD=$(realpath -m -- "$BUILD/libgortmalloc.so")
fails=0

# The address of a 64 KiB malloc (a span of its own) in a fresh process.
heap_addr() {
	env "$@" LD_PRELOAD="$PRELOAD" python3 -c '
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
print(hex(libc.malloc(65536) >> 26 << 26))'
}

check() {
	if [[ "$2" == "$3" ]]; then
		echo "ok - $1"
	else
		echo "not ok - $1: got $2, want $3"
		fails=$((fails + 1))
	fi
}

for preset in default paranoid; do
	a=$(heap_addr GORT_HARDEN=$preset)
	b=$(heap_addr GORT_HARDEN=$preset)
	if [[ -n "$a" && "$a" != "$b" && "$a" != 0xc000000000 ]]; then
		echo "ok - $preset: two processes, two heap bases ($a, $b)"
	else
		echo "not ok - $preset: heap bases $a and $b"
		fails=$((fails + 1))
	fi
	check "$preset with GORT_FIXED_ADDRESS=1 starts at Go's hint" \
		"$(heap_addr GORT_HARDEN=$preset GORT_FIXED_ADDRESS=1)" 0xc000000000
done
check "light starts at Go's hint" "$(heap_addr GORT_HARDEN=light)" 0xc000000000
((fails == 0))

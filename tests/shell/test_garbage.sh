#!/usr/bin/env bash
# test_garbage.sh — gortsh survives garbage: about 11 MB of random bytes,
# random lines, 1 MB lines, deep braces and mutated scripts (the tour and
# tests/shell/scripts/, bytes flipped, lines shuffled, tokens swapped),
# written by garbage.py with a fixed seed so every run feeds the same input.
#
# Usage: tests/shell/test_garbage.sh [BUILD_DIR]        (default: build)
#
# Each chunk of about 1 MB goes to its own `gortsh --norc --keep-going` on
# stdin, so a failure names its chunk (kept under TMP with KEEP_TMP=1), in a
# scratch directory of its own (files that mutated export/trace lines write
# stay there; garbage.py keeps paths relative), two at a time. A run must
# end with status 0 or 1 — never a signal, never 2 or more — within
# CHUNK_TIMEOUT seconds (default 10; a normal chunk takes well under one),
# and its stderr must not mention AddressSanitizer, LeakSanitizer, a UBSan
# `runtime error` or a segmentation fault. The normal build runs with a 4
# GiB address-space limit, so a body that spawns without end fails inside
# gortsh instead of exhausting the machine.
#
# When BUILD_DIR is a normal build and BUILD_DIR/san-address-undefined/gortsh
# exists (make SAN=address,undefined), the first 256 KiB of every chunk also
# run through that ASan+UBSan build.
#
# Environment: GARBAGE_SEED (default 20261127), CHUNK_TIMEOUT, SAN_TIMEOUT
# (default 30), KEEP_TMP=1.
# Output: `ok - NAME` / `not ok - NAME`; the status and the end of stderr of
# a failed run on stderr as '#' lines. Exit status 1 if any check failed.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

if ! command -v python3 >/dev/null 2>&1; then
	fail "python3 is installed" "garbage.py writes the inputs"
	finish
fi
SEED=${GARBAGE_SEED:-20261127}
CHUNK_TIMEOUT=${CHUNK_TIMEOUT:-10}
SAN_TIMEOUT=${SAN_TIMEOUT:-30}
SAN_BYTES=262144
SAN_GORTSH=$(realpath -m -- "$BUILD_DIR/san-address-undefined/gortsh")
BAD='AddressSanitizer|LeakSanitizer|runtime error|Segmentation'

mapfile -t chunks < <(python3 "$HERE/garbage.py" "$TMP/chunks" "$SEED" \
	"$ROOT/examples/tour.gsh" "$HERE"/scripts/*.gsh "$HERE"/scripts/inc/*.gsh)
total=0
for c in "${chunks[@]}"; do
	total=$((total + $(wc -c <"$c")))
done
if [[ ${#chunks[@]} -ge 10 && $total -ge 10000000 ]]; then
	ok "garbage: ${#chunks[@]} chunks, $((total / 1048576)) MiB (seed $SEED)"
else
	fail "garbage: ${#chunks[@]} chunks, $total bytes (seed $SEED)" "garbage.py wrote less than 10 MB"
fi

# run_chunk BIN LABEL FILE SECONDS LIMIT_KIB — one run; writes
# $TMP/result-LABEL: status, milliseconds, bytes, the input.
run_chunk() {
	local bin=$1 label=$2 file=$3 secs=$4 limit=$5 dir=$TMP/run-$2 start end rc
	mkdir -p "$dir"
	start=$(date +%s%N)
	(
		cd "$dir" || exit 99
		[[ $limit == 0 ]] || ulimit -v "$limit"
		exec env -i PATH=/usr/bin:/bin HOME="$TMP/home" LC_ALL=C TERM=dumb \
			ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			timeout -k 2 "$secs" "$bin" --norc --keep-going
	) <"$file" >/dev/null 2>"$dir/stderr"
	rc=$?
	end=$(date +%s%N)
	echo "$rc $(((end - start) / 1000000)) $(wc -c <"$file") $file" >"$TMP/result-$label"
}

# verdict LABEL NAME SECONDS — one check from the result of run_chunk.
verdict() {
	local label=$1 name=$2 secs=$3 rc ms bytes file err=$TMP/run-$1/stderr
	read -r rc ms bytes file <"$TMP/result-$label"
	local what="$name ($((bytes / 1024)) KiB, status $rc, $ms ms)"
	local tail_lines=()
	mapfile -t tail_lines < <(grep -aE -m 20 -A 12 "$BAD" "$err" | cut -c1-200)
	[[ ${#tail_lines[@]} -gt 0 ]] || mapfile -t tail_lines < <(tail -n 5 "$err" | cut -c1-200)
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		fail "$what" "still running after ${secs}s (KEEP_TMP=1 keeps the input $file)" "${tail_lines[@]}"
	elif [[ $rc -gt 128 ]]; then
		fail "$what" "killed by signal $((rc - 128)) (KEEP_TMP=1 keeps the input $file); stderr:" \
			"${tail_lines[@]}"
	elif [[ $rc -ne 0 && $rc -ne 1 ]]; then
		fail "$what" "status $rc (want 0 or 1); stderr:" "${tail_lines[@]}"
	elif grep -aqE "$BAD" "$err"; then
		fail "$what" "a sanitizer or crash report on stderr:" "${tail_lines[@]}"
	else
		ok "$what"
	fi
}

# The runs, two at a time; then the checks in order.
jobs_running=0
labels=() names=() limits=()
spawn_run() { # BIN LABEL FILE SECONDS LIMIT
	if [[ $jobs_running -ge 2 ]]; then
		wait -n
		jobs_running=$((jobs_running - 1))
	fi
	run_chunk "$@" 2>>"$TMP/jobs.log" & # not bash's "Segmentation fault" lines
	jobs_running=$((jobs_running + 1))
}

for c in "${chunks[@]}"; do
	base=$(basename "$c" .gsh)
	labels+=("n-$base")
	names+=("garbage: $base")
	limits+=("$CHUNK_TIMEOUT")
	spawn_run "$GORTSH" "n-$base" "$c" "$CHUNK_TIMEOUT" 4194304
done

san=0
if [[ "$(basename "$BUILD_DIR")" != san-* && -x "$SAN_GORTSH" ]]; then
	san=1
	for c in "${chunks[@]}"; do
		base=$(basename "$c" .gsh)
		# The first SAN_BYTES, cut after a newline.
		head -c "$SAN_BYTES" "$c" | python3 -c '
import sys
d = sys.stdin.buffer.read()
k = d.rfind(b"\n")
sys.stdout.buffer.write(d[:k + 1] if k >= 0 else d)' >"$TMP/chunks/san-$base.gsh"
		labels+=("s-$base")
		names+=("garbage, ASan+UBSan: $base")
		limits+=("$SAN_TIMEOUT")
		spawn_run "$SAN_GORTSH" "s-$base" "$TMP/chunks/san-$base.gsh" "$SAN_TIMEOUT" 0
	done
fi
wait

for i in "${!labels[@]}"; do
	verdict "${labels[$i]}" "${names[$i]}" "${limits[$i]}"
done
if [[ $san == 0 ]]; then
	echo "# no ASan+UBSan build at $SAN_GORTSH (make SAN=address,undefined): skipped that part" >&2
fi

finish

#!/usr/bin/env bash
# test_determinism.sh — step mode is deterministic: the same --seed gives
# the same session byte for byte, another seed another schedule.
#
# Usage: tests/shell/test_determinism.sh [BUILD_DIR]      (default: build)
#
# Checks:
#  - the tour (examples/tour.gsh) run twice with --seed 5: identical output;
#  - the prime sieve (examples/sieve.gsh: channels, a dozen Gs handing values
#    down a chain) run twice: identical output;
#  - the scheduler workout (scripts/sched_many.gsh: 6 Ps, ~40 Gs, stealing,
#    parks, the global queue) run twice with --seed 11, traced (trace start
#    right after its init): identical output, identical trace file, and an
#    identical SVG of the arena it leaves;
#  - the same workout with --seed 12: its output differs from --seed 11's.
# Outputs are stdout and stderr together plus the exit status.
#
# Output: `ok - NAME` / `not ok - NAME`; the head of a diff on stderr as '#'
# lines. Exit status 1 if any check failed.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

# session DIR ARG... — runs gortsh in DIR (created), output in DIR/out.
session() {
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && run_gortsh "$@") </dev/null >"$dir/out" 2>&1
	echo "exit $?" >>"$dir/out"
}

# same NAME FILE1 FILE2 — ok if the files are equal.
same() {
	if [[ ! -s "$2" ]]; then
		fail "$1" "missing or empty: $2"
	elif cmp -s "$2" "$3"; then
		ok "$1"
	else
		diff -u "$2" "$3" >"$TMP/diff" 2>&1
		fail_file "$1" "differ: $2 $3" "$TMP/diff" 30
	fi
}

# The sieve: every hand-off and wake-up in the same order.
session "$TMP/sieve1" "$ROOT/examples/sieve.gsh"
session "$TMP/sieve2" "$ROOT/examples/sieve.gsh"
if grep -q '^exit 0$' "$TMP/sieve1/out"; then
	same "sieve: same output" "$TMP/sieve1/out" "$TMP/sieve2/out"
else
	fail_file "sieve: same output" "the sieve failed:" "$TMP/sieve1/out"
fi

# The tour.
session "$TMP/tour1" --seed 5 "$ROOT/examples/tour.gsh"
session "$TMP/tour2" --seed 5 "$ROOT/examples/tour.gsh"
if grep -q '^exit 0$' "$TMP/tour1/out"; then
	same "tour: same seed, same output" "$TMP/tour1/out" "$TMP/tour2/out"
else
	fail_file "tour: same seed, same output" "the tour failed:" "$TMP/tour1/out"
fi

# The scheduler workout, traced, then an SVG of what it leaves.
work=$TMP/sched_many.gsh
{
	sed -n '1,/^init /p' "$HERE/scripts/sched_many.gsh"
	echo "trace start trace.json"
	sed '1,/^init /d' "$HERE/scripts/sched_many.gsh"
	echo "trace stop"
	echo "export svg arena.svg"
} >"$work"
for run in a b; do
	session "$TMP/s11$run" --seed 11 "$work"
done
session "$TMP/s12" --seed 12 "$work"

steps=$(grep -c '^\[[0-9]*\] p' "$TMP/s11a/out")
if grep -q '^exit 0$' "$TMP/s11a/out" && [[ $steps -ge 50 ]]; then
	ok "workout runs ($steps steps)"
else
	fail_file "workout runs ($steps steps)" "expected exit 0 and at least 50 steps:" "$TMP/s11a/out"
fi
same "workout: same seed, same output" "$TMP/s11a/out" "$TMP/s11b/out"
same "workout: same seed, same trace" "$TMP/s11a/trace.json" "$TMP/s11b/trace.json"
same "workout: same seed, same SVG" "$TMP/s11a/arena.svg" "$TMP/s11b/arena.svg"
if cmp -s "$TMP/s11a/out" "$TMP/s12/out"; then
	fail "workout: another seed, another schedule" "--seed 11 and --seed 12 printed the same"
elif ! grep -q '^exit 0$' "$TMP/s12/out"; then
	fail_file "workout: another seed, another schedule" "--seed 12 failed:" "$TMP/s12/out"
else
	ok "workout: another seed, another schedule"
fi

finish

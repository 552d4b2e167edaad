#!/usr/bin/env bash
# run-tests.sh — builds and runs every test of gort and prints one total.
#
# Usage: scripts/run-tests.sh          (what `make test` runs)
#
# Default run:
#   1. the normal build (`make all test-bins fuzz-replay` into build/): every unit test
#      binary, then every shell test (tests/<folder>/*.sh for every folder but
#      unit/ and support/, e.g. tests/gen/, tests/preload/), given the build
#      folder as $1;
#   2. the unit tests again in the SAN=address,undefined and SAN=thread builds;
#   3. in the normal and the ASan+UBSan build, the fuzz corpora replayed
#      (fuzz/replay.sh: every file of corpus/<harness>/ through the harness,
#      no fuzzing), reported as `[BUILD] fuzz corpus`; in the SAN=thread
#      build, fuzz_threaded's corpus alone (threaded mode's random G
#      programs, where TSan sees real races), as
#      `[BUILD] fuzz corpus fuzz_threaded`.
# Environment:
#   SKIP_SAN=1    skip step 2 and the ASan+UBSan replay of step 3 (quick local runs)
#   SAN=LIST      only the unit tests of that sanitizer build (`make test SAN=thread`)
#   UNIT_ONLY=1   only the unit tests of the normal build (or of SAN's build)
#   CRITERION_JOBS  parallel tests within one suite (default 2)
#   TEST_TIMEOUT  seconds one suite or script may take (default 1200)
#
# Output: one line per suite, `[BUILD] NAME: N passed, N failed`, with the
# failing tests' diagnostics under it, and last exactly one line
# `N passed, N failed` over everything. Exit status 1 if anything failed.
#
# Counting: a Criterion suite contributes its closing "Synthesis" line
# (Passing, and Failing, which includes crashes); a suite that dies without
# that line, or exits nonzero with no failing test, counts one failure. A
# shell test contributes its `ok - ` and `not ok - ` lines; one that exits
# nonzero without a `not ok`, or reports nothing, counts one failure. A build
# that fails counts one failure and its tests are not run. Full output of each
# suite is kept in BUILD/test-logs/.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

MAKE=${MAKE:-make}
CRITERION_JOBS=${CRITERION_JOBS:-2}
TEST_TIMEOUT=${TEST_TIMEOUT:-1200}

# Reuse the caller's job server when started from `make -jN test`; otherwise
# build with one job per CPU.
make_args=(--no-print-directory)
if [[ "${MAKEFLAGS:-}" != *jobserver* && " ${MAKEFLAGS:-} " != *" -j"* ]]; then
	make_args+=("-j$(nproc 2>/dev/null || echo 2)")
fi

total_pass=0
total_fail=0

# report LABEL NAME PASSED FAILED
report() {
	echo "[$1] $2: $3 passed, $4 failed"
	total_pass=$((total_pass + $3))
	total_fail=$((total_fail + $4))
}

# show_log FILE PATTERN — the lines of a failed suite's log that match
# PATTERN (or, if none does, its last lines), indented.
show_log() {
	local log=$1 pattern=$2 lines
	lines=$(sed 's/\x1b\[[0-9;]*m//g' -- "$log" | grep -aE -- "$pattern" | head -n 40)
	[[ -n "$lines" ]] || lines=$(sed 's/\x1b\[[0-9;]*m//g' -- "$log" | tail -n 20)
	printf '%s\n' "$lines" "(full log: $log)" | sed 's/^/    /'
}

# build SAN GOAL... — builds one tree; 0 on success. Counts a failure otherwise.
build() {
	local san=$1
	shift
	if ! "$MAKE" "${make_args[@]}" SAN="$san" "$@"; then
		report "$(build_dir "$san")" "make $*" 0 1
		return 1
	fi
}

build_dir() {
	"$MAKE" --no-print-directory -s SAN="$1" print-build
}

# Sanitizer settings for the unit tests:
#  - abort_on_error/halt_on_error: the first report kills the test process, so
#    Criterion records that test as crashed and names it;
#  - LeakSanitizer stays on: Criterion's test workers leave with _exit and so
#    are not leak-checked, and the runner process itself does not leak, so it
#    costs nothing today and guards any test program that exits normally;
#  - TSan: setarch -R (no address randomisation) where allowed, because the
#    clang 14 runtime refuses some high-entropy layouts ("unexpected memory
#    mapping"); second_deadlock_stack helps read lock-order reports.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

norandom=()
if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R true 2>/dev/null; then
	norandom=(setarch "$(uname -m)" -R)
fi

# unit_tests SAN — runs every tests/unit/test_*.c suite of that build.
unit_tests() {
	local san=$1 dir label src name bin log rc line passed failed
	dir=$(build_dir "$san")
	label=$dir
	mkdir -p "$dir/test-logs"
	local wrap=()
	[[ "$san" == *thread* ]] && wrap=("${norandom[@]}")
	for src in tests/unit/test_*.c; do
		[[ -e "$src" ]] || continue
		name=$(basename "$src" .c)
		bin=$dir/tests/$name
		log=$dir/test-logs/$name.log
		if [[ ! -x "$bin" ]]; then
			report "$label" "$name" 0 1
			echo "    $bin was not built"
			continue
		fi
		timeout -k 10 "$TEST_TIMEOUT" "${wrap[@]}" "$bin" --jobs "$CRITERION_JOBS" --color=never \
			</dev/null >"$log" 2>&1
		rc=$?
		line=$(sed 's/\x1b\[[0-9;]*m//g' -- "$log" | grep -a 'Synthesis: Tested:' | tail -n 1)
		if [[ "$line" =~ Passing:\ *([0-9]+)\ *\|\ *Failing:\ *([0-9]+) ]]; then
			passed=${BASH_REMATCH[1]}
			failed=${BASH_REMATCH[2]}
			if [[ $rc -ne 0 && $failed -eq 0 ]]; then
				failed=1
			fi
		else
			passed=0
			failed=1
		fi
		report "$label" "$name" "$passed" "$failed"
		if [[ $failed -ne 0 ]]; then
			[[ $rc -eq 124 ]] && echo "    timed out after ${TEST_TIMEOUT}s"
			[[ -z "$line" ]] && echo "    exited with status $rc before its summary"
			show_log "$log" '^ *#[0-2] |\[FAIL\]|\[----\]|ERROR:|WARNING: .*Sanitizer|runtime error|SUMMARY:|gort: '
		fi
	done
}

# script_tests BUILD_DIR — every shell test, given the build folder.
script_tests() {
	local dir=$1 t name log rc passed failed
	mkdir -p "$dir/test-logs"
	for t in tests/*/*.sh; do
		[[ -e "$t" ]] || continue
		case $t in tests/unit/* | tests/support/*) continue ;; esac
		name=${t#tests/}
		name=${name%.sh}
		log=$dir/test-logs/${name//\//-}.log
		timeout -k 10 "$TEST_TIMEOUT" bash "$t" "$dir" </dev/null >"$log" 2>&1
		rc=$?
		passed=$(grep -ac '^ok - ' -- "$log")
		failed=$(grep -ac '^not ok - ' -- "$log")
		if [[ $failed -eq 0 && ($rc -ne 0 || $passed -eq 0) ]]; then
			failed=1
		fi
		report "$dir" "$name" "$passed" "$failed"
		if [[ $failed -ne 0 ]]; then
			[[ $rc -eq 124 ]] && echo "    timed out after ${TEST_TIMEOUT}s"
			[[ $rc -ne 0 ]] && echo "    exit status $rc"
			show_log "$log" '^not ok - |^#'
		fi
	done
}

# fuzz_corpus SAN [HARNESS...] — the fuzz harnesses' corpora replayed as
# regression tests (fuzz/replay.sh: every file of corpus/<harness>/, no
# fuzzing), through drivers built with that build's compiler and flags: every
# harness, or only those named (only their drivers are built). One line per
# harness.
fuzz_corpus() {
	local san=$1 dir log rc passed failed name="fuzz corpus" goals=(fuzz-replay) wrap=() rounds=1
	shift
	[[ -d fuzz && -d corpus ]] || return 0
	dir=$(build_dir "$san")
	if [[ $# -gt 0 ]]; then
		goals=("${@/#/$dir/fuzz-replay/}")
		name="fuzz corpus $*"
	fi
	# Threaded runs differ every time: under TSan each input runs 10 times
	# (fuzz_threaded reads GORT_FUZZ_ROUNDS).
	[[ "$san" == *thread* ]] && wrap=("${norandom[@]}") rounds=10
	build "$san" "${goals[@]}" || return 0
	mkdir -p "$dir/test-logs"
	log=$dir/test-logs/${name// /-}.log
	GORT_FUZZ_ROUNDS=$rounds timeout -k 10 "$TEST_TIMEOUT" "${wrap[@]}" \
		bash fuzz/replay.sh "$dir" "$@" </dev/null >"$log" 2>&1
	rc=$?
	passed=$(grep -ac '^ok - ' -- "$log")
	failed=$(grep -ac '^not ok - ' -- "$log")
	if [[ $failed -eq 0 && ($rc -ne 0 || $passed -eq 0) ]]; then
		failed=1
	fi
	report "$dir" "$name" "$passed" "$failed"
	if [[ $failed -ne 0 ]]; then
		[[ $rc -eq 124 ]] && echo "    timed out after ${TEST_TIMEOUT}s"
		show_log "$log" '^not ok - |^#'
	fi
}

if [[ -n "${SAN:-}" ]]; then
	build "$SAN" test-bins && unit_tests "$SAN"
elif [[ "${UNIT_ONLY:-0}" == 1 ]]; then
	build "" test-bins && unit_tests ""
else
	# fuzz-replay too: tests/shell/test_fuzz2gsh.sh drives the replay drivers.
	if build "" all test-bins fuzz-replay; then
		unit_tests ""
		script_tests "$(build_dir "")"
		fuzz_corpus ""
	fi
	if [[ "${SKIP_SAN:-0}" != 1 ]]; then
		for san in address,undefined thread; do
			if build "$san" test-bins; then
				unit_tests "$san"
				[[ $san != address,undefined ]] || fuzz_corpus "$san"
				[[ $san != thread ]] || fuzz_corpus "$san" fuzz_threaded
			fi
		done
	fi
fi

echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]

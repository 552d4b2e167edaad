#!/usr/bin/env bash
# fuzz/run.sh — runs the fuzz harnesses built by `make fuzz` (the Makefile's
# fuzz-run, afl-run and fuzz-merge targets call it).
#
# Usage: fuzz/run.sh libfuzzer SECONDS FUZZ_ROOT HARNESS...
#        fuzz/run.sh afl       SECONDS AFL_ROOT  HARNESS...
#        fuzz/run.sh merge     0       FUZZ_ROOT HARNESS...
#
# libfuzzer  each harness fuzzes for SECONDS on corpus/H/ (read only); new
#            inputs go to FUZZ_ROOT/runs/H/new, crash/leak/timeout files to
#            FUZZ_ROOT/runs/H/artifacts/, the log to FUZZ_ROOT/runs/H/log.
#            -dict=fuzz/H.dict if it exists; FUZZ_FLAGS adds libFuzzer flags
#            (e.g. FUZZ_FLAGS='-fork=2' or '-jobs=2 -workers=2').
# afl        afl-fuzz for SECONDS (-V) per harness as one secondary instance
#            (-S, as AFL++ advises for CI; no -M), with the CmpLog binary
#            (-c H.cmplog), input a flat copy of corpus/H/, output
#            AFL_ROOT/runs/H/out; -x fuzz/H.dict if it exists. AFL_FLAGS adds
#            afl-fuzz flags.
# merge      minimizes FUZZ_ROOT/runs/H/new into corpus/H/ (libFuzzer
#            -merge=1 -use_counters=0: only inputs that add coverage edges;
#            names are sha1s).
#
# Exit status 1 if any harness crashed, with the reproducers' paths printed
# (`crash: PATH`); reproduce with `build/fuzz-replay/H PATH` (or build/fuzz/H
# PATH), read it with `GORT_FUZZ_TRACE=1 build/fuzz-replay/H PATH`, step
# through it in gortsh with `fuzz/fuzz2gsh H PATH > find.gsh`.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

mode=${1:?mode}
seconds=${2:?seconds}
root=${3:?build folder}
shift 3
harnesses=("$@")
status=0
# make passes its command-line variables down; afl-fuzz warns about any
# AFL_* it does not know.
unset AFL_SECONDS

libfuzzer() {
	local h=$1 out=$root/runs/$1 dict=() rc
	mkdir -p "$out/new" "$out/artifacts"
	[[ -f fuzz/$h.dict ]] && dict=("-dict=fuzz/$h.dict")
	echo "fuzz-run: $h, libFuzzer, ${seconds}s (log: $out/log)"
	# shellcheck disable=SC2086
	"$root/$h" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
		-artifact_prefix="$out/artifacts/" "${dict[@]}" ${FUZZ_FLAGS:-} \
		"$out/new" "corpus/$h" >"$out/log" 2>&1
	rc=$?
	grep -aE '^(stat::|#[0-9]+[[:space:]]+DONE)' "$out/log" | sed 's/^/    /'
	if [[ $rc -ne 0 ]]; then
		echo "fuzz-run: $h FAILED (exit $rc); the harness said:"
		grep -aE -A30 'FAILED at (op|line)|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' \
			"$out/log" | head -n 60 | sed 's/^/    /'
		status=1
	fi
	local f
	for f in "$out"/artifacts/*; do
		[[ -e "$f" ]] || continue
		echo "crash: $f"
		[[ $h == fuzz_shell ]] || echo "  as a gortsh script: fuzz/fuzz2gsh $h $f > find.gsh"
		status=1
	done
}

afl() {
	local h=$1 out=$root/runs/$1 in rc dict=()
	in=$out/in
	[[ -f fuzz/$h.dict ]] && dict=(-x "fuzz/$h.dict")
	rm -rf "$in"
	mkdir -p "$in" "$out/out"
	# A flat copy of the corpus, regressions included; empty files are
	# useless to AFL++.
	find "corpus/$h" -type f -size +0 -exec cp -t "$in" {} + 2>/dev/null
	if [[ -z "$(ls -A "$in")" ]]; then
		printf 'seed' >"$in/seed"
	fi
	echo "afl-run: $h, AFL++ -S, ${seconds}s (log: $out/log)"
	# shellcheck disable=SC2086
	AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
		AFL_FAST_CAL=1 AFL_CMPLOG_ONLY_NEW=1 AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=0 \
		ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1 \
		UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=0 \
		afl-fuzz -i "$in" -o "$out/out" -S ci -V "$seconds" -m none -t 2000 \
		-c "$root/$h.cmplog" "${dict[@]}" ${AFL_FLAGS:-} -- "$root/$h" >"$out/log" 2>&1
	rc=$?
	local stats=$out/out/ci/fuzzer_stats
	if [[ -f $stats ]]; then
		grep -E '^(execs_done|execs_per_sec|corpus_count|edges_found|total_edges|saved_crashes|saved_hangs|run_time) ' \
			"$stats" | sed 's/^/    /'
	fi
	if [[ $rc -ne 0 ]]; then
		echo "afl-run: $h FAILED (exit $rc)"
		tail -n 20 "$out/log" | sed 's/^/    /'
		status=1
	fi
	local f
	for f in "$out"/out/ci/crashes/id:*; do
		[[ -e "$f" ]] || continue
		echo "crash: $f"
		[[ $h == fuzz_shell ]] || echo "  as a gortsh script: fuzz/fuzz2gsh $h $f > find.gsh"
		status=1
	done
}

merge() {
	local h=$1 out=$root/runs/$1
	mkdir -p "$out/new" "corpus/$h"
	echo "fuzz-merge: $out/new into corpus/$h"
	# Edges only (-use_counters=0): the checked-in corpus keeps one input
	# per new edge instead of one per hit-count bucket, a tenth as many.
	"$root/$h" -merge=1 -use_counters=0 "corpus/$h" "$out/new" >"$out/merge.log" 2>&1 ||
		{ tail -n 20 "$out/merge.log"; status=1; }
	grep -aE 'MERGE-OUTER: [0-9]+ new files' "$out/merge.log" | sed 's/^/    /'
}

for h in "${harnesses[@]}"; do
	case $mode in
	libfuzzer) libfuzzer "$h" ;;
	afl) afl "$h" ;;
	merge) merge "$h" ;;
	*)
		echo "run.sh: unknown mode $mode" >&2
		exit 2
		;;
	esac
done
exit $status

#!/usr/bin/env bash
# fuzz/replay.sh — replays every file of corpus/<harness>/ (regressions/
# included) through BUILD/fuzz-replay/<harness>: a regression test, no
# fuzzing. fuzz_shell's threaded/ scripts run again with threads allowed,
# and its overbudget/ inputs must be refused by its admission check.
# scripts/run-tests.sh runs it for the normal build and the ASan+UBSan build
# (`make fuzz-replay` builds the drivers).
#
# Usage: fuzz/replay.sh BUILD_DIR [HARNESS...]    (default: every corpus/*/)
#
# Prints `ok - fuzz_alloc corpus (N inputs)` or `not ok - ...` per harness,
# with the harness's failure message and the failing file's path on stderr
# (lines starting with #). Known library and shell bugs the harnesses
# tolerate are noted with a `#` line; GORT_FUZZ_STRICT=1 makes them failures.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

build=${1:?build folder}
shift
harnesses=("$@")
if [[ ${#harnesses[@]} -eq 0 ]]; then
	for d in corpus/*/; do
		d=${d%/}
		harnesses+=("${d#corpus/}")
	done
fi

status=0
for h in "${harnesses[@]}"; do
	bin=$build/fuzz-replay/$h
	n=$(find "corpus/$h" -type f ! -name '.*' | wc -l) # run_inputs skips dotfiles
	if [[ ! -x $bin ]]; then
		echo "not ok - $h corpus ($bin was not built)"
		status=1
		continue
	fi
	log=$(mktemp "${TMPDIR:-/tmp}/gort-replay.XXXXXX")
	# -v names each file as it starts, so a failure names its input.
	"$bin" -v "corpus/$h" >"$log" 2>&1
	rc=$?
	ran=$(sed -n 's/^ran \([0-9]*\) inputs$/\1/p' "$log")
	if [[ $rc -eq 0 && "$ran" == "$n" ]]; then
		echo "ok - $h corpus ($n inputs)"
		grep -aE 'known (library|shell) bug' "$log" | sort -u | sed 's/^/# /' >&2
	else
		echo "not ok - $h corpus (exit $rc, ran ${ran:-?} of $n inputs)"
		last=$(grep -a '^input ' "$log" | tail -n 1)
		echo "# failing input: ${last:-unknown}" >&2
		grep -av '^input ' "$log" | tail -n 25 | sed 's/^/# /' >&2
		status=1
	fi
	rm -f "$log"
	# Threaded inputs (corpus/fuzz_shell/threaded/) are skipped above: the
	# harness admits threaded mode only with GORT_FUZZ_THREADS=1, as it is
	# not deterministic. Replayed again with it, they run sched/m.c and mthread.c.
	if [[ -d corpus/$h/threaded ]]; then
		nt=$(find "corpus/$h/threaded" -type f | wc -l)
		if GORT_FUZZ_THREADS=1 timeout 300 "$bin" "corpus/$h/threaded" >"$log" 2>&1 &&
			grep -q "^ran $nt inputs$" "$log"; then
			echo "ok - $h threaded corpus ($nt inputs, GORT_FUZZ_THREADS=1)"
		else
			echo "not ok - $h threaded corpus"
			tail -n 25 "$log" | sed 's/^/# /' >&2
			status=1
		fi
		rm -f "$log"
	fi
	# corpus/fuzz_shell/overbudget/: inputs whose cost the admission check
	# must see as over its budget (each once slipped past it): the harness
	# runs none of them.
	if [[ -d corpus/$h/overbudget ]]; then
		no=0 bad=""
		while IFS= read -r -d '' f; do
			no=$((no + 1))
			GORT_FUZZ_TRACE=1 timeout 60 "$bin" "$f" >"$log" 2>&1
			grep -q "skipped: over the cost budget" "$log" || bad=${bad:-$f}
		done < <(find "corpus/$h/overbudget" -type f -print0 | LC_ALL=C sort -z)
		if [[ -z $bad ]]; then
			echo "ok - $h over-budget inputs are refused ($no inputs)"
		else
			echo "not ok - $h over-budget inputs are refused"
			echo "# admitted: $bad" >&2
			status=1
		fi
		rm -f "$log"
	fi
done
exit $status

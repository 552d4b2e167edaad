#!/usr/bin/env bash
# coverage.sh — line coverage of lib/ reached by the fuzz harnesses' corpora
# (clang source-based coverage): what `make coverage` runs.
#
# Builds the corpus-replay drivers (fuzz/run_inputs.c + each harness, the
# same programs `make test` replays the corpora with) into build/coverage/
# with -fprofile-instr-generate -fcoverage-mapping, replays every file of
# corpus/<harness>/ through its driver, merges the profiles and prints
# llvm-cov's report for lib/ (per file and the total), then the total line
# coverage as one line: `coverage: lib/ lines N.N% (covered/total)`.
# An HTML report goes to build/coverage/html/.
#
# Usage: scripts/coverage.sh [HARNESS...]   (default: every corpus/*/)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

root=${COVERAGE_ROOT:-build/coverage}
profdata=$(command -v llvm-profdata || command -v llvm-profdata-14)
llvmcov=$(command -v llvm-cov || command -v llvm-cov-14)
flags='-fprofile-instr-generate -fcoverage-mapping'

make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" CC=clang BUILD_ROOT="$root" \
	CFLAGS="$flags" LDFLAGS="-fprofile-instr-generate" fuzz-replay >/dev/null

harnesses=("$@")
if [[ ${#harnesses[@]} -eq 0 ]]; then
	for d in corpus/*/; do
		d=${d%/}
		harnesses+=("${d#corpus/}")
	done
fi

rm -rf "$root/profiles"
mkdir -p "$root/profiles"
objects=()
for h in "${harnesses[@]}"; do
	bin=$root/fuzz-replay/$h
	[[ -x $bin ]] || { echo "coverage: $bin was not built" >&2; exit 1; }
	# Inputs that make a harness fail (known library bugs it tolerates)
	# still count: the profile is written at exit either way.
	LLVM_PROFILE_FILE="$root/profiles/$h-%p.profraw" "$bin" "corpus/$h" >/dev/null 2>&1 || true
	# fuzz_shell's threaded/ inputs run only with GORT_FUZZ_THREADS=1
	# (threaded mode is not deterministic): they reach sched/m.c and mthread.c.
	if [[ -d corpus/$h/threaded ]]; then
		GORT_FUZZ_THREADS=1 LLVM_PROFILE_FILE="$root/profiles/$h-threaded-%p.profraw" \
			"$bin" "corpus/$h/threaded" >/dev/null 2>&1 || true
	fi
	objects+=(-object "$bin")
done

"$profdata" merge -sparse "$root"/profiles/*.profraw -o "$root/merged.profdata"
sources=$(find lib -name '*.c' -not -path 'lib/preload/*' | LC_ALL=C sort)
# shellcheck disable=SC2086
"$llvmcov" report "${objects[@]:1}" -instr-profile="$root/merged.profdata" $sources |
	tee "$root/report.txt"
# shellcheck disable=SC2086
"$llvmcov" show "${objects[@]:1}" -instr-profile="$root/merged.profdata" -format=html \
	-output-dir="$root/html" $sources >/dev/null
awk '$1 == "TOTAL" { covered = $8 - $9; printf "coverage: lib/ lines %s (%d/%d)\n", $10, covered, $8 }' \
	"$root/report.txt"

#!/usr/bin/env bash
# test_misuse.sh — the misuse suite: every case of tests/misuse/cases.txt,
# at each of its sizes, under each preset, through LD_PRELOAD (misuse_libc
# with libgortmalloc.so) and through gort_* (misuse_gort); each run's ending
# must be exactly the one the table gives for that preset.
#
# Usage: tests/misuse/test_misuse.sh [BUILD_DIR]       (default: build)
#        TABLE=1 tests/misuse/test_misuse.sh [BUILD_DIR]
#            prints what each case does now, in the table's format, instead
#            of checking (for writing a new case's expectations by hand:
#            read it, never paste it blindly).
#
# Outcomes: `exit0` (ran to the end: the case checks return values, or a
# misuse went unnoticed and it printed "not caught"), `abort:KIND` (SIGABRT
# after a `gort: KIND in CALL: ...` or `gort: stack overflow in goroutine
# N ...` line on stderr, spaces in KIND written as _),
# `segv` (SIGSEGV or SIGBUS: a guard page), `exit:N`, `timeout`.
# An expectation of `-` makes no promise (light only, where the outcome is
# an accident of the heap's layout); the run is still made and shown.
#
# Output: TAP-style `ok - ` / `not ok - ` lines, one per case, size and
# preset (both builds in one line). Exit status 1 if any failed.
set -u
BUILD=${1:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIBC_BIN=$BUILD/misuse/misuse_libc
GORT_BIN=$BUILD/misuse/misuse_gort
PRELOAD=$(realpath -m -- "$BUILD/libgortmalloc.so")
PRESETS=(light default paranoid)
ulimit -c 0

for f in "$LIBC_BIN" "$GORT_BIN" "$PRELOAD"; do
	if [[ ! -x "$f" && ! -f "$f" ]]; then
		echo "not ok - misuse suite built ($f missing)"
		exit 1
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gort-misuse.XXXXXX") || exit 1
trap 'rm -rf -- "$TMP"' EXIT

# outcome PRESET CMD... — how the command ended, as described above.
outcome() {
	local preset=$1
	shift
	GORT_HARDEN=$preset timeout -s KILL 60 "$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	case $rc in
	0) echo exit0 ;;
	134)
		local kind
		kind=$(sed -n -e 's/^gort: \(stack overflow\) in goroutine .*/\1/p' \
			-e 's/^gort: \([a-zA-Z -]*[a-zA-Z]\) in [^:(]*[:(].*/\1/p' \
			-e 's/^gort: \([a-zA-Z -]*\):.*/\1/p' "$TMP/err" | head -n1)
		echo "abort:${kind// /_}"
		;;
	135 | 139) echo segv ;;
	137) echo timeout ;;
	*) echo "exit:$rc" ;;
	esac
}

fails=0
total=0
while read -r name sizes via light default paranoid; do
	[[ -z "$name" || "$name" == \#* ]] && continue
	declare -A want=([light]=$light [default]=$default [paranoid]=$paranoid)
	IFS=, read -r -a size_list <<<"$sizes"
	for size in "${size_list[@]}"; do
		arg=()
		[[ "$size" != - ]] && arg=("$size")
		row=()
		for preset in "${PRESETS[@]}"; do
			got_gort=-
			if [[ "$via" != libc ]]; then
				got_gort=$(outcome "$preset" "$GORT_BIN" "$name" "${arg[@]}")
			fi
			got_libc=-
			if [[ "$via" != gort ]]; then
				got_libc=$(outcome "$preset" env LD_PRELOAD="$PRELOAD" "$LIBC_BIN" "$name" "${arg[@]}")
			fi
			if [[ "${TABLE:-0}" == 1 ]]; then
				row+=("$got_gort/$got_libc")
				continue
			fi
			total=$((total + 1))
			label=$name
			[[ "$size" != - ]] && label+=" $size"
			label+=" $preset"
			w=${want[$preset]}
			if [[ "$w" == - ]]; then
				echo "ok - $label: no promise (gort $got_gort, preload $got_libc)"
			elif [[ ("$via" == libc || "$got_gort" == "$w") && ("$via" == gort || "$got_libc" == "$w") ]]; then
				echo "ok - $label: $w"
			else
				echo "not ok - $label: want $w, gort $got_gort, preload $got_libc"
				sed 's/^/#   /' "$TMP/err" | head -n 3 >&2
				fails=$((fails + 1))
			fi
		done
		[[ "${TABLE:-0}" == 1 ]] && echo "$name $size $via ${row[*]}"
	done
	unset want
done <"$HERE/cases.txt"

[[ "${TABLE:-0}" == 1 ]] && exit 0
echo "# $total runs checked, $fails failed"
((fails == 0))

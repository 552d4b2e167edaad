#!/usr/bin/env bash
# test_fuzz2gsh.sh — every corpus input of fuzz_alloc, fuzz_misuse and
# fuzz_sched, turned into a gortsh script by fuzz/fuzz2gsh (the harness's own
# conversion: GORT_FUZZ_GSH=1, see fuzz/shadow_gsh.c and fuzz/fuzz_sched.c),
# leaves gortsh as the harness was at the end of the input, before its
# final clean-up:
#  - fuzz_alloc, fuzz_misuse: exactly the same spans (bases, pages, classes,
#    live slot counts; fuzz2gsh_state.py reads them from `dump spans`);
#  - fuzz_sched: every step runs the G the harness's step ran, on the same
#    P, from the same queue; the end is exactly the same scheduler state
#    (steps made; each P's schedtick, free Gs, runnext and ring in order;
#    the global queue; every live G's goid and status;
#    fuzz2gsh_sched_state.py reads them from `step`, `ps`, `dump runq
#    global`, `gs` and `schedtrace`); and no command fails but those the
#    script expects to (`try`).
# fuzz_sched inputs whose bodies use channels, mutexes, the WaitGroup or
# sleeps become scripts with `chan` commands and gortsh's chan, select,
# lock, wg and sleep body steps: they are skipped (and counted) while
# gortsh has no `chan` command (its help lists none). A script marked
# `# inexact:` holds a call gortsh has no command for (a try_send or
# close from outside any G, a trylock): it is skipped too.
# So a fuzz find can be stepped through in the shell, and the shell's
# commands are shown to drive the allocator and the scheduler exactly as
# the harnesses did.
#
# Usage: tests/shell/test_fuzz2gsh.sh BUILD_DIR
# Output: `ok - NAME` / `not ok - NAME` per harness (with the first
# differing input on stderr); exit 1 if any failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
build=${1:?build folder}
root=$PWD
gortsh=$root/$build/gortsh
[[ $build == /* ]] && gortsh=$build/gortsh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gort-fuzz2gsh.XXXXXX")
has_chan=0
if [[ -x $gortsh ]] && printf 'help\n' | "$gortsh" --norc 2>/dev/null | grep -qE '^ +chan +'; then
	has_chan=1
fi
trap 'rm -rf "$tmp"' EXIT
status=0

for h in fuzz_alloc fuzz_misuse fuzz_sched; do
	# read_state: gortsh's JSON on stdin, the state on stdout; strict: the
	# script's commands may fail only under try.
	case $h in
	fuzz_sched)
		read_state=(python3 "$root/tests/shell/fuzz2gsh_sched_state.py" "$tmp/s.gsh")
		what="scheduler state" strict=1
		;;
	*)
		read_state=(python3 "$root/tests/shell/fuzz2gsh_state.py")
		what=spans strict=0
		;;
	esac
	bin=$build/fuzz-replay/$h
	if [[ ! -x $bin || ! -x $gortsh ]]; then
		echo "not ok - $h inputs as gortsh scripts ($bin or $gortsh was not built)"
		status=1
		continue
	fi
	n=0 bad="" skipped=0
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		if ! "$root/fuzz/fuzz2gsh" "$h" "$f" "$build" >"$tmp/s.gsh" 2>"$tmp/err"; then
			bad="$f (the harness failed: $(tail -1 "$tmp/err"))"
			break
		fi
		if grep -q '^# inexact:' "$tmp/s.gsh" ||
			{ [[ $has_chan == 0 ]] && grep -q '^chan ' "$tmp/s.gsh"; }; then
			skipped=$((skipped + 1))
			continue
		fi
		want=$(sed -n 's/^# state: *//p' "$tmp/s.gsh")
		(cd "$tmp" && "$gortsh" --norc --json --keep-going s.gsh >"$tmp/out" 2>"$tmp/gerr")
		rc=$?
		got=$("${read_state[@]}" <"$tmp/out" 2>&1)
		if ! grep -q '^# state:' "$tmp/s.gsh" || [[ $want != "$got" ]]; then
			bad="$f
#   harness: ${want:0:300}
#   gortsh:  ${got:0:300}"
			break
		fi
		if [[ $strict == 1 && $rc != 0 ]]; then
			bad="$f (gortsh exited $rc: $(grep -m1 error: "$tmp/gerr"))"
			break
		fi
	done < <(find "corpus/$h" -type f -print0 | LC_ALL=C sort -z)
	name="$h: $((n - skipped)) inputs as gortsh scripts leave the harness's $what"
	((skipped)) && name+=" ($skipped skipped: channel steps without gortsh's chan, or inexact)"
	if [[ -z $bad ]]; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		echo "# first difference: $bad" >&2
		status=1
	fi
done
exit $status

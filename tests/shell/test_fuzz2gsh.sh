#!/usr/bin/env bash
# test_fuzz2gsh.sh — every fuzz_alloc and fuzz_misuse corpus input, turned
# into a gortsh script by its harness (GORT_FUZZ_GSH=1, see fuzz/shadow.h),
# leaves gortsh with exactly the spans the harness had before it freed
# everything: the same bases, pages, classes and live slot counts. So a
# fuzz find can be stepped through in the shell, and the shell's commands
# are shown to drive the allocator exactly as the harness did.
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
trap 'rm -rf "$tmp"' EXIT
status=0

for h in fuzz_alloc fuzz_misuse; do
	bin=$build/fuzz-replay/$h
	if [[ ! -x $bin || ! -x $gortsh ]]; then
		echo "not ok - $h inputs as gortsh scripts ($bin or $gortsh was not built)"
		status=1
		continue
	fi
	n=0 bad=""
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		if ! GORT_FUZZ_GSH=1 "$bin" "$f" >"$tmp/s.gsh" 2>"$tmp/err"; then
			bad="$f (the harness failed: $(tail -1 "$tmp/err"))"
			break
		fi
		want=$(sed -n 's/^# state: *//p' "$tmp/s.gsh")
		got=$(cd "$tmp" && "$gortsh" --norc --json --keep-going s.gsh 2>"$tmp/gerr" |
			python3 "$root/tests/shell/fuzz2gsh_state.py" 2>&1)
		if ! grep -q '^# state:' "$tmp/s.gsh" || [[ $want != "$got" ]]; then
			bad="$f
#   harness: ${want:0:300}
#   gortsh:  ${got:0:300}"
			break
		fi
	done < <(find "corpus/$h" -type f -print0 | LC_ALL=C sort -z)
	if [[ -z $bad ]]; then
		echo "ok - $h: $n inputs as gortsh scripts leave the harness's spans"
	else
		echo "not ok - $h: $n inputs as gortsh scripts leave the harness's spans"
		echo "# first difference: $bad" >&2
		status=1
	fi
done
exit $status

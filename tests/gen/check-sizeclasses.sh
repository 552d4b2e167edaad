#!/usr/bin/env bash
# check-sizeclasses.sh — owns one check: lib/mem/sizeclass_table.c is exactly
# what tools/mksizeclasses.c prints. It builds the generator with ${CC:-cc}
# into $1 (a build directory, created if needed) or a temporary directory,
# runs it and compares its output with the checked-in table.
#
# Prints one TAP-style line, `ok - ...` (exit 0) or `not ok - ...` (exit 1);
# on failure the reason, and the head of the diff, go to stderr.
set -u

name="sizeclass table matches generator"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cc=${CC:-cc}

fail() {
	echo "not ok - $name"
	exit 1
}

if [ $# -ge 1 ] && [ -n "$1" ]; then
	dir=$1
	mkdir -p "$dir" || { echo "check-sizeclasses: cannot create $dir" >&2; fail; }
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/check-sizeclasses.XXXXXX") ||
		{ echo "check-sizeclasses: mktemp failed" >&2; fail; }
	trap 'rm -rf -- "$dir"' EXIT
fi

gen="$dir/mksizeclasses"
out="$dir/sizeclass_table.c"
table="$root/lib/mem/sizeclass_table.c"

if ! $cc -std=gnu11 -O2 -o "$gen" "$root/tools/mksizeclasses.c" >"$dir/mksizeclasses.log" 2>&1; then
	echo "check-sizeclasses: $cc failed to build tools/mksizeclasses.c:" >&2
	head -n 20 "$dir/mksizeclasses.log" >&2
	fail
fi
if ! "$gen" >"$out" 2>"$dir/mksizeclasses.err"; then
	echo "check-sizeclasses: the generator's self-checks failed:" >&2
	head -n 20 "$dir/mksizeclasses.err" >&2
	fail
fi
if [ ! -f "$table" ]; then
	echo "check-sizeclasses: $table is missing" >&2
	fail
fi
if ! diff -u "$table" "$out" >"$dir/sizeclass_table.diff" 2>&1; then
	echo "check-sizeclasses: lib/mem/sizeclass_table.c differs from the output of" \
		"tools/mksizeclasses.c (regenerate the table; never edit it):" >&2
	head -n 40 "$dir/sizeclass_table.diff" >&2
	fail
fi
echo "ok - $name"
exit 0

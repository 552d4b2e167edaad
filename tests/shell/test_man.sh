#!/usr/bin/env bash
# test_man.sh — the manual pages keep step with what they describe:
# man/gortsh.1 has an entry for every command `help` lists, man/gort.3 names
# every GORT_API function of gort.h, and both render without a warning.
#
# Usage: tests/shell/test_man.sh [BUILD_DIR]        (default: build)
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

page1=$ROOT/man/gortsh.1
page3=$ROOT/man/gort.3
for p in "$page1" "$page3"; do
	if [[ ! -f "$p" ]]; then
		fail "man/$(basename "$p") exists"
		finish
	fi
done

# The head of each .TP item of gortsh.1, font escapes and macros dropped:
# a command has an entry when it starts an item or follows ", " in one.
entries=$(awk 'item { print; item = 0 } /^\.TP/ { item = 1 }' "$page1" |
	sed -E 's/\\f[BIRP]//g; s/^\.[A-Z]+ //; s/"//g; s/ *, */, /g')
missing=()
while read -r cmd _; do
	grep -qE "^$cmd( |,|$)|, $cmd( |,|$)" <<<"$entries" || missing+=("$cmd")
done < <(run_gortsh -c help | grep -E '^  [a-z]+ ')
if [[ ${#missing[@]} -eq 0 ]]; then
	ok "gortsh.1: an entry for every command help lists"
else
	fail "gortsh.1: an entry for every command help lists" "missing: ${missing[*]}"
fi

missing=()
for fn in $(sed -nE 's/^GORT_API [^(]*[ *](gort_[a-z0-9_]+)\(.*/\1/p' "$ROOT/lib/include/gort.h"); do
	grep -qE "(^|[^a-z_])$fn([^a-z0-9_]|$)" "$page3" || missing+=("$fn")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	ok "gort.3: every GORT_API function of gort.h"
else
	fail "gort.3: every GORT_API function of gort.h" "missing: ${missing[*]}"
fi

missing=()
for var in $(grep -rhoE 'getenv\("[A-Z_]+"\)' "$ROOT/lib" | sed -E 's/.*"(.*)".*/\1/' | sort -u); do
	grep -qE "^\.B $var\$" "$page3" || missing+=("$var")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	ok "gort.3: every environment variable the library reads"
else
	fail "gort.3: every environment variable the library reads" "missing: ${missing[*]}"
fi

if command -v groff >/dev/null 2>&1; then
	for p in "$page1" "$page3"; do
		if groff -man -ww -z -Tutf8 "$p" >"$TMP/groff" 2>&1 && [[ ! -s "$TMP/groff" ]]; then
			ok "$(basename "$p") renders without a warning"
		else
			fail_file "$(basename "$p") renders without a warning" "groff said:" "$TMP/groff"
		fi
	done
else
	fail "groff is installed" "scripts/deps.sh test installs groff-base"
fi
finish

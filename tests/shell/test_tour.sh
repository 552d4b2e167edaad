#!/usr/bin/env bash
# test_tour.sh — the guided tour's words match its output: every
# `# expect: REGEX` line of examples/tour.gsh (what the sentence above the
# command says the command shows) must match that command's output
# (check_expect.py). The tour's whole output is also a golden file
# (test_scripts.sh); this test is what ties the sentences to it.
#
# Usage: tests/shell/test_tour.sh [BUILD_DIR]        (default: build)
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

if ! command -v python3 >/dev/null 2>&1; then
	fail "python3 is installed" "check_expect.py needs python3"
	finish
fi
w=$TMP/tour
mkdir -p "$w/examples"
cp "$ROOT/examples/tour.gsh" "$w/examples/"
(cd "$w" && run_gortsh --echo --keep-going examples/tour.gsh) </dev/null >"$w/out" 2>&1
if python3 "$HERE/check_expect.py" "$w/examples/tour.gsh" "$w/out" >"$w/check" 2>&1; then
	ok "tour: every expect line matches its command's output ($(tail -n 1 "$w/check"))"
else
	fail_file "tour: every expect line matches its command's output" "check_expect.py:" "$w/check" 40
fi
finish

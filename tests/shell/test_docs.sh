#!/usr/bin/env bash
# test_docs.sh — every example of README.md and docs/*.md runs and gives
# the output the page shows: gortsh sessions, shell commands, the C
# program (check_docs.py describes the fenced blocks' kinds). The commands
# that build against an installed gort (pkg-config) use a staged
# `make install` of this build.
#
# Usage: tests/shell/test_docs.sh [BUILD_DIR]        (default: build)
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

if ! command -v python3 >/dev/null 2>&1; then
	fail "python3 is installed" "check_docs.py needs python3"
	finish
fi
stage=$TMP/stage
if ! make -C "$ROOT" --no-print-directory -s install BUILD_ROOT="$(realpath -m -- "$BUILD_DIR")" \
	DESTDIR="$stage" PREFIX=/usr/local >"$TMP/install.log" 2>&1; then
	fail_file "make install for the pkg-config examples" "make said:" "$TMP/install.log" 20
fi
# pkg-config's prefix is the staged one (gort.pc writes its folders from ${prefix}).
sed -i "s|^prefix=.*|prefix=$stage/usr/local|" "$stage/usr/local/lib/pkgconfig/gort.pc" 2>/dev/null
cd "$ROOT" || exit 1
GORT_STAGE=$stage/usr/local python3 "$HERE/check_docs.py" "$BUILD_DIR" README.md docs/*.md || FAILED=1
finish

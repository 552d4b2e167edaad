#!/usr/bin/env bash
# test_install.sh — `make install` into a staging folder (DESTDIR): the
# headers, the libraries, gortsh, the man pages (gortsh.1, gort.3), and a gort.pc whose folders are written
# from ${prefix} (so pkg-config --define-variable=prefix=... relocates
# them), with LIBDIR honoured when it is elsewhere.
#
# Usage: tests/shell/test_install.sh [BUILD_DIR]        (default: build)
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

BUILD_ABS=$(realpath -m -- "$BUILD_DIR")
# install NAME DEST ARGS... — one staged install; its output in $TMP/NAME.log.
install_to() {
	local name=$1 dest=$2
	shift 2
	make -C "$ROOT" --no-print-directory -s install BUILD_ROOT="$BUILD_ABS" DESTDIR="$dest" "$@" \
		>"$TMP/$name.log" 2>&1
}

d=$TMP/stage
if install_to stage "$d" PREFIX=/opt/gort; then
	ok "make install PREFIX=/opt/gort DESTDIR=... runs"
else
	fail_file "make install PREFIX=/opt/gort DESTDIR=... runs" "make said:" "$TMP/stage.log" 20
fi
missing=()
for f in include/gort.h include/gort_inspect.h lib/libgort.a lib/libgort.so lib/libgortmalloc.so \
	lib/pkgconfig/gort.pc bin/gortsh share/man/man1/gortsh.1 share/man/man3/gort.3; do
	[[ -e "$d/opt/gort/$f" ]] || missing+=("$f")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	ok "install: headers, libraries, gort.pc, gortsh and the man pages are in place"
else
	fail "install: headers, libraries, gort.pc, gortsh and the man pages are in place" "missing:" "${missing[@]}"
fi
pc=$d/opt/gort/lib/pkgconfig/gort.pc
if grep -qx 'prefix=/opt/gort' "$pc" && grep -qx 'libdir=${prefix}/lib' "$pc" &&
	grep -qx 'includedir=${prefix}/include' "$pc"; then
	ok 'gort.pc: libdir=${prefix}/lib, includedir=${prefix}/include'
else
	fail_file 'gort.pc: libdir=${prefix}/lib, includedir=${prefix}/include' "gort.pc:" "$pc"
fi
if command -v pkg-config >/dev/null 2>&1; then
	got=$(PKG_CONFIG_PATH=$d/opt/gort/lib/pkgconfig pkg-config --define-variable=prefix="$d/opt/gort" \
		--libs --cflags gort 2>&1)
	if [[ "$got" == *"-I$d/opt/gort/include"* && "$got" == *"-L$d/opt/gort/lib"* ]]; then
		ok "pkg-config: redefining prefix moves libdir and includedir"
	else
		fail "pkg-config: redefining prefix moves libdir and includedir" "pkg-config said: $got"
	fi
fi
d2=$TMP/stage2
install_to stage2 "$d2" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu
if grep -qx 'libdir=${prefix}/lib/x86_64-linux-gnu' "$d2/usr/lib/x86_64-linux-gnu/pkgconfig/gort.pc" 2>/dev/null; then
	ok "gort.pc: a LIBDIR under PREFIX is written from \${prefix}"
else
	fail_file "gort.pc: a LIBDIR under PREFIX is written from \${prefix}" "make:" "$TMP/stage2.log" 10
fi
finish

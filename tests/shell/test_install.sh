#!/usr/bin/env bash
# test_install.sh — `make install` into a staging folder (DESTDIR): the
# headers, the libraries (libgort.so.0 with its SONAME and the libgort.so
# link), gortsh, the man pages (gortsh.1, gort.3), and a gort.pc whose folders are written
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
# The shared library is versioned: SONAME libgort.so.0, which programs
# record and look for at run time, with libgort.so -> libgort.so.0 for -lgort.
soname_ok() { # DIR
	[[ -f "$1/libgort.so.0" && ! -L "$1/libgort.so.0" && "$(readlink "$1/libgort.so")" == libgort.so.0 ]] &&
		readelf -d "$1/libgort.so.0" | grep -q 'SONAME.*\[libgort\.so\.0\]'
}
for where in build:"$BUILD_ABS" install:"$d/opt/gort/lib"; do
	if soname_ok "${where#*:}"; then
		ok "${where%%:*}: libgort.so.0 has SONAME libgort.so.0, libgort.so links to it"
	else
		fail "${where%%:*}: libgort.so.0 has SONAME libgort.so.0, libgort.so links to it" \
			"$(ls -l "${where#*:}"/libgort.so* 2>&1)" "$(readelf -d "${where#*:}/libgort.so" 2>&1 | grep SONAME)"
	fi
done
# A program linked with -lgort against the build folder runs from it.
printf '#include <gort.h>\nint main(void) { void *p = gort_malloc(8); gort_free(p); return p == 0; }\n' \
	>"$TMP/app.c"
if cc -I"$ROOT/lib/include" "$TMP/app.c" -L"$BUILD_ABS" -lgort -o "$TMP/app" >"$TMP/cc.log" 2>&1 &&
	LD_LIBRARY_PATH=$BUILD_ABS "$TMP/app" >>"$TMP/cc.log" 2>&1 &&
	readelf -d "$TMP/app" | grep -q 'NEEDED.*\[libgort\.so\.0\]'; then
	ok "a program linked with -lgort needs libgort.so.0 and runs"
else
	fail_file "a program linked with -lgort needs libgort.so.0 and runs" "cc or the run said:" "$TMP/cc.log"
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

#!/bin/bash -eu
# fuzz/build.sh — builds the fuzz harnesses the OSS-Fuzz / ClusterFuzzLite way.
#
# The builder image sets CC, CXX, CFLAGS, CXXFLAGS (sanitizer and coverage
# flags of the engine being built), LIB_FUZZING_ENGINE (the engine's driver:
# libFuzzer, AFL++, honggfuzz, ...), SRC, WORK and OUT. This script:
#  - compiles the library's sources (lib/**/*.c and this architecture's .S,
#    not lib/preload/, as the Makefile does) with $CC $CFLAGS into
#    $WORK/libgort.a;
#  - compiles the shell (cli/*.c but main.c and repl.c) for fuzz_shell, with
#    its allocation calls renamed to that harness's hooks (the Makefile's
#    FUZZ_SHELL_HOOKS; fuzz/fuzz_shell.c says why);
#  - compiles the heap's shadow model (fuzz/shadow_*.c) for fuzz_alloc,
#    fuzz_misuse and fuzz_harden (the Makefile's FUZZ_SHADOW_HARNESSES);
#  - compiles each fuzz/fuzz_*.c harness with $CC $CFLAGS and links it with
#    $CXX $CXXFLAGS ... $LIB_FUZZING_ENGINE (OSS-Fuzz wants $CXX as the linker
#    even for C) into $OUT/<harness>, fuzz_shell with the shell's objects,
#    the allocator harnesses with the shadow model's;
#  - copies fuzz/<harness>.options and fuzz/<harness>.dict when present, and
#    zips corpus/<harness>/ (regressions included) into
#    $OUT/<harness>_seed_corpus.zip.
# Nothing here assumes the engine is libFuzzer. Run from anywhere; locally:
#   CC=clang CXX=clang++ CFLAGS='-fsanitize=address,fuzzer-no-link' \
#   CXXFLAGS='-fsanitize=address,fuzzer-no-link' LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
#   OUT=/tmp/out WORK=/tmp/work fuzz/build.sh

cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${CC:=clang}" "${CXX:=clang++}" "${CFLAGS:=}" "${CXXFLAGS:=}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:?set OUT to the output folder}"
: "${WORK:=$(mktemp -d)}"
mkdir -p "$OUT" "$WORK/obj"

arch=$($CC -dumpmachine | cut -d- -f1)
flags=(-std=gnu11 -g -pthread -Ilib -Ilib/include -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION=1)
case " $CFLAGS " in
*address*) flags+=(-DGORT_SAN_ADDRESS=1) ;;
esac
case " $CFLAGS " in
*undefined* | *bool,array* | *shift*) flags+=(-DGORT_SAN_UNDEFINED=1) ;;
esac
# The observers the harnesses call after every step get no coverage
# instrumentation, as in the Makefile's builds (fuzz/coverage-ignore.txt).
case " $CFLAGS " in
*fuzzer-no-link* | *sanitize-coverage*)
	flags+=(-fsanitize-coverage-ignorelist=fuzz/coverage-ignore.txt)
	;;
esac
export AFL_LLVM_DENYLIST=$PWD/fuzz/coverage-ignore.txt

# The library: every .c under lib/ but lib/preload/, and the assembly of
# this architecture only (files named *_<arch>.c/.S belong to that arch).
objs=()
while IFS= read -r src; do
	base=$(basename "$src")
	base=${base%.*}
	case $base in
	*_x86_64 | *_aarch64 | *_riscv64 | *_i386 | *_i686 | *_arm)
		[[ $base == *_"$arch" ]] || continue
		;;
	esac
	obj=$WORK/obj/${src//\//_}.o
	# shellcheck disable=SC2086
	$CC $CFLAGS "${flags[@]}" -c "$src" -o "$obj"
	objs+=("$obj")
done < <(find lib -path lib/preload -prune -o -type f \( -name '*.c' -o -name '*.S' \) -print |
	LC_ALL=C sort)
rm -f "$WORK/libgort.a"
ar rcs "$WORK/libgort.a" "${objs[@]}"

hooks=()
for f in gort_alloc gort_calloc gort_aligned_alloc gort_realloc gort_free gort_shutdown; do
	hooks+=("-D$f=fuzz_shell_$f")
done
cli_objs=()
for src in cli/*.c; do
	case $src in
	cli/main.c | cli/repl.c) continue ;;
	esac
	obj=$WORK/obj/fuzz_shell_${src//\//_}.o
	# shellcheck disable=SC2086
	$CC $CFLAGS "${flags[@]}" "${hooks[@]}" -c "$src" -o "$obj"
	cli_objs+=("$obj")
done

shadow_objs=()
for src in fuzz/shadow_*.c; do
	obj=$WORK/obj/${src//\//_}.o
	# shellcheck disable=SC2086
	$CC $CFLAGS "${flags[@]}" -c "$src" -o "$obj"
	shadow_objs+=("$obj")
done

for src in fuzz/fuzz_*.c; do
	h=$(basename "$src" .c)
	# shellcheck disable=SC2086
	$CC $CFLAGS "${flags[@]}" -c "$src" -o "$WORK/$h.o"
	extra=()
	case $h in
	fuzz_shell) extra=("${cli_objs[@]}") ;;
	fuzz_alloc | fuzz_misuse | fuzz_harden) extra=("${shadow_objs[@]}") ;;
	esac
	# shellcheck disable=SC2086
	$CXX $CXXFLAGS "$WORK/$h.o" "${extra[@]}" "$WORK/libgort.a" $LIB_FUZZING_ENGINE -pthread \
		-o "$OUT/$h"
	[[ -f fuzz/$h.options ]] && cp "fuzz/$h.options" "$OUT/"
	[[ -f fuzz/$h.dict ]] && cp "fuzz/$h.dict" "$OUT/"
	if [[ -d corpus/$h ]]; then
		rm -f "$OUT/${h}_seed_corpus.zip"
		(cd "corpus/$h" && find . -type f -print | LC_ALL=C sort |
			zip -q -j "$OUT/${h}_seed_corpus.zip" -@)
	fi
done

#!/usr/bin/env bash
# deps.sh — makes sure the Debian packages a purpose needs are installed.
#
# Usage: scripts/deps.sh [build|test|demo|bench|fuzz|dev|cross|all]   (default: test)
#
#   build  compilers, make, sanitizer runtimes, Criterion, readline, pkg-config
#   test   build + python3 (one of the real programs run under LD_PRELOAD),
#          groff-base (the man pages are rendered by tests/shell/test_man.sh)
#   demo   build (gortsh needs readline)
#   bench  build + jemalloc, mimalloc, tcmalloc, Go, hyperfine (the comparisons)
#   fuzz   build + AFL++
#   dev    build + clang-format, bear (make format, make compdb)
#   all    everything above
#
# Nothing missing: silent, exit 0 (one dpkg-query call, so it is cheap enough
# to run before every `make test`). Something missing: as root, one quiet
# `apt-get update` and one `apt-get install`; otherwise the exact command to
# run is printed and the exit status is 1. On a system without dpkg the check
# is skipped with a note.
set -euo pipefail

purpose=${1:-test}

build=(gcc clang make libclang-rt-14-dev libcriterion-dev libreadline-dev pkg-config)
case $purpose in
build | demo) want=("${build[@]}") ;;
test) want=("${build[@]}" python3 groff-base) ;;
bench) want=("${build[@]}" libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 golang-go hyperfine) ;;
fuzz) want=("${build[@]}" afl++) ;;
dev) want=("${build[@]}" clang-format bear) ;;
cross) want=(make gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user) ;;
all) want=("${build[@]}" python3 groff-base libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 golang-go
	hyperfine afl++ clang-format bear) ;;
-h | --help)
	sed -n '2,/^set -/{/^set -/d;s/^# \{0,1\}//p}' "$0"
	exit 0
	;;
*)
	echo "deps.sh: unknown purpose '$purpose' (build, test, demo, bench, fuzz, dev, all)" >&2
	exit 2
	;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: not a Debian system; make sure these (or their equivalents) are installed:" \
		"${want[*]}" >&2
	exit 0
fi

# One query for all packages; a package dpkg has never heard of prints
# nothing on stdout, so it is simply absent from the installed list.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]}" 2>/dev/null |
	awk '$NF == "installed" && $(NF-1) == "ok" { sub(/:.*/, "", $1); print $1 }' || true)

missing=()
for p in "${want[@]}"; do
	if ! grep -qxF -- "$p" <<<"$installed"; then
		missing+=("$p")
	fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps.sh: missing Debian packages for '$purpose': ${missing[*]}" >&2
	echo "deps.sh: install them with:" >&2
	echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/gort-deps.XXXXXX")
trap 'rm -f -- "$log"' EXIT
if ! apt-get update -qq >"$log" 2>&1; then
	cat -- "$log" >&2
	echo "deps.sh: apt-get update failed" >&2
	exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
	cat -- "$log" >&2
	echo "deps.sh: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi

#!/usr/bin/env bash
# run.sh — compare gort with the C library's malloc and other allocators on
# the churn benchmark (bench/churn.c).
#
# Usage: bench/run.sh BUILD_DIR [--runs N] [--ops N] [--json]
#   BUILD_DIR  where libgortmalloc.so lives; churn is built in BUILD_DIR/bench
#   --runs N   runs per peer and workload (default 5)
#   --ops N    operations per thread passed to churn (default: churn's own, 10M)
#   --json     one JSON object per result row instead of the table
#
# Peers: glibc (no preload), gort (BUILD_DIR/libgortmalloc.so with its
# default hardening preset) and the same library as gort-light and
# gort-paranoid (GORT_HARDEN), and jemalloc, mimalloc, tcmalloc (minimal)
# when installed; a missing peer is skipped with
# a note. Runs are interleaved: for each run, every workload is run once
# under every peer in turn, so slow phases of a shared machine hit all peers
# alike. Reported: median ns/op, min-max, and the ratio of gort's median to
# the peer's (both measured by this same invocation; < 1 means gort is
# faster). Timings are informational, never pass/fail.
#
# Writes only to stdout (notes and progress to stderr) and to BUILD_DIR/bench.

set -u
set -o pipefail

usage() {
	echo "usage: $0 BUILD_DIR [--runs N] [--ops N] [--json]" >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
BUILD_DIR=$1
shift
RUNS=5
OPS=
JSON=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--runs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift 2 ;;
	--ops) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; OPS=$2; shift 2 ;;
	--json) JSON=1; shift ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$BUILD_DIR/bench" || exit 1
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
CHURN=$BUILD_DIR/bench/churn

note() { echo "# $*" >&2; }

${CC:-gcc} -std=gnu11 -O2 -pthread -Wall -Wextra "$HERE/churn.c" -o "$CHURN" || {
	note "could not compile churn.c"
	exit 1
}

unset LD_PRELOAD MALLOC_CONF MIMALLOC_OPTIONS

# ------------------------------------------------------------------ peers

# find_lib SONAME: the path of an installed shared library for this machine's
# architecture, via the loader cache, or dpkg if the cache does not know it.
find_lib() {
	local soname=$1 path
	path=$(ldconfig -p 2>/dev/null | awk -v s="$soname" '$1 == s { print $NF; exit }')
	if [[ -z "$path" ]] && command -v dpkg >/dev/null; then
		local arch
		arch=$(dpkg --print-architecture 2>/dev/null)
		path=$(dpkg -S "/$soname" 2>/dev/null | awk -F': ' -v a="$arch" '$1 ~ ":" a "(,|$)" { print $2; exit }')
	fi
	[[ -n "$path" && -f "$path" ]] && echo "$path"
}

# pkg_version FILE: "package version" of the Debian package owning FILE.
pkg_version() {
	local f=$1 pkg real
	command -v dpkg-query >/dev/null || { echo "unknown"; return; }
	real=$(realpath -- "$f" 2>/dev/null || echo "$f")
	pkg=$(dpkg -S "$f" 2>/dev/null | head -n 1 | cut -d: -f1)
	[[ -n "$pkg" ]] || pkg=$(dpkg -S "$real" 2>/dev/null | head -n 1 | cut -d: -f1)
	# /lib and /usr/lib may be merged: try the other spelling too.
	if [[ -z "$pkg" ]]; then
		case $real in
		/usr/lib/*) pkg=$(dpkg -S "${real#/usr}" 2>/dev/null | head -n 1 | cut -d: -f1) ;;
		/lib/*) pkg=$(dpkg -S "/usr$real" 2>/dev/null | head -n 1 | cut -d: -f1) ;;
		esac
	fi
	if [[ -n "$pkg" ]]; then
		echo "$pkg $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null | head -n 1)"
	else
		echo "unknown"
	fi
}

gort_version() {
	local repo=$HERE/.. v rev
	v=$(sed -n 's/^#define GORT_VERSION_STRING "\(.*\)"/\1/p' "$repo/lib/include/gort.h" 2>/dev/null)
	rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || true)
	echo "gort ${v:-unknown}${rev:+ ($rev)}"
}

PEERS=()     # names, in run order
declare -A LIBOF VERSION ENVOF
add_peer() { PEERS+=("$1"); LIBOF[$1]=$2; VERSION[$1]=$3; ENVOF[$1]=${4:-}; }

libc_path=$(find_lib libc.so.6)
add_peer glibc "" "$(if [[ -n "$libc_path" ]]; then pkg_version "$libc_path"; else echo unknown; fi)"

if [[ -f "$BUILD_DIR/libgortmalloc.so" ]]; then
	add_peer gort-light "$BUILD_DIR/libgortmalloc.so" "$(gort_version), light" GORT_HARDEN=light
	add_peer gort "$BUILD_DIR/libgortmalloc.so" "$(gort_version), default" GORT_HARDEN=default
	add_peer gort-paranoid "$BUILD_DIR/libgortmalloc.so" "$(gort_version), paranoid" \
		GORT_HARDEN=paranoid
else
	note "skipping gort: $BUILD_DIR/libgortmalloc.so not built"
fi

for spec in jemalloc:libjemalloc.so.2 mimalloc:libmimalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4; do
	name=${spec%%:*} soname=${spec#*:}
	if path=$(find_lib "$soname"); then
		add_peer "$name" "$path" "$(pkg_version "$path")"
	else
		note "skipping $name: $soname not installed"
	fi
done

WORKLOADS=("churn-t1:-t 1" "churn-t2:-t 2")

# ------------------------------------------------------------------ machine

NPROC=$(nproc 2>/dev/null || echo "?")
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
CPU=${CPU:-unknown}
KERNEL="$(uname -sr)"

if [[ $JSON -eq 0 ]]; then
	echo "# machine: nproc=$NPROC cpu=\"$CPU\" kernel=\"$KERNEL\""
	echo "# compiler: $(${CC:-gcc} --version 2>/dev/null | head -n 1)"
	for p in "${PEERS[@]}"; do
		echo "# $p: ${VERSION[$p]}${LIBOF[$p]:+ [${LIBOF[$p]}]}"
	done
	echo "# $RUNS interleaved runs per row; ns/op = wall ns / ops per thread; ratio = gort (default preset) median / peer median"
fi

# ------------------------------------------------------------------ runs

declare -A RES  # "workload|peer" -> space-separated ns/op values
declare -A FAIL # "workload|peer" -> count of failed runs

for ((run = 1; run <= RUNS; run++)); do
	note "run $run/$RUNS"
	for wl in "${WORKLOADS[@]}"; do
		wname=${wl%%:*} wargs=${wl#*:}
		for p in "${PEERS[@]}"; do
			# shellcheck disable=SC2086 # wargs is a list of words
			out=$(env ${ENVOF[$p]} ${LIBOF[$p]:+LD_PRELOAD="${LIBOF[$p]}"} \
				"$CHURN" $wargs ${OPS:+-n "$OPS"} 2>&1)
			rc=$?
			v=$(sed -n 's/^churn .*ns_per_op=\([0-9.]*\)$/\1/p' <<<"$out")
			if [[ $rc -ne 0 || -z "$v" ]]; then
				FAIL[$wname|$p]=$((${FAIL[$wname|$p]:-0} + 1))
				note "$wname under $p failed (exit status $rc): $(head -n 3 <<<"$out" | tr '\n' ' ')"
			else
				RES[$wname|$p]+="$v "
			fi
		done
	done
done

# stats "v1 v2 ...": prints "median min max"
stats() {
	tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.2f %.2f %.2f\n", m, v[1], v[NR]
		}'
}

json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

if [[ $JSON -eq 0 ]]; then
	printf '%-10s %-13s %10s %19s %10s %s\n' workload peer "median" "min-max" "gort/peer" ""
fi
for wl in "${WORKLOADS[@]}"; do
	wname=${wl%%:*}
	threads=${wl##*-t }
	gmed=
	if [[ -n "${RES[$wname|gort]:-}" ]]; then
		read -r gmed _ _ < <(stats "${RES[$wname|gort]}")
	fi
	for p in "${PEERS[@]}"; do
		key=$wname\|$p
		nfail=${FAIL[$key]:-0}
		if [[ -z "${RES[$key]:-}" ]]; then
			if [[ $JSON -eq 1 ]]; then
				printf '{"workload":"churn","threads":%s,"peer":"%s","version":%s,"runs":0,"failed_runs":%s}\n' \
					"$threads" "$p" "$(json_str "${VERSION[$p]}")" "$nfail"
			else
				printf '%-10s %-13s %10s %19s %10s %s\n' "$wname" "$p" "-" "-" "-" "(all $nfail runs failed)"
			fi
			continue
		fi
		read -r med lo hi < <(stats "${RES[$key]}")
		n=$(wc -w <<<"${RES[$key]}")
		ratio=
		if [[ -n "$gmed" ]]; then
			ratio=$(awk -v a="$gmed" -v b="$med" 'BEGIN { if (b > 0) printf "%.2f", a / b }')
		fi
		if [[ $JSON -eq 1 ]]; then
			printf '{"workload":"churn","threads":%s,"peer":"%s","version":%s,"median_ns_per_op":%s,"min_ns_per_op":%s,"max_ns_per_op":%s,"runs":%s,"failed_runs":%s,"ratio_gort_over_peer":%s,"nproc":%s,"cpu":%s,"kernel":%s}\n' \
				"$threads" "$p" "$(json_str "${VERSION[$p]}")" "$med" "$lo" "$hi" "$n" "$nfail" \
				"${ratio:-null}" "$(if [[ $NPROC =~ ^[0-9]+$ ]]; then echo "$NPROC"; else echo null; fi)" \
				"$(json_str "$CPU")" "$(json_str "$KERNEL")"
		else
			extra=
			[[ $nfail -gt 0 ]] && extra="($nfail of $RUNS runs failed)"
			printf '%-10s %-13s %10s %19s %10s %s\n' "$wname" "$p" "$med" "$lo-$hi" "${ratio:--}" "$extra"
		fi
	done
done
exit 0

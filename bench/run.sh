#!/usr/bin/env bash
# run.sh — gort's allocator against the C library's and other allocators on
# the workloads of bench/alloc.c (bench/README.md explains each one).
#
# Usage: bench/run.sh BUILD_DIR [--runs N] [--quick] [--json] [--only W,W...]
#   BUILD_DIR  where libgortmalloc.so and bench/alloc are built (make bench-bins)
#   --runs N   interleaved runs per workload and peer (default 5)
#   --quick    small operation counts and one run: a smoke test, not a result
#   --json     one JSON object per row on stdout instead of the table
#   --only     only these workloads (names as in the table)
#
# Peers: glibc (no preload); gort-light, gort (the default preset) and
# gort-paranoid, all BUILD_DIR/libgortmalloc.so with GORT_HARDEN set; jemalloc, mimalloc and
# tcmalloc (minimal) when their Debian packages are installed (a missing
# peer is skipped with a note). Runs are interleaved: each round runs every
# workload under every peer once, so a slow phase of a shared machine hits
# all alike. Reported per row: the median ns/op and its min-max, the median
# peak RSS, and the ratios gort-light/peer and gort/peer of the medians
# (< 1: gort is faster). Rows also go to BUILD_DIR/bench/alloc.jsonl for
# bench/chart.py. Timings are informational, never pass/fail.

set -u
set -o pipefail

usage() {
	echo "usage: $0 BUILD_DIR [--runs N] [--quick] [--json] [--only W,W...]" >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
BUILD_DIR=$1
shift
RUNS=
QUICK=0
JSON=0
ONLY=
while [[ $# -gt 0 ]]; do
	case $1 in
	--runs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--json) JSON=1; shift ;;
	--only) [[ $# -ge 2 ]] || usage; ONLY=",$2,"; shift 2 ;;
	*) usage ;;
	esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=$(cd "$BUILD_DIR" && pwd) || exit 1
ALLOC=$BUILD_DIR/bench/alloc
[[ -x $ALLOC ]] || { echo "# $ALLOC is not built (make bench-bins)" >&2; exit 1; }
OUT_JSONL=$BUILD_DIR/bench/alloc.jsonl
: >"$OUT_JSONL"

note() { echo "# $*" >&2; }

unset LD_PRELOAD MALLOC_CONF MIMALLOC_OPTIONS GORT_HARDEN

# name:arguments. Operation counts keep one full invocation (5 runs, 6
# peers) near ten minutes on two cores; growth-1G builds a 1 GiB heap.
if [[ $QUICK -eq 1 ]]; then
	RUNS=${RUNS:-1}
	WORKLOADS=("churn-t1:churn -t 1 -n 200000" "churn-t2:churn -t 2 -n 200000"
		"mixed:mixed -n 50000" "large:large -n 5000" "prodcons:prodcons -n 100000"
		"larson:larson -t 2 -n 100000" "scratch:scratch -t 2 -n 1000000"
		"growth-1M:growth -L 1M -n 200000" "growth-64M:growth -L 64M -n 200000")
else
	RUNS=${RUNS:-5}
	WORKLOADS=("churn-t1:churn -t 1" "churn-t2:churn -t 2" "mixed:mixed" "large:large"
		"prodcons:prodcons" "larson:larson -t 2" "scratch:scratch -t 2"
		"growth-1M:growth -L 1M" "growth-16M:growth -L 16M" "growth-256M:growth -L 256M"
		"growth-1G:growth -L 1G")
fi
if [[ -n $ONLY ]]; then
	keep=()
	for wl in "${WORKLOADS[@]}"; do
		[[ $ONLY == *",${wl%%:*},"* ]] && keep+=("$wl")
	done
	WORKLOADS=("${keep[@]}")
fi

# ------------------------------------------------------------------ peers

# find_lib SONAME: an installed shared library, through the loader's cache.
find_lib() {
	local path
	path=$(ldconfig -p 2>/dev/null | awk -v s="$1" '$1 == s { print $NF; exit }')
	[[ -n $path && -f $path ]] && echo "$path"
}

# pkg_version FILE: "package version" of the Debian package owning FILE.
pkg_version() {
	local pkg real
	real=$(realpath -- "$1" 2>/dev/null || echo "$1")
	for f in "$1" "$real" "${real#/usr}" "/usr$real"; do
		pkg=$(dpkg -S "$f" 2>/dev/null | head -n 1 | cut -d: -f1)
		[[ -n $pkg ]] && break
	done
	[[ -n $pkg ]] && echo "$pkg $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null | head -n 1)" ||
		echo unknown
}

gort_version() {
	local v rev
	v=$(sed -n 's/^#define GORT_VERSION_STRING "\(.*\)"/\1/p' "$HERE/../lib/include/gort.h")
	rev=$(git -C "$HERE/.." describe --always --dirty 2>/dev/null || true)
	echo "gort ${v:-unknown}${rev:+ ($rev)}"
}

PEERS=()
declare -A LIBOF ENVOF VERSION
add_peer() { PEERS+=("$1"); LIBOF[$1]=$2; ENVOF[$1]=$3; VERSION[$1]=$4; }

libc=$(find_lib libc.so.6)
add_peer glibc "" "" "$([[ -n $libc ]] && pkg_version "$libc" || echo unknown)"
if [[ -f $BUILD_DIR/libgortmalloc.so ]]; then
	add_peer gort-light "$BUILD_DIR/libgortmalloc.so" GORT_HARDEN=light "$(gort_version), light"
	add_peer gort "$BUILD_DIR/libgortmalloc.so" GORT_HARDEN=default "$(gort_version), default"
	add_peer gort-paranoid "$BUILD_DIR/libgortmalloc.so" GORT_HARDEN=paranoid \
		"$(gort_version), paranoid"
else
	note "libgortmalloc.so is not built: gort skipped"
fi
for spec in jemalloc:libjemalloc.so.2 mimalloc:libmimalloc.so.2 \
	tcmalloc:libtcmalloc_minimal.so.4; do
	if path=$(find_lib "${spec#*:}"); then
		add_peer "${spec%%:*}" "$path" "" "$(pkg_version "$path")"
	else
		note "${spec%%:*} is not installed (${spec#*:}): skipped"
	fi
done

CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
NPROC=$(nproc 2>/dev/null || echo 0)
if [[ $JSON -eq 0 ]]; then
	echo "# machine: nproc=$NPROC cpu=\"${CPU:-unknown}\" kernel=\"$(uname -sr)\""
	echo "# compiler: $(${CC:-gcc} --version 2>/dev/null | head -n 1)"
	for p in "${PEERS[@]}"; do
		echo "# $p: ${VERSION[$p]}${LIBOF[$p]:+ [${LIBOF[$p]##*/}]}"
	done
	echo "# $RUNS interleaved runs per row; ns/op of one thread; RSS = peak resident set;" \
		"ratios = gort-light or gort (default preset) median / this peer's median"
fi

# ------------------------------------------------------------------ runs

declare -A NS RSS FAIL

run_one() { # WORKLOAD-NAME ARGS PEER
	local out rc v r
	# shellcheck disable=SC2086 # ARGS is a list of words
	out=$(env ${ENVOF[$3]} ${LIBOF[$3]:+LD_PRELOAD="${LIBOF[$3]}"} \
		timeout -k 5 600 "$ALLOC" $2 2>&1)
	rc=$?
	v=$(sed -n 's/^alloc .*ns_per_op=\([0-9.]*\) .*/\1/p' <<<"$out")
	r=$(sed -n 's/^alloc .*peak_rss_kb=\([0-9]*\).*/\1/p' <<<"$out")
	if [[ $rc -ne 0 || -z $v ]]; then
		FAIL[$1|$3]=$((${FAIL[$1|$3]:-0} + 1))
		note "$1 under $3 failed (exit status $rc): $(head -n 2 <<<"$out" | tr '\n' ' ')"
		return
	fi
	NS[$1|$3]+="$v "
	RSS[$1|$3]+="$r "
}

for ((run = 1; run <= RUNS; run++)); do
	note "run $run/$RUNS"
	for wl in "${WORKLOADS[@]}"; do
		for p in "${PEERS[@]}"; do
			run_one "${wl%%:*}" "${wl#*:}" "$p"
		done
	done
done

# ------------------------------------------------------------------ table

stats() { # "v1 v2 ...": "median min max"
	tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR]
		}'
}
median() { local m; [[ -n $1 ]] && read -r m _ _ < <(stats "$1") && echo "$m"; }
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'; }

if [[ $JSON -eq 0 ]]; then
	printf '%-12s %-13s %9s %17s %9s %11s %9s\n' workload peer "ns/op" "min-max" "RSS MiB" \
		"light/peer" "gort/peer"
fi
for wl in "${WORKLOADS[@]}"; do
	name=${wl%%:*}
	lmed=$(median "${NS[$name|gort-light]:-}")
	dmed=$(median "${NS[$name|gort]:-}")
	for p in "${PEERS[@]}"; do
		key=$name\|$p
		nfail=${FAIL[$key]:-0}
		if [[ -z ${NS[$key]:-} ]]; then
			[[ $JSON -eq 0 ]] && printf '%-12s %-13s %9s %17s %9s %11s %9s  (%s runs failed)\n' \
				"$name" "$p" - - - - - "$nfail"
			continue
		fi
		read -r med lo hi < <(stats "${NS[$key]}")
		rss=$(median "${RSS[$key]}")
		rss_mib=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
		lr=$(ratio "$lmed" "$med")
		dr=$(ratio "$dmed" "$med")
		row=$(printf '{"workload":"%s","peer":"%s","version":"%s","median_ns_per_op":%s,"min_ns_per_op":%s,"max_ns_per_op":%s,"peak_rss_kb":%s,"runs":%s,"failed_runs":%s,"ratio_light_over_peer":%s,"ratio_default_over_peer":%s,"nproc":%s,"cpu":"%s"}' \
			"$name" "$p" "${VERSION[$p]//\"/}" "$med" "$lo" "$hi" "$rss" \
			"$(wc -w <<<"${NS[$key]}")" "$nfail" "${lr:-null}" "${dr:-null}" "$NPROC" "${CPU//\"/}")
		echo "$row" >>"$OUT_JSONL"
		if [[ $JSON -eq 1 ]]; then
			echo "$row"
		else
			printf '%-12s %-13s %9.2f %17s %9s %11s %9s%s\n' "$name" "$p" "$med" "$lo-$hi" \
				"$rss_mib" "${lr:--}" "${dr:--}" "$([[ $nfail -gt 0 ]] && echo "  [$nfail failed]")"
		fi
	done
done

# Growth of the cost per operation with the live heap: largest over smallest.
if [[ $JSON -eq 0 ]]; then
	small=$(printf '%s\n' "${WORKLOADS[@]%%:*}" | grep '^growth-' | head -n 1)
	large=$(printf '%s\n' "${WORKLOADS[@]%%:*}" | grep '^growth-' | tail -n 1)
	if [[ -n $small && $small != "$large" ]]; then
		echo "# cost growth, $large ns/op over $small ns/op:"
		for p in "${PEERS[@]}"; do
			g=$(ratio "$(median "${NS[$large|$p]:-}")" "$(median "${NS[$small|$p]:-}")")
			echo "#   $p: ${g:--}"
		done
	fi
fi
exit 0

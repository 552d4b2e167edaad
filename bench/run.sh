#!/usr/bin/env bash
# run.sh — gort's allocator against the C library's and other allocators on
# the workloads of bench/alloc.c (speed) and bench/memory.c (memory given
# back, fragmentation, untouched and limited address space); bench/README.md
# explains each one.
#
# Usage: bench/run.sh BUILD_DIR [--runs N] [--quick] [--json] [--only W,W...]
#   BUILD_DIR  where libgortmalloc.so, bench/alloc and bench/memory are built
#              (make bench-bins)
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
# bench/chart.py. Then huge's throughput on 1 and 2 threads; a summary of
# each gort preset's median over the best of glibc, jemalloc, mimalloc and
# tcmalloc on every row, with their geometric mean; and one table per
# memory.c workload with the medians of its figures (those rows also go to
# BUILD_DIR/bench/memory.jsonl). Timings are informational, never
# pass/fail.

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
MEMORY=$BUILD_DIR/bench/memory
for prog in "$ALLOC" "$MEMORY"; do
	[[ -x $prog ]] || { echo "# $prog is not built (make bench-bins)" >&2; exit 1; }
done
OUT_JSONL=$BUILD_DIR/bench/alloc.jsonl
MEM_JSONL=$BUILD_DIR/bench/memory.jsonl
: >"$OUT_JSONL"
: >"$MEM_JSONL"

note() { echo "# $*" >&2; }

unset LD_PRELOAD MALLOC_CONF MIMALLOC_OPTIONS GORT_HARDEN

# name:arguments. Operation counts keep one full invocation (5 runs, 6
# peers) near ten minutes on two cores; growth-1G builds a 1 GiB heap. The
# rows from larson-turnover on are the shapes of mimalloc-bench's programs
# (bench/alloc.c says which); alloc.c's defaults keep each run of them near
# a second under glibc.
# CASES are bench/memory.c's: each run of one takes up to about ten seconds
# (rss-after-free writes 1.2 GiB, then samples for 5 s after the last free).
if [[ $QUICK -eq 1 ]]; then
	RUNS=${RUNS:-1}
	WORKLOADS=("churn-t1:churn -t 1 -n 200000" "churn-t2:churn -t 2 -n 200000"
		"mixed:mixed -n 50000" "large:large -n 5000" "huge-t1:huge -t 1 -n 500"
		"huge-t2:huge -t 2 -n 500" "prodcons:prodcons -n 100000"
		"larson:larson -t 2 -n 100000" "scratch:scratch -t 2 -n 1000000"
		"growth-1M:growth -L 1M -n 200000" "growth-64M:growth -L 64M -n 200000"
		"larson-turnover:larson-turnover -t 2 -n 100000 -R 20000"
		"xmalloc-t4:xmalloc -t 4 -n 100000" "rptest-t2:rptest -t 2 -n 20000"
		"alloc-test-t1:alloc-test -t 1 -n 200000" "alloc-test-t2:alloc-test -t 2 -n 200000"
		"glibc-simple:glibc-simple -n 1000000" "malloc-large:malloc-large -n 5"
		"mstress-t2:mstress -t 2 -n 50000 -R 5000")
	CASES=("rss-after-free:rss-after-free -B 64M -p 0,0.1,0.2,0.5"
		"frag-100K:fragmentation -n 100000 -m 64" "frag-200K:fragmentation -n 200000 -m 64"
		"untouched-1G:untouched" "address-limit:address-limit")
else
	RUNS=${RUNS:-5}
	WORKLOADS=("churn-t1:churn -t 1" "churn-t2:churn -t 2" "mixed:mixed" "large:large"
		"huge-t1:huge -t 1" "huge-t2:huge -t 2" "prodcons:prodcons" "larson:larson -t 2"
		"scratch:scratch -t 2" "growth-1M:growth -L 1M" "growth-16M:growth -L 16M"
		"growth-256M:growth -L 256M" "growth-1G:growth -L 1G"
		"larson-turnover:larson-turnover -t 2" "xmalloc-t4:xmalloc -t 4" "rptest-t2:rptest -t 2"
		"alloc-test-t1:alloc-test -t 1" "alloc-test-t2:alloc-test -t 2" "glibc-simple:glibc-simple"
		"malloc-large:malloc-large" "mstress-t2:mstress -t 2")
	CASES=("rss-after-free:rss-after-free" "frag-4M:fragmentation -n 4000000"
		"frag-8M:fragmentation -n 8000000" "untouched-1G:untouched"
		"address-limit:address-limit")
fi
# only NAME...: the entries of NAME (an array's name) that --only lists.
only() {
	local -n list=$1
	local keep=() wl
	for wl in "${list[@]}"; do
		[[ $ONLY == *",${wl%%:*},"* ]] && keep+=("$wl")
	done
	list=("${keep[@]}")
}
if [[ -n $ONLY ]]; then
	only WORKLOADS
	only CASES
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

declare -A NS RSS FAIL MEM

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

# A memory.c run: its whole output line is kept, one per run.
run_mem() { # CASE-NAME ARGS PEER
	local out rc line
	# shellcheck disable=SC2086 # ARGS is a list of words
	out=$(env ${ENVOF[$3]} ${LIBOF[$3]:+LD_PRELOAD="${LIBOF[$3]}"} \
		timeout -k 5 600 "$MEMORY" $2 2>&1)
	rc=$?
	line=$(grep -m 1 '^memory ' <<<"$out")
	if [[ $rc -ne 0 || -z $line ]]; then
		FAIL[$1|$3]=$((${FAIL[$1|$3]:-0} + 1))
		note "$1 under $3 failed (exit status $rc): $(head -n 2 <<<"$out" | tr '\n' ' ')"
		return
	fi
	MEM[$1|$3]+="$line"$'\n'
}

for ((run = 1; run <= RUNS; run++)); do
	note "run $run/$RUNS"
	for wl in "${WORKLOADS[@]}"; do
		for p in "${PEERS[@]}"; do
			run_one "${wl%%:*}" "${wl#*:}" "$p"
		done
	done
	for c in "${CASES[@]}"; do
		for p in "${PEERS[@]}"; do
			run_mem "${c%%:*}" "${c#*:}" "$p"
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
ops_per_s() { # THREADS NS-PER-OP-OF-ONE-THREAD
	[[ -n $2 ]] && awk -v t="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", t * 1e9 / n }'
}

if [[ $JSON -eq 0 && ${#WORKLOADS[@]} -gt 0 ]]; then
	printf '%-15s %-13s %9s %17s %9s %11s %9s\n' workload peer "ns/op" "min-max" "RSS MiB" \
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
			[[ $JSON -eq 0 ]] && printf '%-15s %-13s %9s %17s %9s %11s %9s  (%s runs failed)\n' \
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
			printf '%-15s %-13s %9.2f %17s %9s %11s %9s%s\n' "$name" "$p" "$med" "$lo-$hi" \
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

# Large-object throughput of all threads together: does it scale to two?
if [[ $JSON -eq 0 ]] && printf '%s\n' "${WORKLOADS[@]}" | grep -q '^huge-t'; then
	echo "# huge (64 KiB-4 MiB), ops/s of all threads from the medians:"
	printf '#   %-13s %12s %12s %7s\n' peer "1 thread" "2 threads" "2t/1t"
	for p in "${PEERS[@]}"; do
		o1=$(ops_per_s 1 "$(median "${NS[huge-t1|$p]:-}")")
		o2=$(ops_per_s 2 "$(median "${NS[huge-t2|$p]:-}")")
		r=$(ratio "$o2" "$o1")
		printf '#   %-13s %12s %12s %7s\n' "$p" "${o1:--}" "${o2:--}" "${r:--}"
	done
fi

# Against the best peer: each gort preset's median over the lowest median of
# glibc, jemalloc, mimalloc and tcmalloc on the same row, and the geometric
# mean of each preset's ratios over the rows that have one. Informational:
# the goal (default <= 1.3, light <= 1.0 on every row) is never checked.
BEST_OF=(glibc jemalloc mimalloc tcmalloc)
PRESETS=(gort-light gort gort-paranoid)

best_peer() { # WORKLOAD-NAME: "peer median" of the fastest peer that ran it
	local p m
	for p in "${BEST_OF[@]}"; do
		m=$(median "${NS[$1|$p]:-}") && echo "$p $m"
	done | sort -g -k 2 | head -n 1
}

geomean() { # "r1 r2 ...": their geometric mean (nothing if there are none)
	tr ' ' '\n' <<<"$1" | awk 'NF && $1 > 0 { s += log($1); n++ }
		END { if (n) printf "%.2f", exp(s / n) }'
}

if [[ $JSON -eq 0 && ${#WORKLOADS[@]} -gt 0 && -n ${LIBOF[gort]:-} ]]; then
	declare -A ALL
	echo "# gort against the best of ${BEST_OF[*]} on each row: the preset's median over" \
		"that peer's (goal: default <= 1.3, light <= 1.0; informational)"
	printf '#   %-15s %-9s %9s %9s %9s %9s\n' workload best "ns/op" light default paranoid
	for wl in "${WORKLOADS[@]}"; do
		name=${wl%%:*}
		read -r bp bm < <(best_peer "$name") || { bp=-; bm=; }
		cells=()
		for g in "${PRESETS[@]}"; do
			r=$(ratio "$(median "${NS[$name|$g]:-}")" "$bm")
			cells+=("${r:--}")
			[[ -n $r ]] && ALL[$g]+="$r "
		done
		printf '#   %-15s %-9s %9s %9s %9s %9s\n' "$name" "$bp" "${bm:--}" "${cells[@]}"
	done
	cells=()
	for g in "${PRESETS[@]}"; do
		m=$(geomean "${ALL[$g]:-}")
		cells+=("${m:--}")
	done
	printf '#   %-15s %-9s %9s %9s %9s %9s\n' "geometric mean" "" "" "${cells[@]}"
fi

# ---------------------------------------------------------- memory tables

# aggregate: the memory.c lines of one row on stdin; one line of KEY=VALUE
# out: runs=N; for a number its median, KEY.min, KEY.max and KEY.sum; for a
# list (at_s, rss_kb) the median at each position; for anything else (exit:
# 0 or sig6) its distinct values joined by "/".
aggregate() {
	awk '
	function fmt(x) { return x == int(x) ? sprintf("%.0f", x) : sprintf("%.2f", x) }
	function med(k, n,   i, j, t, a) {
		for (i = 1; i <= n; i++)
			a[i] = V[k, i] + 0
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		lo = a[1]; hi = a[n]; sum = 0
		for (i = 1; i <= n; i++)
			sum += a[i]
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		runs++
		for (f = 2; f <= NF; f++) {
			eq = index($f, "="); k = substr($f, 1, eq - 1); v = substr($f, eq + 1)
			if (!(k in kind)) {
				order[++nk] = k
				kind[k] = v ~ /,/ ? "list" : "num"
			}
			n = ++cnt[k]
			if (kind[k] == "list") {
				len[k] = split(v, part, ",")
				for (j = 1; j <= len[k]; j++)
					V[k "#" j, n] = part[j]
				continue
			}
			V[k, n] = v
			if (v !~ /^-?[0-9.]+$/)
				kind[k] = "word"
			if (index("/" W[k] "/", "/" v "/") == 0)
				W[k] = W[k] == "" ? v : W[k] "/" v
		}
	}
	END {
		printf "runs=%d", runs
		for (i = 1; i <= nk; i++) {
			k = order[i]
			if (kind[k] == "num") {
				m = med(k, cnt[k])
				printf " %s=%s %s.min=%s %s.max=%s %s.sum=%s", k, fmt(m), k, fmt(lo), k,
					fmt(hi), k, fmt(sum)
			} else if (kind[k] == "list") {
				printf " %s=", k
				for (j = 1; j <= len[k]; j++)
					printf "%s%s", (j > 1 ? "," : ""), fmt(med(k "#" j, cnt[k]))
			} else {
				printf " %s=%s", k, W[k]
			}
		}
		print ""
	}'
}

# The aggregate of one case under one peer (empty if every run failed).
agg_of() { # CASE-NAME PEER
	[[ -n ${MEM[$1|$2]:-} ]] && aggregate <<<"${MEM[$1|$2]%$'\n'}"
}

get() { # AGGREGATE KEY: that key's value
	local t
	for t in $1; do
		[[ $t == "$2="* ]] && echo "${t#*=}" && return
	done
}

mib() { [[ -n $1 ]] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo -; }

# One JSON object: each figure's median, and KEY_min and KEY_max for numbers.
mem_json() { # CASE-NAME PEER AGGREGATE
	local t k v out
	out=$(printf '{"workload":"%s","program":"memory","peer":"%s","version":"%s","failed_runs":%s' \
		"$1" "$2" "${VERSION[$2]//\"/}" "${FAIL[$1|$2]:-0}")
	for t in $3; do
		k=${t%%=*}
		v=${t#*=}
		[[ $k == workload || $k == *.sum ]] && continue
		if [[ $v =~ ^-?[0-9.]+$ ]]; then
			out+=",\"${k//./_}\":$v"
		elif [[ $v =~ ^[-0-9.,]+$ ]]; then
			out+=",\"${k//./_}\":[$v]"
		else
			out+=",\"${k//./_}\":\"$v\""
		fi
	done
	echo "$out,\"nproc\":$NPROC,\"cpu\":\"${CPU//\"/}\"}"
}

mem_head() { # KIND FIRST-AGGREGATE
	local at
	case $1 in
	rss-after-free)
		echo "# rss-after-free: resident MiB with everything live, then at each time after the last free"
		IFS=, read -r -a at <<<"$(get "$2" at_s)"
		printf '%-15s %-13s %9s' case peer live
		printf ' %8gs' "${at[@]}"
		echo ;;
	fragmentation)
		echo "# fragmentation: ms of the 1 MiB mallocs after N 64-byte objects, every other one freed"
		printf '%-15s %-13s %9s %17s %9s %9s\n' case peer "1MiB ms" min-max "64B ms" "RSS MiB" ;;
	untouched)
		echo "# untouched: malloc(SIZE) until NULL or the limit, never written; how many succeeded"
		printf '%-15s %-13s %5s %9s %6s %9s %9s\n' case peer ok min-max errno "RSS MiB" ms ;;
	address-limit)
		echo "# address-limit: RLIMIT_AS set before exec; runs that reached main, whose first" \
			"malloc(64) worked, MiB got in steps until NULL, runs ending in ENOMEM"
		printf '%-15s %-13s %8s %8s %7s %11s %8s %6s\n' case peer started malloc64 MiB min-max \
			ENOMEM exit ;;
	esac
}

mem_cells() { # KIND AGGREGATE: the row's figures
	local a=$2 rss r runs
	case $1 in
	rss-after-free)
		printf '%9s' "$(mib "$(get "$a" rss_kb_live)")"
		IFS=, read -r -a rss <<<"$(get "$a" rss_kb)"
		for r in "${rss[@]}"; do printf ' %9s' "$(mib "$r")"; done ;;
	fragmentation)
		printf '%9s %17s %9s %9s' "$(get "$a" large_ms)" \
			"$(get "$a" large_ms.min)-$(get "$a" large_ms.max)" "$(get "$a" small_ms)" \
			"$(mib "$(get "$a" peak_rss_kb)")" ;;
	untouched)
		printf '%5s %9s %6s %9s %9s' "$(get "$a" ok)" "$(get "$a" ok.min)-$(get "$a" ok.max)" \
			"$(get "$a" errno)" "$(mib "$(get "$a" rss_kb)")" "$(get "$a" ms)"
		[[ -n $(get "$a" capped) ]] && printf '  [stopped: RSS grew by 2 GiB]' ;;
	address-limit)
		runs=$(get "$a" runs)
		printf '%8s %8s %7s %11s %8s %6s' "$(get "$a" started.sum)/$runs" \
			"$(get "$a" small_ok.sum)/$runs" "$(get "$a" got_mib)" \
			"$(get "$a" got_mib.min)-$(get "$a" got_mib.max)" "$(get "$a" enomem.sum)/$runs" \
			"$(get "$a" exit)" ;;
	esac
}

# The rows of every case that runs memory.c's KIND, under one header.
mem_table() { # KIND
	local c name p agg nfail names=() head=
	for c in "${CASES[@]}"; do
		[[ ${c#*:} == "$1" || ${c#*:} == "$1 "* ]] && names+=("${c%%:*}")
	done
	[[ ${#names[@]} -gt 0 ]] || return 0
	for name in "${names[@]}"; do
		for p in "${PEERS[@]}"; do
			[[ -z $head ]] && head=$(agg_of "$name" "$p")
		done
	done
	[[ $JSON -eq 0 ]] && mem_head "$1" "$head"
	for name in "${names[@]}"; do
		for p in "${PEERS[@]}"; do
			nfail=${FAIL[$name|$p]:-0}
			agg=$(agg_of "$name" "$p")
			[[ -n $agg ]] && mem_json "$name" "$p" "$agg" >>"$MEM_JSONL"
			if [[ $JSON -eq 1 ]]; then
				[[ -n $agg ]] && mem_json "$name" "$p" "$agg"
				continue
			fi
			if [[ -z $agg ]]; then
				printf '%-15s %-13s  (%s runs failed)\n' "$name" "$p" "$nfail"
				continue
			fi
			printf '%-15s %-13s %s%s\n' "$name" "$p" "$(mem_cells "$1" "$agg")" \
				"$([[ $nfail -gt 0 ]] && echo "  [$nfail failed]")"
		done
	done
}

for kind in rss-after-free fragmentation untouched address-limit; do
	mem_table "$kind"
done

# Does the 1 MiB phase's time follow the small heap? Largest over smallest.
if [[ $JSON -eq 0 ]]; then
	frag=$(printf '%s\n' "${CASES[@]}" | grep ':fragmentation' | cut -d: -f1)
	small=$(head -n 1 <<<"$frag")
	large=$(tail -n 1 <<<"$frag")
	if [[ -n $small && $small != "$large" ]]; then
		echo "# fragmentation, $large's 1 MiB phase over $small's:"
		for p in "${PEERS[@]}"; do
			g=$(ratio "$(get "$(agg_of "$large" "$p")" large_ms)" \
				"$(get "$(agg_of "$small" "$p")" large_ms)")
			echo "#   $p: ${g:--}"
		done
	fi
fi
exit 0

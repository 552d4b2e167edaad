#!/usr/bin/env bash
# sched.sh — gort's scheduler against Go's on the same workloads: a
# goroutine switch, a spawn, a park/ready round trip, a parked goroutine's
# memory (bench/sched.c and bench/sched_go.go; bench/README.md explains them).
#
# gort copies Go's G-M-P scheduler, so Go on the same machine, in the same
# invocation, is the reference its numbers are read against.
#
# Usage: bench/sched.sh [--runs N] [--quick] [--only W,W,...] [--build DIR]
#   --runs N     runs per workload and side (default 5)
#   --quick      a smoke test: small N, one run (a later --runs still wins)
#   --only W,..  only these workloads (the rows' names, e.g. chan-pingpong)
#   --build DIR  build folder, relative to the repository (default build)
#
# Builds DIR/bench/sched with make (the normal, non-sanitizer library) and
# DIR/bench/sched_go with `go build` (Go's cache and GOPATH under DIR/go, so
# nothing is written to $HOME). Without a `go` command the Go side is
# skipped with a note (Debian: golang-go, or scripts/deps.sh bench).
#
# Runs are interleaved: each round runs every workload on both sides, and
# which side goes first alternates from round to round, so a slow phase of
# a shared machine hits both alike. The table gives the median and min-max
# per side, the ratio of the medians, gort/Go (< 1: gort is faster or
# smaller), and the median of the rounds' own ratios (paired). Results go
# to stdout (and, as JSON lines, to DIR/bench/sched.jsonl for
# bench/chart.py), progress and notes to stderr. The numbers
# are informational, never pass/fail; a run that crashes, prints nothing
# or outlives its time limit is counted as failed and reported.

set -u
set -o pipefail

usage() {
	echo "usage: $0 [--runs N] [--quick] [--only W,W,...] [--build DIR]" >&2
	exit 2
}

RUNS=
QUICK=0
ONLY=
BUILD=build
while [[ $# -gt 0 ]]; do
	case $1 in
	--runs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--only) [[ $# -ge 2 && -n $2 ]] || usage; ONLY=$2; shift 2 ;;
	--build) [[ $# -ge 2 && -n $2 ]] || usage; BUILD=$2; shift 2 ;;
	*) usage ;;
	esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

note() { echo "# $*" >&2; }

# name:N, the same N for both programs. The full sizes keep a 5-run
# invocation near two minutes on 2 cores; parked is a million by design.
if [[ $QUICK -eq 1 ]]; then
	WORKLOADS=(yield:100000 yield-step:100000 spawn-p1:10000 spawn-p2:10000
		pingpong:20000 parked:10000 fanout:10000
		chan-pingpong:20000 chan-buf-p1:100000 chan-buf-p2:100000 mutex:100000 sleep:10000)
	RUNS=${RUNS:-1}
	LIMIT=60
else
	WORKLOADS=(yield:2000000 yield-step:2000000 spawn-p1:100000 spawn-p2:100000
		pingpong:500000 parked:1000000 fanout:100000
		chan-pingpong:500000 chan-buf-p1:2000000 chan-buf-p2:2000000 mutex:2000000 sleep:100000)
	RUNS=${RUNS:-5}
	LIMIT=300
fi

# --only: keep the named rows, in the table's order; an unknown name is an error.
if [[ -n $ONLY ]]; then
	declare -A WANT=()
	for w in ${ONLY//,/ }; do WANT[$w]=1; done
	KEPT=()
	for spec in "${WORKLOADS[@]}"; do
		wl=${spec%%:*}
		[[ -n ${WANT[$wl]:-} ]] && KEPT+=("$spec") && unset "WANT[$wl]"
	done
	if [[ ${#WANT[@]} -gt 0 ]]; then
		note "unknown workload(s): ${!WANT[*]}"
		usage
	fi
	WORKLOADS=("${KEPT[@]}")
fi

# ------------------------------------------------------------------ build

make -s --no-print-directory BUILD_ROOT="$BUILD" "$BUILD/bench/sched" >&2 || {
	note "could not build $BUILD/bench/sched"
	exit 1
}
BUILD=$(cd "$BUILD" && pwd)
GORT_BIN=$BUILD/bench/sched
GO_BIN=$BUILD/bench/sched_go

HAVE_GO=0
if command -v go >/dev/null; then
	mkdir -p "$BUILD/go/cache" "$BUILD/go/path"
	if GOCACHE=$BUILD/go/cache GOPATH=$BUILD/go/path GO111MODULE=off GOFLAGS=-mod=mod \
		go build -o "$GO_BIN" bench/sched_go.go >&2; then
		HAVE_GO=1
	else
		note "could not build bench/sched_go.go: Go side skipped"
	fi
else
	note "no go command (Debian: apt-get install golang-go): Go side skipped"
fi

# ------------------------------------------------------------------ header

gort_version() {
	local v rev
	v=$(sed -n 's/^#define GORT_VERSION_STRING "\(.*\)"/\1/p' lib/include/gort.h 2>/dev/null)
	rev=$(git describe --always --dirty 2>/dev/null || true)
	echo "gort ${v:-unknown}${rev:+ ($rev)}"
}

CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "# machine: nproc=$(nproc 2>/dev/null || echo '?') cpu=\"${CPU:-unknown}\" kernel=\"$(uname -sr)\""
echo "# $(gort_version), $(${CC:-gcc} --version 2>/dev/null | head -n 1)"
if [[ $HAVE_GO -eq 1 ]]; then
	echo "# $(go version)"
fi
echo "# $RUNS interleaved runs per row; median (min-max); gort/Go = gort median / Go median;"
echo "# paired = median over the rounds of gort's run / Go's run in the same round"

# ------------------------------------------------------------------ runs

declare -A RES  # "workload|side" -> space-separated values
declare -A FAIL # "workload|side" -> count of failed runs
declare -A UNIT # workload -> unit printed by the programs
declare -A RSS  # "workload|side" -> peak RSS in KiB of each run (sleep only)

# go_name WORKLOAD: the Go workload it is compared with ("" if none). Go
# has no step mode: its yield is the reference for yield-step as well.
go_name() {
	case $1 in
	yield-step) echo "" ;;
	*) echo "$1" ;;
	esac
}

# run_one SIDE WORKLOAD N: runs one program once and files its value.
run_one() {
	local side=$1 wl=$2 n=$3 bin out rc name v unit extra
	bin=$GORT_BIN
	[[ $side == go ]] && bin=$GO_BIN
	out=$(timeout -k 5 "$LIMIT" "$bin" "$wl" "$n" 2>&1)
	rc=$?
	read -r name v unit extra _ <<<"$(tail -n 1 <<<"$out")"
	if [[ $rc -ne 0 || $name != "$wl" || ! $v =~ ^[0-9.]+$ ]]; then
		FAIL[$wl|$side]=$((${FAIL[$wl|$side]:-0} + 1))
		[[ $rc -eq 124 ]] && out="timed out after $LIMIT s; $out"
		note "$wl $n on $side failed (exit status $rc): $(head -n 3 <<<"$out" | tr '\n' ' ')"
		return
	fi
	RES[$wl|$side]+="$v "
	UNIT[$wl]=$unit
	# sleep also reports the process's peak RSS: peak_rss_kb=K.
	if [[ ${extra:-} =~ ^peak_rss_kb=([0-9]+)$ ]]; then
		RSS[$wl|$side]+="${BASH_REMATCH[1]} "
	fi
}

for ((run = 1; run <= RUNS; run++)); do
	note "run $run/$RUNS"
	for spec in "${WORKLOADS[@]}"; do
		wl=${spec%%:*} n=${spec#*:}
		sides=(gort)
		if [[ $HAVE_GO -eq 1 && -n $(go_name "$wl") ]]; then
			if ((run % 2)); then sides=(gort go); else sides=(go gort); fi
		fi
		for side in "${sides[@]}"; do
			run_one "$side" "$wl" "$n"
		done
	done
done

# ------------------------------------------------------------------ table

# stats "v1 v2 ...": prints "median min max"
stats() {
	tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR]
		}'
}

# cell "v1 v2 ..." FAILED: "median (min-max)", one decimal, or why not.
cell() {
	local med lo hi
	if [[ -z $1 ]]; then
		[[ $2 -gt 0 ]] && echo "($2 runs failed)" || echo "-"
		return
	fi
	read -r med lo hi < <(stats "$1")
	printf '%.1f (%.1f-%.1f)%s' "$med" "$lo" "$hi" "$([[ $2 -gt 0 ]] && echo " [$2 failed]")"
}

median() {
	local med
	[[ -n $1 ]] && read -r med _ _ < <(stats "$1") && echo "$med"
}

# rss_row WORKLOAD N GO_NAME: the peak RSS a workload reported, in MiB,
# as a row of its own under the timing row.
rss_row() {
	local gr=${RSS[$1|gort]:-} or= gm om ratio=- g o
	[[ $HAVE_GO -eq 1 ]] && or=${RSS[$3|go]:-}
	g=$(kib_to_mib "$gr") o=$(kib_to_mib "$or")
	gm=$(median "$g") om=$(median "$o")
	if [[ -n $gm && -n $om ]]; then
		ratio=$(awk -v a="$gm" -v b="$om" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	fi
	printf '%-13s %9s %-13s %-28s %-28s %-8s %s\n' "$1:rss" "$2" "MiB peak" "$(cell "$g" 0)" \
		"$(cell "$o" 0)" "$ratio" "$(paired "$g" "$o")"
	printf '{"workload":"%s:rss","n":%s,"unit":"MiB","gort_median":%s,"go_median":%s,"ratio_gort_over_go":%s}\n' \
		"$1" "$2" "${gm:-null}" "${om:-null}" \
		"$([[ $ratio == - ]] && echo null || echo "$ratio")" >>"$BUILD/bench/sched.jsonl"
}

kib_to_mib() {
	local k out=
	for k in $1; do out+=$(awk -v k="$k" 'BEGIN { printf "%.1f ", k / 1024 }'); done
	echo "$out"
}

# paired "g1 g2 ..." "o1 o2 ...": the median of the rounds' own ratios
# gi/oi (the two runs of a round are seconds apart, so a slow phase of the
# machine weighs on both); "-" unless every round has both values.
paired() {
	local -a g=($1) o=($2)
	[[ ${#g[@]} -gt 0 && ${#g[@]} -eq ${#o[@]} ]] || { echo -; return; }
	local r= i
	for ((i = 0; i < ${#g[@]}; i++)); do
		r+=$(awk -v a="${g[i]}" -v b="${o[i]}" 'BEGIN { if (b > 0) printf "%.4f ", a / b }')
	done
	local m
	m=$(median "$r")
	[[ -n $m ]] && printf '%.2f' "$m" || echo -
}

: >"$BUILD/bench/sched.jsonl"
printf '%-13s %9s %-13s %-28s %-28s %-8s %s\n' workload N unit "gort median (min-max)" \
	"Go median (min-max)" "gort/Go" "paired"
for spec in "${WORKLOADS[@]}"; do
	wl=${spec%%:*} n=${spec#*:}
	gname=$(go_name "$wl")
	[[ $wl == yield-step ]] && gname=yield
	gv=${RES[$wl|gort]:-} ov=
	[[ $HAVE_GO -eq 1 ]] && ov=${RES[$gname|go]:-}
	gcell=$(cell "$gv" "${FAIL[$wl|gort]:-0}")
	ocell=$(cell "$ov" "${FAIL[$gname|go]:-0}")
	[[ $wl == yield-step && -n $ov ]] && ocell="$ocell *"
	ratio=-
	gm=$(median "$gv") om=$(median "$ov")
	if [[ -n $gm && -n $om ]]; then
		ratio=$(awk -v a="$gm" -v b="$om" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	fi
	pr=$(paired "$gv" "$ov")
	printf '%-13s %9s %-13s %-28s %-28s %-8s %s\n' "$wl" "$n" "${UNIT[$wl]:-?}" "$gcell" "$ocell" \
		"$ratio" "$pr"
	# The same row for bench/chart.py.
	printf '{"workload":"%s","n":%s,"unit":"%s","gort_median":%s,"go_median":%s,"ratio_gort_over_go":%s,"paired_ratio":%s}\n' \
		"$wl" "$n" "${UNIT[$wl]:-?}" "${gm:-null}" "${om:-null}" \
		"$([[ $ratio == - ]] && echo null || echo "$ratio")" \
		"$([[ $pr == - ]] && echo null || echo "$pr")" >>"$BUILD/bench/sched.jsonl"
	[[ -n ${RSS[$wl|gort]:-}${RSS[$gname|go]:-} ]] && rss_row "$wl" "$n" "$gname"
done
if [[ $HAVE_GO -eq 1 && " ${WORKLOADS[*]}" == *" yield-step:"* ]]; then
	echo "# * Go has no step mode: yield-step is compared with Go's yield row"
fi
exit 0

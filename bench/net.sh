#!/usr/bin/env bash
# net.sh — gort's netpoller against Go's net package: the servers of
# examples/echo.c and examples/httpd.c (threaded mode, 2 Ps) against the
# same servers in Go (bench/net_go.go, GOMAXPROCS=2), both loaded by
# bench/netload.c, a plain-epoll client that does not use gort.
#
# Usage: bench/net.sh [--runs N] [--quick] [--only R,R,...] [--build DIR]
#   --runs N     runs per row and side (default 5)
#   --quick      a smoke test: small counts, one run (a later --runs still wins)
#   --only R,..  only these rows (echo-c1000, echo-c100, http-c1000, http-c100)
#   --build DIR  build folder, relative to the repository (default build)
#
# Each run starts a server on a free port of 127.0.0.1 that serves a fixed
# number of connections and exits, runs netload against it, and waits for
# the server to end. Rows: echo (64-byte round trips, 100 per connection)
# and http (one GET / per HTTP/1.0 connection), with 1,000 and 100
# concurrent connections. Runs are interleaved (every row on both sides in
# each round, the side that goes first alternating) and the table gives the
# median requests per second and min-max per side, gort/Go (> 1: gort
# served more), and the median of the rounds' own ratios (paired). The
# load generator runs on the same cores as the server. The numbers are
# informational, never pass/fail; a run that fails or outlives its time
# limit is counted as failed and reported.

set -u
set -o pipefail

usage() {
	echo "usage: $0 [--runs N] [--quick] [--only R,R,...] [--build DIR]" >&2
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

# name:CONNS:COUNT. echo: COUNT round trips per connection; http: COUNT
# requests in all (each a connection), CONNS of them at a time.
if [[ $QUICK -eq 1 ]]; then
	ROWS=(echo-c1000:1000:10 echo-c100:100:100 http-c1000:1000:2000 http-c100:100:2000)
	RUNS=${RUNS:-1}
else
	ROWS=(echo-c1000:1000:100 echo-c100:100:1000 http-c1000:1000:20000 http-c100:100:20000)
	RUNS=${RUNS:-5}
fi
LIMIT=120

if [[ -n $ONLY ]]; then
	declare -A WANT=()
	for r in ${ONLY//,/ }; do WANT[$r]=1; done
	KEPT=()
	for spec in "${ROWS[@]}"; do
		r=${spec%%:*}
		[[ -n ${WANT[$r]:-} ]] && KEPT+=("$spec") && unset "WANT[$r]"
	done
	if [[ ${#WANT[@]} -gt 0 ]]; then
		note "unknown row(s): ${!WANT[*]}"
		usage
	fi
	ROWS=("${KEPT[@]}")
fi

# 1,000 connections are 1,000 fds in the server and 1,000 in the client.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge 2200 ]] ||
	note "ulimit -n is $(ulimit -n): the 1,000-connection rows may fail"

# ------------------------------------------------------------------ build

make -s --no-print-directory BUILD_ROOT="$BUILD" "$BUILD/bench/netload" \
	"$BUILD/examples/echo" "$BUILD/examples/httpd" >&2 || {
	note "could not build netload and the examples in $BUILD"
	exit 1
}
BUILD=$(cd "$BUILD" && pwd)
GO_BIN=$BUILD/bench/net_go

HAVE_GO=0
if command -v go >/dev/null; then
	mkdir -p "$BUILD/go/cache" "$BUILD/go/path"
	if GOCACHE=$BUILD/go/cache GOPATH=$BUILD/go/path GO111MODULE=off GOFLAGS=-mod=mod \
		go build -o "$GO_BIN" bench/net_go.go >&2; then
		HAVE_GO=1
	else
		note "could not build bench/net_go.go: Go side skipped"
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
[[ $HAVE_GO -eq 1 ]] && echo "# $(go version)"
echo "# servers: gort threaded, 2 Ps; Go GOMAXPROCS=2; load: bench/netload, 1 thread, same machine"
echo "# $RUNS interleaved runs per row; req/s median (min-max); gort/Go = gort median / Go median"
echo "# (> 1: gort served more); paired = median over the rounds of gort's run / Go's run"

# ------------------------------------------------------------------ runs

declare -A RES  # "row|side" -> space-separated req/s
declare -A FAIL # "row|side" -> failed runs

# server_cmd SIDE MODE CONNS_TO_SERVE: the server's command line.
server_cmd() {
	local side=$1 mode=$2 n=$3 ex=echo
	[[ $mode == http ]] && ex=httpd
	if [[ $side == gort ]]; then
		echo "$BUILD/examples/$ex -t -n $n 0"
	else
		echo "env GOMAXPROCS=2 $GO_BIN $mode -n $n 0"
	fi
}

# wait_port FILE PID: the port the server printed, once it has.
wait_port() {
	local i port
	for ((i = 0; i < 200; i++)); do
		port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$1" 2>/dev/null)
		[[ -n $port ]] && echo "$port" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# stop PID: waits up to 10 s for the server to end by itself, then ends it.
stop() {
	local i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill "$1" 2>/dev/null && note "server $1 did not exit: ended"
	wait "$1" 2>/dev/null
}

SERVER_PID=
trap '[[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null' EXIT

# run_one SIDE ROW CONNS COUNT: one server, one load; files req/s.
run_one() {
	local side=$1 row=$2 conns=$3 count=$4 mode=${2%%-*} serve lg port out log rc
	if [[ $mode == echo ]]; then
		serve=$conns lg=(echo -c "$conns" -r "$count")
	else
		serve=$count lg=(http -c "$conns" -n "$count")
	fi
	log=$(mktemp)
	# shellcheck disable=SC2046
	$(server_cmd "$side" "$mode" "$serve") >"$log" 2>&1 &
	SERVER_PID=$!
	if ! port=$(wait_port "$log" "$SERVER_PID"); then
		note "$row on $side: the server did not start: $(head -n 3 "$log" | tr '\n' ' ')"
		FAIL[$row|$side]=$((${FAIL[$row|$side]:-0} + 1))
		stop "$SERVER_PID"; SERVER_PID=; rm -f "$log"
		return
	fi
	out=$(timeout -k 5 "$LIMIT" "$BUILD/bench/netload" "${lg[@]}" "$port" 2>&1)
	rc=$?
	stop "$SERVER_PID"
	SERVER_PID=
	read -r name v _ <<<"$(tail -n 1 <<<"$out")"
	if [[ $rc -ne 0 || $name != "$mode" || ! $v =~ ^[0-9.]+$ ]]; then
		FAIL[$row|$side]=$((${FAIL[$row|$side]:-0} + 1))
		note "$row on $side failed (exit status $rc): $(head -n 3 <<<"$out" | tr '\n' ' ')" \
			"server: $(head -n 3 "$log" | tr '\n' ' ')"
	else
		RES[$row|$side]+="$v "
	fi
	rm -f "$log"
}

for ((run = 1; run <= RUNS; run++)); do
	note "run $run/$RUNS"
	for spec in "${ROWS[@]}"; do
		IFS=: read -r row conns count <<<"$spec"
		sides=(gort)
		if [[ $HAVE_GO -eq 1 ]]; then
			if ((run % 2)); then sides=(gort go); else sides=(go gort); fi
		fi
		for side in "${sides[@]}"; do
			run_one "$side" "$row" "$conns" "$count"
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

cell() {
	local med lo hi
	if [[ -z $1 ]]; then
		[[ $2 -gt 0 ]] && echo "($2 runs failed)" || echo "-"
		return
	fi
	read -r med lo hi < <(stats "$1")
	printf '%.0f (%.0f-%.0f)%s' "$med" "$lo" "$hi" "$([[ $2 -gt 0 ]] && echo " [$2 failed]")"
}

median() {
	local med
	[[ -n $1 ]] && read -r med _ _ < <(stats "$1") && echo "$med"
}

paired() {
	local -a g=($1) o=($2)
	[[ ${#g[@]} -gt 0 && ${#g[@]} -eq ${#o[@]} ]] || { echo -; return; }
	local r= i m
	for ((i = 0; i < ${#g[@]}; i++)); do
		r+=$(awk -v a="${g[i]}" -v b="${o[i]}" 'BEGIN { if (b > 0) printf "%.4f ", a / b }')
	done
	m=$(median "$r")
	[[ -n $m ]] && printf '%.2f' "$m" || echo -
}

: >"$BUILD/bench/net.jsonl"
printf '%-11s %6s %8s %-26s %-26s %-8s %s\n' row conns count "gort req/s (min-max)" \
	"Go req/s (min-max)" "gort/Go" "paired"
for spec in "${ROWS[@]}"; do
	IFS=: read -r row conns count <<<"$spec"
	gv=${RES[$row|gort]:-} ov=${RES[$row|go]:-}
	ratio=- gm=$(median "$gv") om=$(median "$ov")
	if [[ -n $gm && -n $om ]]; then
		ratio=$(awk -v a="$gm" -v b="$om" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	fi
	pr=$(paired "$gv" "$ov")
	printf '%-11s %6s %8s %-26s %-26s %-8s %s\n' "$row" "$conns" "$count" \
		"$(cell "$gv" "${FAIL[$row|gort]:-0}")" "$(cell "$ov" "${FAIL[$row|go]:-0}")" "$ratio" "$pr"
	printf '{"row":"%s","conns":%s,"count":%s,"unit":"req/s","gort_median":%s,"go_median":%s,"ratio_gort_over_go":%s,"paired_ratio":%s}\n' \
		"$row" "$conns" "$count" "${gm:-null}" "${om:-null}" \
		"$([[ $ratio == - ]] && echo null || echo "$ratio")" \
		"$([[ $pr == - ]] && echo null || echo "$pr")" >>"$BUILD/bench/net.jsonl"
done
echo "# echo: COUNT 64-byte round trips per connection; http: COUNT connections in all, CONNS at a time"
exit 0

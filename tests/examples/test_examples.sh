#!/usr/bin/env bash
# test_examples.sh BUILD — the C examples under examples/ run and print what
# they should: the prime sieve's first 100 primes (checked against trial
# division here) in step mode, twice byte for byte, and in threaded mode.
set -u
build=${1:?usage: test_examples.sh BUILD}
sieve=$build/examples/sieve
n=0
ok() { n=$((n + 1)); echo "ok - $*"; }
not_ok() { n=$((n + 1)); echo "not ok - $*"; }

primes() {
	local want=$1 k=2 d found=0
	while ((found < want)); do
		for ((d = 2; d * d <= k; d++)); do ((k % d == 0)) && break; done
		if ((d * d > k)); then
			echo "$k"
			found=$((found + 1))
		fi
		k=$((k + 1))
	done
}

expected=$(primes 100)
if [[ ! -x $sieve ]]; then
	not_ok "sieve: $sieve was not built"
	exit 1
fi
step1=$("$sieve" 100)
step2=$("$sieve" 100)
threaded=$("$sieve" -t 100)
[[ "$step1" == "$expected" ]] && ok "sieve: step mode prints the first 100 primes" ||
	not_ok "sieve: step mode printed $(echo "$step1" | head -3 | tr '\n' ' ')..."
[[ "$step1" == "$step2" ]] && ok "sieve: step mode repeats itself" || not_ok "sieve: two step runs differ"
[[ "$threaded" == "$expected" ]] && ok "sieve: threaded mode prints the first 100 primes" ||
	not_ok "sieve: threaded mode printed $(echo "$threaded" | head -3 | tr '\n' ' ')..."
"$sieve" 0 2>/dev/null && not_ok "sieve: N=0 accepted" || ok "sieve: N=0 refused"

# serve NAME MODE N — starts examples/NAME (MODE: "" or -t) for N
# connections; sets port and pid.
serve() {
	local out=$build/test-logs/example-$1.out
	mkdir -p "$build/test-logs"
	"$build/examples/$1" $2 -n "$3" >"$out" 2>&1 &
	pid=$!
	port=
	for _ in $(seq 50); do
		port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
		[[ -n $port ]] && return 0
		sleep 0.1
	done
	return 1
}

# finished PID — the server exits by itself once its N connections end.
finished() {
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.1
	done
	kill "$1"
	return 1
}

echo_client() {
	local reply
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf 'line %s\n' "$1" >&$fd
	read -r -t 5 reply <&$fd
	exec {fd}>&-
	[[ $reply == "line $1" ]]
}

http_get() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf 'GET %s HTTP/1.0\r\n\r\n' "$1" >&$fd
	timeout 5 cat <&$fd
	exec {fd}>&-
}

for mode in "" -t; do
	label=${mode:+threaded}
	label=${label:-step}
	clients=40
	if serve echo "$mode" $clients; then
		fails=0
		for i in $(seq $clients); do echo_client "$i" & done
		for job in $(jobs -p); do [[ $job == "$pid" ]] && continue; wait "$job" || fails=$((fails + 1)); done
		finished "$pid" && ((fails == 0)) && ok "echo ($label): $clients concurrent clients echoed, server done" ||
			not_ok "echo ($label): $fails of $clients clients failed, or the server did not finish"
	else
		not_ok "echo ($label): did not start"
	fi
	if serve httpd "$mode" 12; then
		results=$build/test-logs/example-httpd-$label.replies
		: >"$results"
		for i in $(seq 4); do http_get "/sleep?ms=300" >>"$results" & done
		for i in $(seq 7); do http_get / >>"$results" & done
		http_get /nope >>"$results" &
		for job in $(jobs -p); do [[ $job == "$pid" ]] && continue; wait "$job"; done
		hello=$(grep -c '^hello from goroutine [0-9]*$' "$results")
		slept=$(grep -c '^slept 300 ms in goroutine [0-9]*$' "$results")
		missing=$(grep -c '^HTTP/1.0 404 Not Found' "$results")
		finished "$pid" && ((hello == 7 && slept == 4 && missing == 1)) &&
			ok "httpd ($label): 7 greetings, 4 sleepers, 1 not found, server done" ||
			not_ok "httpd ($label): $hello greetings, $slept sleepers, $missing not found"
	else
		not_ok "httpd ($label): did not start"
	fi
done

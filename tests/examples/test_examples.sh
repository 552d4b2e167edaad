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

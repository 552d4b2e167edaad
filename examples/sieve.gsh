# sieve.gsh — Go's concurrent prime sieve (go.dev/doc/play/sieve.go) as goroutines:
# a generator sends 2, 3, 4, ... down a channel; each prime found starts a filter
# that passes on only the numbers its prime does not divide.
# Run it with `build/gortsh examples/sieve.gsh`.
init procs=2 seed=1

chan primes 10   # main puts each prime here, so `dump chan primes` shows them at the end

# Send 2, 3, 4, ... on ch (a copy of main's variable, taken at spawn).
func generate {
	let i = 2
	repeat 1000 { send ch i; let i = i + 1 }
}

# Copy the values from in to out, dropping those prime divides.
func filter {
	repeat 1000 { recv in as i; if i % prime { send out i } }
}

# The first 10 primes: each is the first value out of the last filter.
func main {
	chan ch
	spawn generate
	repeat 10 {
		recv ch as prime
		send primes prime
		chan out
		let in = ch
		spawn filter
		let ch = out
	}
}

spawn main
run
dump chan primes
gs
echo "The first 10 primes are in the buffer; main has exited and every other G waits to send."

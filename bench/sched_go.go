// sched_go.go — the workloads of bench/sched.c, run by Go's own runtime.
//
// gort rebuilds Go's G-M-P scheduler in C; this program measures what the
// original costs for the same four things — a goroutine switch, a spawn, a
// wake-up round trip, the memory of a parked goroutine — so bench/sched.sh
// can print the two side by side. Standard library only, one file:
//
//	go build -o sched_go bench/sched_go.go
//
// Usage: sched_go WORKLOAD [N]
//
//	yield     GOMAXPROCS=1: two goroutines call runtime.Gosched, N switches in all
//	spawn-p1  GOMAXPROCS=1: main spawns N goroutines that exit at once (sync.WaitGroup)
//	spawn-p2  the same with GOMAXPROCS=2
//	pingpong  GOMAXPROCS=1: two goroutines bounce a value over two unbuffered
//	          channels, N round trips
//	parked    GOMAXPROCS=1: N goroutines block receiving from one channel;
//	          resident memory they add
//	fanout    GOMAXPROCS=2: a goroutine starts N goroutines that each allocate,
//	          fill and drop 64 bytes, then waits for all (sync.WaitGroup)
//	chan-pingpong  pingpong again, the row of sched.c's channel ping-pong
//	chan-buf-p1    GOMAXPROCS=1: a producer sends N values through a channel
//	               of 128, a consumer ranges over it until the close
//	chan-buf-p2    the same with GOMAXPROCS=2
//	mutex     GOMAXPROCS=2: 8 goroutines increment one counter under one
//	          sync.Mutex, N increments in all
//	sleep     GOMAXPROCS=2: a goroutine starts N that each time.Sleep once,
//	          10 to 100 ms; wall ms until the last woke, and peak RSS
//
// Output, one line: WORKLOAD VALUE UNIT, as sched.c prints it. Times are
// wall-clock from the first `go` statement to the last goroutine's end,
// after the same untimed warm-ups as sched.c. Resident memory comes from
// /proc/self/statm, as in sched.c: runtime.ReadMemStats reports what the
// runtime asked for, not what the kernel holds.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "sched_go: "+format+"\n", args...)
	os.Exit(1)
}

// warmUp starts and ends one goroutine, as sched.c does to start its M.
func warmUp() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { wg.Done() }()
	wg.Wait()
}

// ------------------------------------------------------------------ yield

func yielder(n int, wg *sync.WaitGroup) {
	for i := 0; i < n; i++ {
		runtime.Gosched()
	}
	wg.Done()
}

// benchYield: each of two goroutines yields n/2 times; with one P every
// Gosched hands it to the other, so n switches in all.
func benchYield(n int) float64 {
	runtime.GOMAXPROCS(1)
	warmUp()
	var wg sync.WaitGroup
	wg.Add(2)
	t0 := time.Now()
	go yielder(n/2, &wg)
	go yielder(n/2, &wg)
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(n/2*2)
}

// ------------------------------------------------------------------ spawn

func child(ran *int64, wg *sync.WaitGroup) {
	atomic.AddInt64(ran, 1)
	wg.Done()
}

func spawnRound(n int) time.Duration {
	var wg sync.WaitGroup
	var ran int64
	wg.Add(n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go child(&ran, &wg)
	}
	wg.Wait()
	d := time.Since(t0)
	if atomic.LoadInt64(&ran) != int64(n) {
		die("%d of %d spawned goroutines ran", ran, n)
	}
	return d
}

// benchSpawn times the second of two rounds: the first makes the
// goroutines and stacks that the second reuses, as sched.c does.
func benchSpawn(n, procs int) float64 {
	runtime.GOMAXPROCS(procs)
	warmUp()
	spawnRound(n)
	return float64(spawnRound(n).Nanoseconds()) / float64(n)
}

// --------------------------------------------------------------- pingpong

func server(n int, ping, pong chan int, wg *sync.WaitGroup) {
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	wg.Done()
}

func answerer(n int, ping, pong chan int, rounds *int, wg *sync.WaitGroup) {
	for i := 0; i < n; i++ {
		v := <-ping
		*rounds++
		pong <- v
	}
	wg.Done()
}

func benchPingpong(n int) float64 {
	runtime.GOMAXPROCS(1)
	warmUp()
	ping, pong := make(chan int), make(chan int)
	var wg sync.WaitGroup
	rounds := 0
	wg.Add(2)
	t0 := time.Now()
	go answerer(n, ping, pong, &rounds, &wg)
	go server(n, ping, pong, &wg)
	wg.Wait()
	d := time.Since(t0)
	if rounds != n {
		die("%d of %d round trips", rounds, n)
	}
	return float64(d.Nanoseconds()) / float64(n)
}

// ----------------------------------------------------------------- parked

// rssBytes: resident bytes of the process, the second field of
// /proc/self/statm times the page size.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		die("%v", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		die("cannot parse /proc/self/statm")
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		die("%v", err)
	}
	return pages * int64(os.Getpagesize())
}

func parker(release chan struct{}, started, done *sync.WaitGroup, woke *int64) {
	started.Done()
	<-release
	atomic.AddInt64(woke, 1)
	done.Done()
}

// benchParked: with one P, a parker runs from started.Done to its receive
// without giving up the P, and main, woken by the last started.Done, runs
// only once that last one has blocked: all n are parked at the reading.
func benchParked(n int) float64 {
	runtime.GOMAXPROCS(1)
	warmUp()
	release := make(chan struct{})
	var started, done sync.WaitGroup
	var woke int64
	started.Add(n)
	done.Add(n)
	before := rssBytes()
	for i := 0; i < n; i++ {
		go parker(release, &started, &done, &woke)
	}
	started.Wait()
	after := rssBytes()
	close(release)
	done.Wait()
	if atomic.LoadInt64(&woke) != int64(n) {
		die("%d of %d parked goroutines finished", woke, n)
	}
	return float64(after-before) / float64(n)
}

// ------------------------------------------------------------------- main

type workload struct {
	n    int // default N, as in sched.c
	unit string
}

// ----------------------------------------------------------------- fanout

var sink []byte

func fanChild(wg *sync.WaitGroup, mu *sync.Mutex) {
	b := make([]byte, 64)
	for i := range b {
		b[i] = 1
	}
	if b[63] != 1 {
		mu.Lock() // never: keeps b on the heap without a data race
		sink = b
		mu.Unlock()
	}
	wg.Done()
}

func fanRound(n int) time.Duration {
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		wg.Add(n)
		for i := 0; i < n; i++ {
			go fanChild(&wg, &mu)
		}
		wg.Wait()
		close(done)
	}()
	<-done
	return time.Since(t0)
}

// benchFanout times the second of two rounds, as sched.c does.
func benchFanout(n int) float64 {
	runtime.GOMAXPROCS(2)
	warmUp()
	fanRound(n)
	return float64(fanRound(n).Nanoseconds()) / float64(n)
}

// ---------------------------------------------------------- chan-pingpong

// benchChanPingpong is pingpong under the name of sched.c's channel
// workload: gort's side uses its channels there, Go's are the same.
func benchChanPingpong(n int) float64 { return benchPingpong(n) }

// ----------------------------------------------------------- chan-buffered

const pcCap = 128

// benchChanBuffered: one producer sends 1..n through a channel of pcCap
// values and closes it; one consumer receives until the close. ns per value.
func benchChanBuffered(n, procs int) float64 {
	runtime.GOMAXPROCS(procs)
	warmUp()
	c := make(chan int, pcCap)
	var wg sync.WaitGroup
	var sum int
	wg.Add(2)
	t0 := time.Now()
	go func() {
		s := 0
		for v := range c {
			s += v
		}
		sum = s
		wg.Done()
	}()
	go func() {
		for i := 1; i <= n; i++ {
			c <- i
		}
		close(c)
		wg.Done()
	}()
	wg.Wait()
	d := time.Since(t0)
	if sum != n*(n+1)/2 {
		die("the consumer did not receive every value once")
	}
	return float64(d.Nanoseconds()) / float64(n)
}

// ------------------------------------------------------------------ mutex

const mutexGs = 8

// benchMutex: mutexGs goroutines with GOMAXPROCS=2 each increment one
// counter n/mutexGs times under one sync.Mutex. ns per Lock/Unlock pair.
func benchMutex(n int) float64 {
	runtime.GOMAXPROCS(2)
	warmUp()
	var mu sync.Mutex
	var wg sync.WaitGroup
	count := 0
	each := n / mutexGs
	wg.Add(mutexGs)
	t0 := time.Now()
	for g := 0; g < mutexGs; g++ {
		go func() {
			for i := 0; i < each; i++ {
				mu.Lock()
				count++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	if count != each*mutexGs {
		die("the mutex lost an increment")
	}
	return float64(d.Nanoseconds()) / float64(each*mutexGs)
}

// ------------------------------------------------------------------ sleep

var sleepPeakKB int64

// benchSleep: n goroutines, started by one goroutine with GOMAXPROCS=2,
// each sleep once for 10 to 100 ms; wall ms from the first `go` to the
// last wake-up, and the process's peak RSS (getrusage, as sched.c).
func benchSleep(n int) float64 {
	runtime.GOMAXPROCS(2)
	warmUp()
	var wg sync.WaitGroup
	var done int64
	wg.Add(n)
	t0 := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			go func(i int) {
				time.Sleep(time.Duration(10+i%91) * time.Millisecond)
				atomic.AddInt64(&done, 1)
				wg.Done()
			}(i)
		}
	}()
	wg.Wait()
	d := time.Since(t0)
	if atomic.LoadInt64(&done) != int64(n) {
		die("not every sleeper woke")
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		die("%v", err)
	}
	sleepPeakKB = ru.Maxrss
	return float64(d.Nanoseconds()) / 1e6
}

var workloads = map[string]workload{
	"yield":    {2000000, "ns/switch"},
	"spawn-p1": {100000, "ns/G"},
	"spawn-p2": {100000, "ns/G"},
	"pingpong": {500000, "ns/roundtrip"},
	"parked":   {1000000, "B/G"},
	"fanout":   {100000, "ns/G"},

	"chan-pingpong": {500000, "ns/roundtrip"},
	"chan-buf-p1":   {2000000, "ns/value"},
	"chan-buf-p2":   {2000000, "ns/value"},
	"mutex":         {2000000, "ns/lock"},
	"sleep":         {100000, "ms"},
}

func measure(name string, n int) float64 {
	switch name {
	case "yield":
		return benchYield(n)
	case "spawn-p1":
		return benchSpawn(n, 1)
	case "spawn-p2":
		return benchSpawn(n, 2)
	case "pingpong":
		return benchPingpong(n)
	case "fanout":
		return benchFanout(n)
	case "chan-pingpong":
		return benchChanPingpong(n)
	case "chan-buf-p1":
		return benchChanBuffered(n, 1)
	case "chan-buf-p2":
		return benchChanBuffered(n, 2)
	case "mutex":
		return benchMutex(n)
	case "sleep":
		return benchSleep(n)
	}
	return benchParked(n)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sched_go WORKLOAD [N]\nworkloads: yield spawn-p1 spawn-p2 pingpong parked fanout\n"+
		"           chan-pingpong chan-buf-p1 chan-buf-p2 mutex sleep")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		usage()
	}
	name := os.Args[1]
	w, ok := workloads[name]
	if !ok {
		usage()
	}
	n := w.n
	if len(os.Args) == 3 {
		v, err := strconv.Atoi(os.Args[2])
		if err != nil || v < 2 {
			usage()
		}
		n = v
	}
	v := measure(name, n)
	if name == "sleep" {
		fmt.Printf("%s %.2f %s peak_rss_kb=%d\n", name, v, w.unit, sleepPeakKB)
	} else {
		fmt.Printf("%s %.2f %s\n", name, v, w.unit)
	}
}

# tour.gsh — a guided tour of gort: Go's allocator and scheduler, step by step.
# Run it with `make demo`, or `build/gortsh examples/tour.gsh`.
# Every line is a gortsh command; type them yourself at the gortsh> prompt.

init procs=2 arena=64M seed=1
echo "== 1. Size classes: every small request is rounded up to one of 67 classes"
dump sizeclasses

echo "== 2. A span filling up: 24-byte objects come from one span of class 4 (32 B)"
echo "   (malloc's memory is 16-byte aligned, so 24 B rounds up to 32; Go's 24-byte class 3 serves noscan requests)"
alloc 24 as a
alloc 24 as b
alloc 24 as c
dump bitmap a
echo "   Each slot has 4 bits: ALLOC, FREED (by another thread), QUARANTINE, POINTERS. Freeing b clears its ALLOC bit:"
free b
dump bitmap a
echo "   ...the next request takes slot 3: the cache hands out slots from a copy of the bitmap word it loaded"
echo "   before b was freed (Go's allocCache); b's slot comes back when that word is loaded again:"
alloc 24

echo "== 3. Tiny objects: pointer-free requests under 16 bytes share 16-byte blocks"
alloc 5 noscan as t1
alloc 3 noscan as t2
alloc 8 noscan as t3
dump bitmap t1

echo "== 4. A large object (> 32 KiB) gets its own run of pages straight from the heap"
alloc 100K as big
dump span big
dump arena

echo "== 5. Free and coalescing: freeing the large object merges its pages into a free run"
dump heap
free big
dump heap

echo "== 6. Release: idle pages go back to the OS (madvise), and the map shows them as released"
release
stats

echo "== 7. Misuse is caught, reported, and the heap stays as it was"
free a
echo "   (a double free of a follows: gort reports it and the session goes on)"
try free a
check

echo "== 8. Goroutines: spawn puts a new G in P0's runnext slot; a second spawn pushes the first to the queue"
spawn { alloc 100 as x; yield; free x }
spawn { yield; alloc 200 as y; yield; free y }
dump runq

echo "== 9. runnext first: the G spawned last runs first, and inherits the time slice"
step on p0
echo "== 10. Stealing: P1 has nothing of its own, so it steals from P0's queue"
step on p1
ps

echo "== 11. A parked G and its wake-up: g3 parks; g4 readies it, which puts it in g4's runnext"
spawn { park "chan receive"; alloc 64 as z; free z }
step on p0
gs
spawn { ready g3 }
step on p0
dump runq
step on p0

echo "== 12. The global queue: a G readied from outside any G goes there; every 61st tick checks it first"
spawn { park sleep }
step on p0
ready g5
dump runq
schedtrace

echo "== 13. Run everything that is left, then look at the scheduler and the heap"
run
scheddetail
dump mcache
dump mcentral 4
check

echo "== 14. Hardening: the default preset puts an 8-byte canary after each object (a 24-byte object fills its 32 B slot)"
init harden=default arena=4M
alloc 24 as a
alloc 24 as b
echo "   After a's 24 bytes: a zero byte, then the trailer (slack and a keyed MAC). poke writes one byte past the end:"
peek a 0 32
poke a 24 65
try free a
poke a 24 0
echo "   Freeing a zeroes it and holds it in a quarantine (Q): it keeps its slot, so nothing reuses it yet"
free a
dump bitmap $2
try free a
echo "   The quarantine is a FIFO per size class; flush empties it, and the slot is free again"
stats
flush
dump bitmap $2
check
echo "== 15. Channels: an unbuffered hand-off, a buffer filling up, close waking every receiver"
init harden=light arena=4M procs=1 seed=1
chan c
spawn { recv c as x }
step
echo "   g1 found no sender on the unbuffered channel c, so it parked; it waits in c's recvq:"
dump chan c
send c 7
echo "   The send found g1 waiting: it handed 7 to g1 directly (no buffer in between) and woke it."
step
chan b 2
send b 1
send b 2
echo "   b holds 2 values, its capacity. The next sender finds no room and parks on chan send b:"
spawn { send b 3 }
step
dump chan b
recv b
echo "   The receive took 1 from the head and moved g2's 3 into the slot it freed, then woke g2:"
dump chan b
step
chan done
spawn { recv done }
spawn { recv done }
step 2
gs
echo "   Two receivers wait on done. close wakes both, and each receives 0:"
close done
run
echo "== End of the tour. Try it yourself: build/gortsh, then help."

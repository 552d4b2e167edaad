# tour.gsh — a guided tour of gort: Go's allocator and scheduler, step by step.
# Run it with `make demo`, or `build/gortsh examples/tour.gsh`.
# Every line is a gortsh command; type them yourself at the gortsh> prompt.
# A `# expect:` line under a command is what its output shows (a regular
# expression): tests/shell/test_tour.sh checks each one, so the tour's words
# and its output cannot drift apart.

init procs=2 arena=64M seed=1
echo "== 1. Size classes: every small request is rounded up to one of 67 classes"
dump sizeclasses
# expect: \n +67 +32 KiB 

echo "== 2. A span filling up: 24-byte objects come from one span of class 4 (32 B)"
echo "   (malloc's memory is 16-byte aligned, so 24 B rounds up to 32; Go's 24-byte class 3 serves noscan requests)"
alloc 24 as a
# expect: class 4 \(32 B\)  span 0xc000000000  slot 0
alloc 24 as b
alloc 24 as c
# expect: class 4 \(32 B\)  span 0xc000000000  slot 2
dump bitmap a
# expect: A alloc, F freed \(inbox\), Q quarantine, P pointers
# expect: >A\.\.P A\.\.P A\.\.P \.\.\.\. 
echo "   Each slot has 4 bits: ALLOC, FREED (by another thread), QUARANTINE, POINTERS. Freeing b puts its slot on"
echo "   the cache's recent stack: ALLOC stays, QUARANTINE is set (a second free is still caught):"
free b
# expect: freed 0xc000000020
dump bitmap a
# expect: >A\.\.P A\.QP A\.\.P \.\.\.\. 
echo "   ...the next request takes slot 3: the slot freed last waits for the next free, and the bitmap hands"
echo "   out slots from a copy of the word it loaded (Go's allocCache); b comes back once another free follows:"
alloc 24
# expect: span 0xc000000000  slot 3$

echo "== 3. Tiny objects: pointer-free requests under 16 bytes share 16-byte blocks"
alloc 5 noscan as t1
alloc 3 noscan as t2
alloc 8 noscan as t3
# expect: tiny, block 0xc000002000\+8 
dump bitmap t1
# expect: block +0 +0xc000002000 +\+0 \+5 \+8$

echo "== 4. A large object (> 32 KiB) gets its own run of pages straight from the heap"
alloc 100K as big
# expect: large \(104 KiB\)  span 0xc000004000
dump span big
# expect: 13 pages \(104 KiB\), large
dump arena

echo "== 5. Free and coalescing: freeing the large object merges its pages into a free run"
dump heap
free big
# expect: freed 0xc000004000
dump heap
# expect: ^0xc000004000 +126 +1008 KiB +no$
# expect: ^1 free run, 

echo "== 6. Release: idle pages go back to the OS (madvise), and the map shows them as released"
release
# expect: released 1008 KiB to the OS
dump arena
# expect: ^0xc000000000   AT_{62}$
# expect: released 1008 KiB$
stats
# expect: ^HeapReleased +1032192$

echo "== 7. Misuse is caught, reported, and the heap stays as it was"
free a
echo "   (a double free of a follows: gort reports it and the session goes on)"
try free a
# expect: error: double free: 0xc000000000
check
# expect: ok: every invariant holds

echo "== 8. Goroutines: spawn puts a new G in P0's runnext slot; a second spawn pushes the first to the queue"
spawn { alloc 100 as x; yield; free x }
# expect: ^g1 runnable on p0 \(runnext\)$
spawn { yield; alloc 200 as y; yield; free y }
# expect: ^g2 runnable on p0 \(runnext\); g1 moved to the tail of p0's queue$
dump runq
# expect: ^p0 runnext=g2 \[g1\]$

echo "== 9. runnext first: the G spawned last runs first, and inherits the time slice"
step on p0
# expect: ^\[1\] p0 g2 runnext: yielded$
echo "== 10. Stealing: P1 has nothing of its own, so it steals from P0's queue"
step on p1
# expect: ^\[2\] p1 g1 stolen from p0: 
ps

echo "== 11. A parked G and its wake-up: g3 parks; g4 readies it, which puts it in the runnext of g4's P (p0)"
spawn { park "chan receive"; alloc 64 as z; free z }
step on p0
# expect: ^\[3\] p0 g3 runnext: parked$
gs
# expect: ^g3 +waiting +chan receive +p0 
spawn { ready g3 }
step on p0
# expect: ^\[4\] p0 g4 runnext: ready g3; exited$
dump runq
# expect: ^p0 runnext=g3 
step on p0
# expect: ^\[5\] p0 g3 runnext: 

echo "== 12. The global queue: a G readied from outside any G goes there; every 61st tick checks it first"
spawn { park sleep }
step on p0
ready g5
# expect: ^g5 runnable \(global queue\)$
dump runq
# expect: ^global \[g5\]$
schedtrace
# expect: runqueue=1 
echo "   p0 has run only Gs from runnext, which inherit the time slice, so its schedtick is still 0;"
echo "   0 is a multiple of 61, so p0's next look goes to the global queue first, before its own g2:"
ps
# expect: ^p0 schedtick=0 runnext=- runq=\[g2\] 

echo "== 13. Run everything that is left, then look at the scheduler and the heap"
run
# expect: ^\[8\] p0 g5 global: exited$
scheddetail
dump mcache
dump mcentral 4
check

echo "== 14. Hardening: the default preset puts an 8-byte canary after each object (a 24-byte object fills its 32 B slot)"
init harden=default arena=4M
alloc 24 as a
alloc 24 as b
# expect: class 4 \(32 B\)  span 0xc000000000  slot 1  as b
echo "   After a's 24 bytes: a zero byte, then the trailer (slack and a keyed MAC). poke writes one byte past the end:"
peek a 0 32
# expect: ^0xc000000010  \+16 +(00 ){8}00 
poke a 24 65
# expect: \+24: 00 -> 41
try free a
# expect: error: heap overflow: 0xc000000000 .*canary at \+24 damaged
poke a 24 0
echo "   Freeing a zeroes it and holds it in a quarantine (Q): it keeps its slot, so nothing reuses it yet"
free a
dump bitmap $2
# expect: A\.QP>A\.\.P
try free a
# expect: error: double free: 0xc000000000 .*in quarantine
echo "   The quarantine is a FIFO per size class; flush empties it, and the slot is free again"
stats
flush
dump bitmap $2
# expect: \.\.\.P>A\.\.P
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

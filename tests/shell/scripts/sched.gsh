# sched.gsh — the scheduler in step mode: spawn (runnext, kicking the old
# runnext to the queue, spawn on pN), G bodies (alloc/free, yield, park with
# a reason, ready, nested spawn, work, repeat, exit), step, step N, step on
# pK, step N on pK, run, run max=N, ready, and the views gs, ps, ms,
# schedtrace, scheddetail, dump runq.
init procs=3 seed=5
gs
ms
spawn { alloc 100 as x; yield; free x }
spawn { yield; alloc 200 as y; yield; free y }
spawn on p1 { repeat 3 { work 1000; syscall 1; yield } }
spawn on p2 { spawn { yield; exit; alloc 8 }; spawn { spawn { yield } } }
dump runq
ps
gs
step
step on p1
step 2 on p2
step 3
schedtrace
echo "-- park and ready: from inside a G (to its runnext) and from the shell (global queue)"
spawn { park "chan receive"; alloc 64 as z; free z }
step on p0
spawn { ready g8 }
step on p0
dump runq
spawn { park sleep }
step on p0
gs
ready g10
dump runq p0
dump runq global
schedtrace
echo "-- run: bounded by max=N, then to the end"
run max=2
run
gs
ps
ms
scheddetail
check
# procs: Go's procresize — the Gs of the Ps that go move to the global queue's head
init procs=4
spawn on p3 { yield }
spawn on p3 { yield }
procs 2
dump runq
procs 3
run
# reseed: the same seed from here on gives the same choices of P and steal order
reseed 11
spawn { yield; yield }
spawn { yield }
run

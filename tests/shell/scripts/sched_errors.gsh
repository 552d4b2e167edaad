# args: --keep-going
# sched_errors.gsh — every way a scheduler command can fail: nothing to run,
# readying a G that is not parked, bad counts and Ps, bad G bodies (each
# body step's own message), and errors a body reports while it runs.
init procs=2 seed=9
echo "-- nothing runnable"
step
step on p1
step 3
run
echo "-- bad counts, Ps and usage"
step 0
step -1
step x
step on
step on p2
step on q1
step 2 on
step on p0 extra
step 1 2
run max=0
run max=x
run 5
run max=1 max=2
echo "-- ready"
ready
ready 1
ready g
ready g0
ready gx
ready g1
ready g1 g2
echo "-- spawn usage"
spawn
spawn yield
spawn "yield"
spawn on
spawn on p0
spawn on p5 { yield }
spawn on 1 { yield }
spawn { yield } { yield }
spawn on p0 { yield } extra
echo "-- bad body steps"
spawn { frob }
spawn { alloc }
spawn { alloc x }
spawn { alloc 8 as }
spawn { alloc 8 as 9 }
spawn { alloc 8 as spawn }
spawn { alloc 8 junk }
spawn { free }
spawn { free 1x }
spawn { free a b }
spawn { yield now }
spawn { exit 1 }
spawn { park a b }
spawn { ready }
spawn { ready 3 }
spawn { ready g0 }
spawn { spawn }
spawn { spawn yield }
spawn { spawn { frob } }
spawn { work }
spawn { work x }
spawn { work 100000001 }
spawn { repeat }
spawn { repeat 3 }
spawn { repeat 3 yield }
spawn { repeat x { yield } }
spawn { repeat 1000001 { yield } }
spawn { repeat 2 { repeat 2 { nope } } }
spawn { "yield" }
spawn { { yield } }
spawn { yield; }; }
gs
echo "-- errors inside a running body: each is shown in its step; a misuse of the heap also fails the command"
spawn { free nosuch; ready g1; ready g99; alloc 100G; exit; yield }
alloc 8 as v
spawn { free v; free v }
run
gs
check
try procs 0

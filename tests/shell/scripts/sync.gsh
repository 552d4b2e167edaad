# sync.gsh — mutexes, wait groups, sleep and variables in step mode: lock
# and unlock (made on first use, contention, the prompt waiting for a
# lock), wg [NAME] add/done/wait, sleep on the virtual clock, let and if,
# and what gs and the step lines say about each.
init procs=2 seed=4
echo "-- a mutex: the second G parks on it; unlock wakes it"
lock m
spawn { lock m; let held = 1; unlock m }
spawn { lock m; unlock m }
step 2
gs
unlock m
run
echo "-- the prompt waits for a lock a G holds"
spawn { lock m; yield; unlock m }
step
lock m
unlock m
echo "-- wait groups: the default one (wg) and a named one"
wg add 2
spawn { sleep 5; wg done }
spawn { sleep 3; wg done }
wg wait
wg jobs add 1
spawn { wg jobs wait }
spawn { sleep 2; wg jobs done }
step 2
gs
run
echo "-- sleep: the clock jumps to the next timer when every G waits"
spawn { sleep 10; sleep 10 }
spawn { sleep 15 }
run
echo "-- let and if"
spawn { let a = 7; let b = a % 3; if b == 1 { let c = a * a }; if b { if a > 5 { let d = a - 1 } }; if 0 { let never = 1 } }
step
let t = 100 / 7
let u = t >= 14
check

# args: --keep-going
# func.gsh — named bodies: func NAME { BODY } (multi-line, with comments),
# spawn NAME at the prompt and on a P, spawn NAME and spawn on pN inside a
# body (onto a P that exists, one that does not), a chain of Gs each
# spawning the next with no nested braces, redefinition (bodies compiled
# before keep the old one), the errors, and init forgetting every func.
init procs=2 seed=3
func worker {
	alloc 64 as w1; yield        # first run
	free w1                      # second run: exit
}
func boss {
	spawn worker; spawn on p1 worker
	spawn on p7 { yield }
	park waiting
}
spawn boss
spawn on p1 worker
step 2
gs
run
echo "-- a chain: each G spawns the next, by name"
func c3 { park end }
func c2 { spawn c3; yield }
func c1 { spawn c2; yield }
spawn c1
run
gs
echo "-- redefined: boss, compiled before, still spawns the old worker"
func worker { exit }
func lazy { spawn worker }
spawn lazy
spawn boss
run
echo "-- errors"
func
func w
func w yield
func w "yield"
func 9w { yield }
func spawn { yield }
func w { spawn nobody }
func w { spawn on p1 }
func w { spawn on q1 worker }
func w { spawn worker extra }
func w { bogus }
spawn nobody
spawn on p1 nobody
spawn "worker"
echo "-- init forgets every func"
init procs=2 seed=3
spawn worker
set json on
func json { yield }
spawn json

# args: --keep-going
# threads.gsh — threaded mode (real Ms on OS threads): spawn goes to the
# global queue, run lets the Ms run until every G has exited or parked, and
# ready wakes a parked G. Only order-independent output is printed: one G
# runs at a time, and the views that depend on which M or P ran it are left
# to test_json.sh.
init procs=4 seed=1 threads=on
ms
gs
spawn { alloc 100 as x; yield; work 1000; free x }
run
spawn { park io; alloc 200 as y; free y }
run
ready g2
run
gs
echo "-- many Gs: the summary and the counts only"
set json on
spawn { repeat 20 { yield } }
spawn { repeat 20 { yield } }
spawn { repeat 20 { yield } }
spawn { repeat 20 { yield } }
set json off
run
gs
check
echo "-- what threaded mode refuses"
step
step on p0
spawn on p1 { yield }
reseed 3
init threads=off procs=2
spawn on p1 { yield }
run

# args: --seed 7
# sched_many.gsh — a scheduler workout for the determinism test: 6 Ps, Gs
# spawned on every P and from inside Gs, yields, parks and readies, stealing
# and the global queue, run to the end. No init seed here: --seed decides
# every choice, so the same seed gives the same output byte for byte and
# another seed another one.
init procs=6
spawn { repeat 4 { alloc 32; yield }; spawn { work 10; yield; exit } }
spawn { yield; park io; alloc 64 as q; free q }
spawn on p1 { repeat 6 { yield } }
spawn on p2 { repeat 8 { spawn { yield; alloc 16 } } }
spawn on p3 { work 5; yield; yield; ready g2 }
spawn on p4 { repeat 3 { spawn { repeat 3 { yield } } } }
spawn on p5 { park sleep }
spawn { repeat 10 { spawn { yield; yield } } }
step 6
step on p5
step 3 on p1
step 2 on p4
ps
ready g7
run max=20
dump runq
run
gs
ps
schedtrace
check

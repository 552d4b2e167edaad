# chan.gsh — channels in step mode: chan (unbuffered, buffered), send, recv,
# close and select in bodies and at the prompt (which steps until it can go
# on), the step lines (parked on ..., hand-offs, wake-ups), dump chan (the
# ring slot by slot, recvq and sendq with select waiters) and gs's wait text.
init procs=1 seed=1
echo "-- unbuffered: a receiver parks, a sender hands it the value directly"
chan c
spawn { recv c as x; let y = x * 2; send c y }
step
gs
dump chan c
spawn { send c 7; recv c as z }
step 3
echo "-- buffered: fills, then a sender parks; a receive takes the head and moves it in"
chan b 2
send b 1
send b 2
dump chan b
spawn { send b 3 }
step
dump chan b
recv b as q
dump chan b
recv b
recv b
dump chan b
echo "-- close wakes every waiting receiver (0, closed); buffered values outlive it"
chan d
spawn { recv d as r1 }
spawn { recv d as r2 }
spawn { recv d }
step 3
dump chan d
gs
close d
run
send b 8
close b
recv b
recv b as after
echo "-- a sender parked on a channel that closes fails"
chan e
spawn { send e 1 }
step
try close e
try run
echo "-- select: default when nothing is ready; a waiting select is in every queue"
chan s1
chan s2 1
select { recv s1 as v; default }
spawn { select { recv s1 as v; recv s2 as w } }
step
gs
dump chan s1
dump chan s2
send s1 4
run
spawn { select { send s2 5; recv s1 } }
step
dump chan s2
select { recv s2 as got; send s1 1 }
echo "-- the prompt waits: it steps the Gs until it can go on"
chan p
spawn { let k = 40; let k = k + 2; send p k }
recv p as answer
spawn { recv p as got; if got == 99 { send p 1 } }
send p 99
recv p
try recv p
echo "-- variables: copied into the Gs a G spawns"
let base = 10
chan out 4
spawn { let n = base + 1; spawn { send out n }; let n = n + 1; send out n }
run
recv out
recv out
check

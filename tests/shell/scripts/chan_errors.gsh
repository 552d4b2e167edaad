# args: --keep-going
# chan_errors.gsh — what the waiting commands refuse, at the prompt and in
# bodies: bad syntax, unknown channels and variables, misuse gort reports
# (close twice, unlock of an unlocked mutex, a negative wait group
# counter), a deadlock at the prompt, sleep at the prompt in step mode.
init procs=1 seed=2
chan
chan 9x
chan c many
chan c 2000000
send
send c
send nowhere 1
recv c as
recv c to x
select recv c
select { frob c }
select { default; default }
wg
wg add
wg w frob
let x
let x = 1 +
let x = 1 ** 2
let x = y
let x = 1 / 0
if 1 { yield }
sleep 5
sleep lots
lock
close nowhere
chan c 1
send c x
close c
close c
send c 1
unlock m
wg add -1
wg w add 1
lock w
recv c
recv c
chan d
recv d
spawn { if { yield } }
spawn { select }
spawn { send }
spawn { send nowhere 1; let z = 1 / 0; let q = unknown + 1; recv nowhere as v; lock c }
run
spawn { unlock m2 }
try run
spawn { close c; wg add -1 }
try run
echo "the session goes on"

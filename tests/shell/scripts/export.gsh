# args: --keep-going
# export.gsh — export svg and trace (start, state, stop) in step mode, and
# their errors: missing or extra arguments, an unknown format or
# sub-command, a file that cannot be written, a second trace start, a stop
# with no trace. init closes an open trace. The files themselves are checked
# by test_json.sh (XML, trace JSON) and test_determinism.sh.
init procs=2 seed=4
trace
alloc 24 as a
alloc 100K as big
export svg arena.svg
trace start trace.json
trace
spawn { alloc 64; yield; spawn { park; alloc 8 } }
spawn on p1 { yield; ready g3 }
step
trace
run
trace stop
trace
free big
release
export svg released.svg
echo "-- errors"
export
export png x.png
export svg
export svg a.svg b.svg
export svg nosuchdir/a.svg
export svg .
trace frob
trace start
trace start a.json b.json
trace start nosuchdir/t.json
trace start .
trace stop
trace stop now
trace start again.json
trace start again2.json
trace stop extra
trace stop
echo "-- init closes an open trace"
trace start closed.json
spawn { yield }
init
trace
trace stop
# a committed arena too big to draw is refused, not written
init arena=2G
alloc 600M
try export svg big.svg

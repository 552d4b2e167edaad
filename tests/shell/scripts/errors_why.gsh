# args: --keep-going
# Errors say what is wrong, not something near it.
echo "-- ready: a G that never was, one that has exited, one that is not parked"
spawn { yield }
spawn { park }
run
ready g99
ready g1
spawn { yield }
ready g3
ready g0
echo "-- the same from a body"
spawn { ready g1; ready g3; ready g42; ready g2 }
run
echo "-- try inside try"
try try free 0

# args: --keep-going --arena 1500K
# A setting the runtime cannot take as asked is refused or the change is
# said, never made silently (the --arena above is rounded up, and says so).
init
init arena=1K
init arena=3M
echo "-- a quarantine needs a preset that keeps one"
init quarantine=5
init harden=default quarantine=5
init harden=light
init harden=light quarantine=5
echo "-- units and markers are explained"
alloc 24; alloc 24 as b; free $1
dump bitmap b
spawn { yield }
step
gs

# args: --keep-going
# init.gsh — init with each setting alone and all together, settings that
# persist across inits, every bad setting, and settings the runtime refuses.
init
init procs=3
ps
init arena=16M
init stack=32K
init seed=42
init threads=off
init threads=on
init threads=off
init procs=1 arena=2M stack=16K seed=0x10 threads=off
init arena=1K
alloc 8 as x
echo "-- init forgets every value, name and G"
spawn { yield }
init
vals
gs
free x
echo "-- bad settings: the old ones stay"
init procs=0
init procs=257
init procs=x
init procs=
init arena=abc
init arena=0
init arena=1T
init stack=0
init stack=-1
init seed=-1
init seed=x
init threads=maybe
init threads=
init bogus=1
init procs
init procs=2 bogus
echo "-- an arena size is a limit on the heap, not a reservation: 64 TiB is taken"
alloc 8 as y
init arena=70368744177665
vals
init procs=256 arena=4M
dump runq global
init procs=2 arena=64M stack=64K seed=0

# args: --json --keep-going
# json.gsh — the same commands in --json: one object per command (errors
# as {"error": ...}), one object per step plus a summary.
init procs=2 seed=6 arena=8M
alloc 24 as a
alloc 5 noscan
alloc 40K as big
calloc 2 8
realloc a 100
free big
free big
vals
stats
spawn { yield; park io }
spawn on p1 { spawn { yield } }
step
step 2 on p1
ready g1
run
ready g1
run max=1
gs
ps
ms
schedtrace
scheddetail
dump arena
dump spans
dump span a
dump bitmap a
dump bitmap $2
dump mcache p0
dump mcentral 9
dump heap
dump runq
release
check
echo "text \"quoted\" and \\ back"
help free
try free 0x10
frob

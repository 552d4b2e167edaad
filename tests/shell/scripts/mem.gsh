# mem.gsh — the allocator commands on their happy paths: init, alloc
# (sizes with suffixes, noscan/tiny, large, names), calloc, realloc, free by
# $N, by name and by address, release, stats, vals, check.
init procs=2 arena=16M seed=3
alloc 24
alloc 24 as a
alloc 0x18 as b
alloc 1K
alloc 2KiB
alloc 3KB
alloc 1k
alloc 8 noscan
alloc 5 noscan as t1
alloc 3 noscan as t2
alloc 40K as big
alloc 1M as huge
alloc 0
calloc 10 24 as arr
calloc 3 1K
vals
echo "-- a name moves to the newest value bound to it"
alloc 48 as a
vals
echo "-- realloc: within the size class it stays, beyond it moves, and the name moves along"
realloc b 20
realloc b 100
realloc $7 0
realloc arr 1M
echo "-- free by name, by $N, by hex address and by arena+offset"
free a
free $2
free big
vals
free 0xc000000000
free arena+0x2000
free 0xc000018000
stats
release
stats
check
# zeroed and aligned requests, realloc naming its result, flush then release
alloc 100 zero as zz
alloc 64 align=4096 as al
realloc zz 300 as zz2
flush
release

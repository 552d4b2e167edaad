# dump.gsh — every dump sub-command with each of its options: arena (whole,
# from an address, with a length), spans (all, class=K|tiny|large), span,
# bitmap (small, tiny, large, by $K, name or address), mcache (all, pN),
# mcentral (all, one class, tiny), heap, sizeclasses, runq (all, pN, global).
init procs=2 arena=8M seed=2
dump arena
dump heap
alloc 24 as a
alloc 24 as b
alloc 24
alloc 5 noscan as t1
alloc 7 noscan as t2
alloc 300
alloc 40K as big
alloc 9K as mid
free b
dump arena
dump arena $1
dump arena big 16K
dump arena arena+0x4000 1
dump arena 0xc000000000 64K
dump spans
dump spans class=4
dump spans class=tiny
dump spans class=large
dump spans class=0
dump span a
dump span t1
dump span big
dump span arena+0x6010
dump span 0xc0000fe000
dump bitmap a
dump bitmap $3
dump bitmap t2
dump bitmap big
dump bitmap mid
dump bitmap 0xc000000018
dump mcache
dump mcache p1
dump mcentral
dump mcentral 4
dump mcentral tiny
dump mcentral large
dump heap
free big
release
dump heap
dump arena
dump sizeclasses
spawn { park }
step on p0
ready g1
spawn { yield }
spawn { yield }
spawn on p1 { yield }
dump runq
dump runq p0
dump runq p1
dump runq global

# args: --keep-going
# dump_errors.gsh — every way dump can fail: a missing or unknown
# sub-command, addresses outside the arena or not in a span, bad lengths,
# classes and Ps, and extra arguments to each sub-command.
init procs=2 arena=4M
echo "-- before anything is committed"
dump span 0xc000000000
dump bitmap 0xc000000000
alloc 24 as a
echo "-- sub-commands"
dump
dump frob
dump ARENA
echo "-- arena"
dump arena 0x1000
dump arena 0xc000400000
dump arena nosuch
dump arena $9
dump arena a 0
dump arena a xyz
dump arena a 1G
dump arena a 1K extra
echo "-- spans and span"
dump spans 3
dump spans class=
dump spans class=x
dump spans class=69
dump spans class=3 more
dump span
dump span nosuch
dump span 0x10
dump span 0xc000200000
dump span a b
echo "-- bitmap"
dump bitmap
dump bitmap nosuch
dump bitmap 0xc000200000
dump bitmap 0x10
dump bitmap a b
echo "-- caches, centrals, heap, classes, run queues"
dump mcache p2
dump mcache 0
dump mcache p0 p1
dump mcentral 69
dump mcentral x
dump mcentral -1
dump mcentral 3 4
dump heap now
dump sizeclasses 3
dump runq p2
dump runq local
dump runq p0 p1
check

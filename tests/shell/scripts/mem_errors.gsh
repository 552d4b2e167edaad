# args: --keep-going
# mem_errors.gsh — every way an allocator command can fail; each prints one
# error line with its line number and leaves the heap as it was (check).
init seed=1
alloc 24 as a
alloc 24 as b
echo "-- bad numbers and sizes"
alloc
alloc abc
alloc -8
alloc +8
alloc 1X
alloc 1KX
alloc 1Kib
alloc 0x
alloc 18446744073709551616
alloc 17179869184G
alloc 100G
alloc 24 noscan noscan
alloc 24 as
alloc 24 as 1x
alloc 24 as as
alloc 24 as alloc
alloc 24 as this_name_is_far_too_long_for_it
alloc 24 foo
calloc 10
calloc x 24
calloc 10 1Q
calloc 0xffffffffffffffff 16
calloc 2 8 noscan
echo "-- unknown values, names and addresses"
free
free a b
free $0
free $99
free $x
free $
free nosuch
free arena+zz
free arena+0x100000000000
realloc
realloc $1
realloc nosuch 8
realloc $1 big
realloc $99 8
echo "-- misuse gort catches: double, interior and foreign frees"
free a
free a
free $1
realloc a 48
free arena+0x8
free 0xc000000028
free b
free 0x1000
free 0xc100000000
free 4096
check
vals
try alloc 64 align=3
try alloc 64 noscan align=64

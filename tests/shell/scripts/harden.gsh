# args: --keep-going
# harden.gsh — the hardening presets in the shell: init harden=, the canary
# seen with peek and damaged with poke (heap overflow at free, realloc and
# usable size), the quarantine (Q bits, a double free in quarantine, flush),
# a write after free found by check and at reuse, freed large objects that
# cannot be read, paranoid's guard page and random slots, and the errors of
# peek and poke. Errors are expected here: the script runs with --keep-going.
init harden=default arena=8M seed=5 quarantine=2
alloc 24 as a
alloc 100 as b
peek a 0 32
echo "-- a 1-byte overflow of a is caught when it is freed"
poke a 24 65
free a
realloc a 200
poke a 24 0
realloc a 20
peek a 0 32
free a
echo "-- a is quarantined: it keeps its slot, and a second free is a double free"
dump bitmap $1
free a
stats
echo "-- a write after free: check sees it at once"
poke a 5 1
check
poke a 5 0
check
echo "-- the quarantine holds 2 per class: two more frees push a out, and its slot is free"
alloc 24 as c
alloc 24 as d
free c
free d
dump bitmap $1
echo "-- a write into a slot that left the quarantine is seen when the slot is handed out again"
alloc 24 as keep
poke a 7 9
flush
echo "   (the allocation that found it fails and leaves the heap as it was; the next one works)"
alloc 24 as e
alloc 24 as e
check
echo "-- ...or when its span, empty, goes back to the heap"
free keep
free e
poke e 1 1
flush
check
echo "-- large objects: the canary sits right after the request; freed, the pages fault"
alloc 40000 as big
peek big 39992 16
free big
peek big
poke big 0 1
echo "-- peek and poke errors"
peek b 0 200
poke b 112 1
poke b 0 256
poke b x 1
peek 0x10 0 1
peek nosuch
flush
check
echo "-- paranoid: a guard page after each small span, slots in random order"
init harden=paranoid seed=5
alloc 24
alloc 24
alloc 24
dump spans
stats
init harden=light quarantine=0
alloc 24
init harden=bogus
init quarantine=5000

# runqput on a full ring: spawning into p0's runnext kicks the G there out to
# the tail of p0's queue; once the queue holds 256 Gs, runqputslow moves
# its first half and the kicked G to the global queue, and spawn says so.
func y { yield }
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y
spawn y
dump runq
echo "-- the same in JSON: the kicked G's queue and the Gs that went with it"
init
set json on
func y { yield }
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y; spawn y
spawn y
spawn y
dump runq global

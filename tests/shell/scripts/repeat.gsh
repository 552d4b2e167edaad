# args: --keep-going
# repeat N { COMMANDS } at the prompt: the block runs N times, as if typed N
# times; nested repeats multiply, up to 10^6 rounds in all.
func worker { alloc 64 as w; yield; free w }
repeat 5 { spawn worker }
dump runq
run
repeat 2 {
	alloc 16
	repeat 2 { echo inner }
}
vals
echo "-- the first round with a failure ends it"
alloc 8 as once
repeat 3 { free once }
echo "-- what it refuses"
repeat 1000 { repeat 1001 { echo never } }
repeat x { echo never }
repeat 3
repeat 0 { echo never }

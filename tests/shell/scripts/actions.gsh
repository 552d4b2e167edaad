# args: --keep-going
# What a step or a run did, when it did much: text shows the first lines
# (errors get a little more room) and says how many more there were and how
# to see them; JSON lists every one (test_json.sh runs this with --json).
spawn { repeat 70 { alloc 8 noscan } }
step
spawn { repeat 60 { alloc 8 noscan }; repeat 30 { free nosuch } }
step
echo "-- threaded mode: the same for run"
init procs=1 threads=on
spawn { repeat 70 { alloc 8 noscan } }
run

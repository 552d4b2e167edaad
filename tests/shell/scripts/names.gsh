# args: --keep-going
# A name bound in a body belongs to its G, as a Go local does; a lookup
# falls back to the shell's names; the prompt reaches a G's name as gN.NAME.
func worker {
	alloc 64 as w; yield     # first run
	free w                   # second run, then exit
}
spawn worker; spawn on p1 worker
gs
run
vals
echo "-- the shell's names: a body that has no such name of its own frees the shell's"
alloc 24 as shared
spawn { free shared; alloc 32 as shared; yield }
step
vals
echo "-- at the prompt: the shell's own name first, then gN.NAME"
free g3.shared
gs
echo "-- a name several Gs bound is ambiguous at the prompt (the error says how to pick one)"
free w
free g1.w
free g9.w
echo "-- the error of a body's misuse names the command that ran it"
spawn { free shared; yield }
run

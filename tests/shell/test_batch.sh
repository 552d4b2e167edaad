#!/usr/bin/env bash
# test_batch.sh — gortsh as a batch tool: exit statuses, error lines,
# --keep-going, --echo, comments, options, and the batch's edge cases.
#
# Usage: tests/shell/test_batch.sh [BUILD_DIR]        (default: build)
#
# Checks (each from a file, from -c and from piped stdin where it applies):
#  - status 0 when every command succeeds; 1 on a failing command, and the
#    batch stops there (nothing after it runs, not even the rest of its line);
#  - the error line is `FILE:LINE: error: MESSAGE` with the right line, also
#    for a block spanning lines (its first line) and for lines after one,
#    `-c:LINE:` for -c, `<stdin>:LINE:` for stdin, the sourced file's own name
#    and line inside `source`;
#  - --keep-going runs every command and exits 1; try does not count;
#  - --norc leaves ~/.gortshrc unread;
#  - usage errors exit 2 (unknown option, --procs 0, --arena xyz, --stack 0 and 4K,
#    --seed x, -c without its argument); --version and --help exit 0;
#  - --echo prints `> CMD` before each command's output; # comments;
#  - a missing file exits 1 with a message; several files run in order,
#    the first failure stops the rest; `-` is stdin;
#  - quit/exit end the batch with status 0;
#  - robustness: a long block that never closes, a body that never yields
#    (nested repeats of work or allocation): each ends within a time limit;
#  - a misuse inside a G body is reported in its step (each one, not only
#    the first); vals follows a free by address; freeing the runtime's own
#    objects by address, or a stack too small for a body, does not crash
#    gortsh.
#
# Addresses assume the arena at 0xc000000000, as in test_scripts.sh.
# Output: `ok - NAME` / `not ok - NAME`; diagnostics on stderr as '#' lines.
# Exit status 1 if any check failed.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

W=$TMP/w
mkdir -p "$W"
cd "$W" || exit 1

# gsh NAME [ARG...] — runs gortsh ARG... in W with stdin from $IN (default
# /dev/null): stdout in $OUT, stderr in $ERR, both interleaved in $ALL (a
# second run), the status in RC.
IN=/dev/null
OUT=$TMP/run.out ERR=$TMP/run.err ALL=$TMP/run.all
gsh() {
	shift
	run_gortsh "$@" <"$IN" >"$OUT" 2>"$ERR"
	RC=$?
	run_gortsh "$@" <"$IN" >"$ALL" 2>&1
}

# expect NAME WANT_RC WANT_ALL — after gsh NAME: the status and the whole
# output (stdout and stderr interleaved) must be exactly these.
expect() {
	local name=$1 want_rc=$2 want=$3 got
	got=$(cat "$ALL")
	if [[ $RC -eq $want_rc && "$got" == "$want" ]]; then
		ok "$name"
	else
		fail "$name" "status $RC (want $want_rc); output:" "$got" "--- wanted:" "$want"
	fi
}

# ------------------------------------------------------------ statuses

printf 'echo one\nalloc 8 as x\nfree x\n' >good.gsh
gsh "status 0: file" good.gsh
expect "status 0: file" 0 $'one\n$1 = 0xc000000000  class 1 (8 B)  span 0xc000000000  slot 0  as x\nfreed 0xc000000000'
gsh "status 0: -c" -c 'echo one; echo two'
expect "status 0: -c" 0 $'one\ntwo'
IN=good.gsh
gsh "status 0: stdin"
expect "status 0: stdin" 0 $'one\n$1 = 0xc000000000  class 1 (8 B)  span 0xc000000000  slot 0  as x\nfreed 0xc000000000'
IN=/dev/null

printf 'echo one\n\n# a comment\nfrob; echo "same line"\necho "next line"\n' >bad.gsh
gsh "status 1: file, stops at the error" bad.gsh
expect "status 1: file, stops at the error" 1 $'one\nbad.gsh:4: error: unknown command \'frob\' (try help)'
gsh "status 1: -c, stops at the error" -c 'echo one; frob; echo two'
expect "status 1: -c, stops at the error" 1 $'one\n-c:1: error: unknown command \'frob\' (try help)'
IN=bad.gsh
gsh "status 1: stdin, stops at the error"
expect "status 1: stdin, stops at the error" 1 $'one\n<stdin>:4: error: unknown command \'frob\' (try help)'
IN=/dev/null

# ---------------------------------------------------------- --keep-going

gsh "--keep-going: file runs on, exit 1" --keep-going bad.gsh
expect "--keep-going: file runs on, exit 1" 1 \
	$'one\nbad.gsh:4: error: unknown command \'frob\' (try help)\nsame line\nnext line'
gsh "--keep-going: -c runs on, exit 1" --keep-going -c 'echo one; frob; echo two'
expect "--keep-going: -c runs on, exit 1" 1 $'one\n-c:1: error: unknown command \'frob\' (try help)\ntwo'
IN=bad.gsh
gsh "--keep-going: stdin runs on, exit 1" --keep-going
expect "--keep-going: stdin runs on, exit 1" 1 \
	$'one\n<stdin>:4: error: unknown command \'frob\' (try help)\nsame line\nnext line'
IN=/dev/null
gsh "try: an expected failure is not counted" -c 'try free 0x10; echo after'
expect "try: an expected failure is not counted" 0 \
	$'-c:1: error: invalid free: 0x10 (not a gort heap address)\nafter'

# ------------------------------------------------------- line numbers

cat >lines.gsh <<'EOF'
echo line 1
spawn {
  yield
  alloc 8
}
# line 6
spawn {
  yield

  nope
}
echo line 12
frob
EOF
gsh "FILE:LINE: a block across lines is reported at its first line" --keep-going lines.gsh
expect "FILE:LINE: a block across lines is reported at its first line" 1 \
	"line 1
g1 runnable on p0 (runnext)
lines.gsh:7: error: spawn: unknown body step 'nope' (alloc, free, yield, park, ready, spawn, work, syscall, repeat, exit, chan, send, recv, close, select, lock, unlock, wg, sleep, let, if)
line 12
lines.gsh:13: error: unknown command 'frob' (try help)"
printf 'echo in sub\n\nfrob\n' >sub.gsh
printf 'echo main\nsource sub.gsh\necho "not reached"\n' >main.gsh
gsh "FILE:LINE: inside source, the sourced file and its line; the source fails" main.gsh
expect "FILE:LINE: inside source, the sourced file and its line; the source fails" 1 \
	$'main\nin sub\nsub.gsh:3: error: unknown command \'frob\' (try help) (sourced from main.gsh:2)'
gsh "FILE:LINE: -c counts the lines of its argument" -c $'echo a\nspawn {\n  yield\n}\nfrob'
expect "FILE:LINE: -c counts the lines of its argument" 1 \
	$'a\ng1 runnable on p0 (runnext)\n-c:5: error: unknown command \'frob\' (try help)'
printf 'echo "a;b" ; echo {c;d} # comment ; echo no\n#echo no\n  # echo no\necho done # {\n' >comments.gsh
gsh "comments and ';' (not inside strings or blocks)" comments.gsh
expect "comments and ';' (not inside strings or blocks)" 0 $'a;b\nc;d\ndone'

# --------------------------------------------------------------- options

usage_error() { # NAME PATTERN ARG...
	local name=$1 pattern=$2
	shift 2
	gsh "$name" "$@"
	if [[ $RC -eq 2 && ! -s "$OUT" ]] && grep -qE -- "$pattern" "$ERR"; then
		ok "$name"
	else
		fail_file "$name" "status $RC (want 2, nothing on stdout, /$pattern/ on stderr); stderr:" "$ERR"
	fi
}
usage_error "usage: unknown option exits 2" "unrecognized option.*--frob" --frob -c 'echo x'
# Each says what the option takes.
usage_error "usage: --procs 0 exits 2" "bad value for --procs: '0' \(a number of Ps, 1\.\.256\)" \
	--procs 0 -c 'echo x'
usage_error "usage: --procs 257 exits 2" "bad value for --procs: '257' \(a number of Ps, 1\.\.256\)" \
	--procs 257 -c 'echo x'
usage_error "usage: --arena xyz exits 2" "bad value for --arena: 'xyz' \(a size above 0, with K/M/G" \
	--arena xyz -c 'echo x'
usage_error "usage: --stack 0 exits 2" "bad value for --stack: '0' \(a size of at least [0-9]+K\)" \
	--stack 0 -c 'echo x'
usage_error "usage: --seed x exits 2" "bad value for --seed: 'x' \(a number, decimal or 0x hex\)" \
	--seed x -c 'echo x'
usage_error "usage: --harden x exits 2" "bad value for --harden: 'x' \(light, default or paranoid\)" \
	--harden x -c 'echo x'
usage_error "usage: -c without its argument exits 2" "requires an argument" -c

gsh "--version exits 0" --version
if [[ $RC -eq 0 && ! -s "$ERR" ]] && grep -qE '^gortsh [0-9]+\.[0-9]+' "$OUT"; then
	ok "--version exits 0"
else
	fail_file "--version exits 0" "status $RC; stdout:" "$OUT"
fi
gsh "--help exits 0" --help
if [[ $RC -eq 0 && ! -s "$ERR" ]] && grep -q '^usage: gortsh' "$OUT" &&
	grep -q -- '--keep-going' "$OUT"; then
	ok "--help exits 0"
else
	fail_file "--help exits 0" "status $RC; stdout:" "$OUT"
fi

gsh "options: --procs, --arena, --stack, --seed reach the runtime" \
	--procs 3 --arena 16M --stack 32K --seed 9 -c 'ps; init'
expect "options: --procs, --arena, --stack, --seed reach the runtime" 0 \
	"p0 schedtick=0 runnext=- runq=[] gfree=0 mcache=0 (mallocs 0, frees 0)
p1 schedtick=0 runnext=- runq=[] gfree=0 mcache=1 (mallocs 0, frees 0)
p2 schedtick=0 runnext=- runq=[] gfree=0 mcache=2 (mallocs 0, frees 0)
runtime: 3 Ps, arena 16 MiB at 0xc000000000, stack 32 KiB, seed 9, step mode"
gsh "options: --threads starts threaded mode" --threads -c 'init'
expect "options: --threads starts threaded mode" 0 \
	"runtime: 2 Ps, arena 64 MiB at 0xc000000000, stack 64 KiB, seed 0, threaded mode"

echo 'echo "from the rc file"' >"$TMP/home/.gortshrc"
gsh "--norc: ~/.gortshrc is not read" -c 'echo x'
expect "--norc: ~/.gortshrc is not read" 0 "x"
rm -f "$TMP/home/.gortshrc"

gsh "--echo prints > CMD before its output" --echo -c 'alloc 8 as x; echo "a  b" {c}; frob'
expect "--echo prints > CMD before its output" 1 \
	$'> alloc 8 as x\n$1 = 0xc000000000  class 1 (8 B)  span 0xc000000000  slot 0  as x\n> echo "a  b" {c}\na  b c\n> frob\n-c:1: error: unknown command \'frob\' (try help)'

gsh "a missing file exits 1 with a message" nosuch.gsh
if [[ $RC -eq 1 ]] && grep -q "cannot open nosuch.gsh: No such file or directory" "$ERR"; then
	ok "a missing file exits 1 with a message"
else
	fail_file "a missing file exits 1 with a message" "status $RC; stderr:" "$ERR"
fi

printf 'echo two\n' >two.gsh
IN=two.gsh
gsh "several files run in order; - is stdin" good.gsh - two.gsh
expect "several files run in order; - is stdin" 0 \
	$'one\n$1 = 0xc000000000  class 1 (8 B)  span 0xc000000000  slot 0  as x\nfreed 0xc000000000\ntwo\ntwo'
IN=/dev/null
gsh "the first failing file stops the others" bad.gsh two.gsh
expect "the first failing file stops the others" 1 $'one\nbad.gsh:4: error: unknown command \'frob\' (try help)'
gsh "--keep-going runs the other files" --keep-going nosuch.gsh two.gsh
expect "--keep-going runs the other files" 1 $'error: cannot open nosuch.gsh: No such file or directory\ntwo'

# ------------------------------------------------------------ quit/exit

printf 'echo a\nquit\necho b\n' >quit.gsh
gsh "quit ends a file with status 0" quit.gsh two.gsh
expect "quit ends a file with status 0" 0 "a"
printf 'echo a\nsource quit.gsh\necho c\n' >quit2.gsh
gsh "quit inside a sourced file ends the session" quit2.gsh
expect "quit inside a sourced file ends the session" 0 $'a\na'
printf 'echo a; exit; echo b\necho c\n' >quit3.gsh
gsh "exit followed by a command on its line: status 0" quit3.gsh
expect "exit followed by a command on its line: status 0" 0 "a"
IN=quit3.gsh
gsh "exit followed by a command on its line, stdin: status 0"
expect "exit followed by a command on its line, stdin: status 0" 0 "a"
IN=/dev/null

# ------------------------------------------------------- batch edge cases

printf 'frob\necho a\nspawn { yield\necho never\n' >open.gsh
gsh "--keep-going: a block open at the end of the file is still reported" --keep-going open.gsh
expect "--keep-going: a block open at the end of the file is still reported" 1 \
	$'open.gsh:1: error: unknown command \'frob\' (try help)\na\nopen.gsh:3: error: unbalanced \'{\''
mkdir -p adir
gsh "a directory as the script file is an error" adir
if [[ $RC -eq 1 && -s "$ERR" ]]; then
	ok "a directory as the script file is an error"
else
	fail "a directory as the script file is an error" \
		"gortsh --norc adir: status $RC (want 1) with an error message; stderr:" \
		"$(cat "$ERR")"
fi
gsh "source of a directory is an error" -c 'source adir; echo after'
if [[ $RC -eq 1 ]] && ! grep -q after "$OUT"; then
	ok "source of a directory is an error"
else
	fail "source of a directory is an error" "gortsh -c 'source adir; echo after': status $RC (want 1, and no 'after'); output:" \
		"$(cat "$ALL")"
fi

# -------------------------------------------------------------- bodies

gsh "body: every misuse of a step is reported, not only the first" --keep-going \
	-c 'alloc 8 as v; alloc 16 as w; spawn { free v; free v; free w; free w }; step'
if grep -q '; free w; error: free w: double free' "$OUT"; then
	ok "body: every misuse of a step is reported, not only the first"
else
	fail "body: every misuse of a step is reported, not only the first" \
		"spawn { free v; free v; free w; free w }; step — the second 'free w' is a double free; got:" \
		"$(cat "$ALL")"
fi

# The runtime keeps its own objects (G descriptors, the list of Gs) in the
# gort heap; a free by address can reach them. gortsh must not crash.
gsh "free by address of the runtime's own objects does not crash" --keep-going \
	-c 'spawn { yield }; try free arena+0x0; try free arena+0x2000; try free arena+0x4000; release; check; spawn { yield }; run'
if [[ $RC -eq 0 || $RC -eq 1 ]]; then
	ok "free by address of the runtime's own objects does not crash"
else
	fail "free by address of the runtime's own objects does not crash" \
		"gortsh -c 'spawn { yield }; free arena+0x2000; release ...': status $RC (want 0 or 1); output:" \
		"$(cat "$ALL")"
fi

gsh "vals: a free by address marks the value freed" \
	-c 'alloc 24; alloc 24 as b; free 0xc000000000; free arena+0x20; vals'
# shellcheck disable=SC2016 # $1 and $2 are gortsh's values, not the shell's
expect "vals: a free by address marks the value freed" 0 \
	'$1 = 0xc000000000  class 4 (32 B)  span 0xc000000000  slot 0
$2 = 0xc000000020  class 4 (32 B)  span 0xc000000000  slot 1  as b
freed 0xc000000000
freed 0xc000000020
$1    0xc000000000         24 B  freed 
$2    0xc000000020         24 B  freed b'

# A stack too small for a G body is refused (exit 2); the smallest one
# allowed runs bodies, nested deep, in both modes.
usage_error "usage: --stack 4K is below the 16K minimum" "bad value for --stack: '4K'" \
	--stack 4K -c 'echo x'
for mode in step threads; do
	opts=(--stack 16K)
	[[ $mode == threads ]] && opts+=(--threads)
	gsh "a 16 KiB stack runs nested bodies ($mode mode)" "${opts[@]}" \
		-c 'spawn { repeat 2 { repeat 2 { repeat 2 { repeat 2 { repeat 2 { alloc 8; work 10 } } } } } }; run; check'
	if [[ $RC -eq 0 ]]; then
		ok "a 16 KiB stack runs nested bodies ($mode mode)"
	else
		fail "a 16 KiB stack runs nested bodies ($mode mode)" \
			"gortsh --norc ${opts[*]} ...: status $RC (want 0); output:" "$(cat "$ALL")"
	fi
done


# ---------------------------------------------------- bounded in time

# within SECONDS NAME ARG... — gortsh must end (0 or 1) within SECONDS.
within() {
	local secs=$1 name=$2 start end rc
	shift 2
	start=$(date +%s%N)
	env -i PATH=/usr/bin:/bin HOME="$TMP/home" LC_ALL=C timeout -k 2 "$secs" "$GORTSH" --norc "$@" \
		<"$IN" >"$TMP/within.out" 2>&1
	rc=$?
	end=$(date +%s%N)
	local ms=$(((end - start) / 1000000)) from=""
	[[ "$IN" == /dev/null ]] || from=" < $(basename "$IN")"
	if [[ $rc -eq 0 || $rc -eq 1 ]]; then
		ok "$name (${ms} ms)"
	elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
		fail "$name" "still running after ${secs}s: gortsh --norc $*$from"
	else
		fail_file "$name" "status $rc:" "$TMP/within.out"
	fi
}

within 5 "time: a body of nested repeats of work ends (work budget)" \
	-c 'spawn { repeat 1000000 { work 100000000 } }; run'
within 5 "time: a body of nested repeats of allocations ends" \
	-c 'spawn { repeat 1000 { repeat 1000000 { alloc 8 } } }; run'
python3 -c '
import sys
sys.stdout.write("spawn {\n")
for i in range(25000):
    sys.stdout.write("echo line %d of a block that never closes\n" % i)
' >openblock.gsh
IN=openblock.gsh
within 5 "time: a block left open over 1 MB of lines is read in linear time" --keep-going
IN=/dev/null

# source takes a relative path from the sourcing file's folder, wherever
# gortsh runs; -c and standard input take it from the current folder.
mkdir -p srcdir/lib
printf 'echo main\nsource lib/part.gsh\n' >srcdir/main.gsh
printf 'echo part\nsource leaf.gsh\n' >srcdir/lib/part.gsh
printf 'echo leaf\n' >srcdir/lib/leaf.gsh
gsh "source: a relative path is taken from the sourcing file's folder" "$W/srcdir/main.gsh"
expect "source: a relative path is taken from the sourcing file's folder" 0 'main
part
leaf'
gsh "source: -c takes it from the current folder" -c 'source srcdir/main.gsh'
expect "source: -c takes it from the current folder" 0 'main
part
leaf'

finish

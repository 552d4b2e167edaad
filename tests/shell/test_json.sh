#!/usr/bin/env bash
# test_json.sh — gortsh's machine-readable outputs: --json, export svg and
# trace files, checked with python3 (check_json.py, standard library only).
#
# Usage: tests/shell/test_json.sh [BUILD_DIR]        (default: build)
#
# Checks:
#  - every script of tests/shell/scripts/ and the examples (the tour, the sieve), run with --json
#    --keep-going: each stdout line is one JSON object with "cmd" or "error",
#    the objects pair one to one with the commands run (counted from an
#    --echo run of the same session; the pairing rules are in check_json.py)
#    and each step object says exactly what the text step line says (one
#    check over all scripts; text shows the first 64 lines of a step and
#    counts the rest, JSON lists every one); UTF-8 text decodes to what was
#    printed. A threaded run's did array is never cut either.
#    Scripts that switch json or echo themselves are left out;
#  - the views whose text depends on timing (gs, ps, ms, schedtrace,
#    scheddetail, dump mcache/runq) in threaded mode, with Gs running: JSON;
#  - export svg: XML with an <svg> root in the SVG namespace — for a fresh
#    runtime, a busy arena, one after release, and in threaded mode;
#  - trace: a JSON file with a traceEvents list whose entries have name, ph,
#    ts, pid and tid; in step mode one "X" event per step, in threaded mode
#    one per time a G ran (yields + parks + 1); also a trace left open at
#    exit and one closed by init.
#
# Output: `ok - NAME` / `not ok - NAME`, the problems on stderr as '#'
# lines. Exit status 1 if any check failed.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

if ! command -v python3 >/dev/null 2>&1; then
	fail "python3 is installed" "the checks of this script need python3"
	finish
fi
CHECK=$HERE/check_json.py

# pycheck NAME ARG... — runs check_json.py ARG...; one check.
pycheck() {
	local name=$1
	shift
	if python3 "$CHECK" "$@" >"$TMP/check.out" 2>&1; then
		ok "$name ($(tail -n 1 "$TMP/check.out"))"
	else
		fail_file "$name" "check_json.py $*:" "$TMP/check.out" 20
	fi
}

# workdir NAME — a fresh directory with a copy of the scripts and the tour.
workdir() {
	local w=$TMP/$1
	rm -rf -- "$w"
	mkdir -p "$w/examples"
	cp -R "$HERE/scripts/." "$w/"
	cp "$ROOT"/examples/*.gsh "$w/examples/"
	echo "$w"
}

# ---------------------------------------------------------- sessions

# session_check NAME JSON_OUT TEXT_OUT TEXT_ERR — the pairing check; step
# objects that differ from their text lines are collected for one check.
step_diffs=()
session_check() {
	local name=$1 rc
	shift
	python3 "$CHECK" session "$@" >"$TMP/check.out" 2>&1
	rc=$?
	if [[ $rc -eq 0 || $rc -eq 2 ]]; then
		ok "$name ($(tail -n 1 "$TMP/check.out"))"
	else
		fail_file "$name" "check_json.py session $*:" "$TMP/check.out" 20
	fi
	if [[ $rc -eq 2 || $rc -eq 3 ]]; then
		step_diffs+=("$name: $(grep -m1 '^step differs' "$TMP/check.out")")
	fi
}

shopt -s nullglob
for f in "$HERE"/scripts/*.gsh "$ROOT"/examples/*.gsh; do
	name=$(basename "$f" .gsh)
	rel=${f#"$HERE/scripts/"}
	[[ "$rel" == "$f" ]] && rel=examples/$name.gsh
	if grep -qE '(^|;)[[:space:]]*set[[:space:]]+(json|echo)' "$f"; then
		continue
	fi
	args=()
	for a in $(script_args "$f"); do
		[[ "$a" == --json || "$a" == --keep-going ]] || args+=("$a")
	done
	w=$(workdir "json-$name")
	(cd "$w" && run_gortsh --json --keep-going "${args[@]}" "$rel") </dev/null >"$w/json.out" 2>"$w/json.err"
	w2=$(workdir "text-$name")
	(cd "$w2" && run_gortsh --echo --keep-going "${args[@]}" "$rel") </dev/null >"$w2/text.out" 2>"$w2/text.err"
	session_check "json: $name" "$w/json.out" "$w2/text.out" "$w2/text.err"
done

# Threaded mode, with Gs running while the views look: only validity.
w=$(workdir threaded-views)
cat >"$w/views.gsh" <<'EOF'
init procs=4 threads=on
spawn { repeat 200 { alloc 64 as v; free v; yield } }
spawn { repeat 200 { work 1000; yield } }
spawn { repeat 50 { spawn { yield } } }
gs
ps
ms
schedtrace
scheddetail
dump mcache
dump runq
dump arena
stats
run
gs
ms
EOF
(cd "$w" && run_gortsh --json --keep-going views.gsh) </dev/null >"$w/json.out" 2>"$w/json.err"
(cd "$w" && run_gortsh --echo --keep-going views.gsh) </dev/null >"$w/text.out" 2>"$w/text.err"
session_check "json: views in threaded mode" "$w/json.out" "$w/text.out" "$w/text.err"

# JSON is never cut: a threaded run that did more than text shows lists
# every line (the step-mode case is scripts/actions.gsh, above).
w=$(workdir did)
(cd "$w" && run_gortsh --json -c 'init procs=2 threads=on
	spawn { repeat 150 { alloc 8 noscan } }; spawn { repeat 90 { alloc 16 } }; run') \
	</dev/null >"$w/json.out" 2>&1
pycheck "json: a threaded run's did array is never cut" did "$w/json.out" 240

# Strings reach JSON unchanged: what a step did (UTF-8 arrows included), in
# every session above, and echo's text.
if [[ ${#step_diffs[@]} -eq 0 ]]; then
	ok "json: every step object says what its text line says"
else
	fail "json: every step object says what its text line says" "${step_diffs[@]}"
fi
w=$(workdir utf8)
(cd "$w" && run_gortsh --json -c 'echo "naïve → ok"') </dev/null >"$w/out" 2>&1
if python3 -c 'import json,sys; o=json.loads(open(sys.argv[1],"rb").read()); sys.exit(o.get("text")!="naïve → ok")' \
	"$w/out" 2>/dev/null; then
	ok "json: UTF-8 text round-trips (echo)"
else
	fail_file "json: UTF-8 text round-trips (echo)" \
		"echo \"naïve → ok\" in --json must decode to the same string; got:" "$w/out"
fi

# ---------------------------------------------------------------- svg

w=$(workdir svg)
(
	cd "$w" && run_gortsh -c 'export svg empty.svg' &&
		run_gortsh -c 'alloc 24 as a; alloc 5 noscan; alloc 100K as big; alloc 9K; calloc 40 1K;
			export svg busy.svg; free big; release; export svg released.svg' &&
		run_gortsh -c 'init threads=on procs=3; spawn { alloc 64; alloc 3K }; run; export svg threaded.svg'
) </dev/null >"$w/out" 2>&1
rc=$?
if [[ $rc -ne 0 ]]; then
	fail_file "svg: sessions run" "exit status $rc:" "$w/out"
fi
for s in empty busy released threaded; do
	pycheck "svg: $s" svg "$w/$s.svg"
done

# -------------------------------------------------------------- trace

# Step mode: the steps printed after trace start are the X events.
w=$(workdir trace-step)
cat >"$w/t.gsh" <<'EOF'
init procs=3 seed=2
spawn { yield }
trace start t.json
spawn { repeat 3 { yield }; spawn { park; yield } }
spawn on p1 { alloc 64; yield; ready g3 }
spawn on p2 { repeat 5 { spawn { yield } } }
step 2
step on p2
run max=3
run
trace stop
EOF
(cd "$w" && run_gortsh t.gsh) </dev/null >"$w/out" 2>&1
steps=$(grep -c '^\[[0-9]*\] p' "$w/out")
if grep -q '^trace: wrote' "$w/out" && [[ $steps -ge 10 ]]; then
	pycheck "trace: step mode, one X event per step" trace "$w/t.json" "$steps"
else
	fail_file "trace: step mode, one X event per step" "the session failed or stepped $steps times:" "$w/out"
fi

# Threaded mode: per G, yields + parks + 1 runs.
w=$(workdir trace-threaded)
cat >"$w/t.gsh" <<'EOF'
init procs=4 threads=on
trace start t.json
spawn { repeat 3 { yield } }
spawn { repeat 5 { yield } }
spawn { park; yield }
spawn { alloc 100; work 1000 }
run
ready g3
run
trace stop
EOF
(cd "$w" && run_gortsh t.gsh) </dev/null >"$w/out" 2>&1
if grep -q '^trace: wrote' "$w/out"; then
	pycheck "trace: threaded mode, one X event per run of a G" trace "$w/t.json" "g1=4,g2=6,g3=3,g4=1"
else
	fail_file "trace: threaded mode, one X event per run of a G" "the session failed:" "$w/out"
fi

# A trace still open when gortsh ends, and one that init closes.
w=$(workdir trace-open)
(cd "$w" && run_gortsh -c 'spawn { yield }; trace start open.json; step; step' &&
	run_gortsh -c 'trace start closed.json; spawn { yield }; step; init; spawn { yield }; step') \
	</dev/null >"$w/out" 2>&1
pycheck "trace: left open at exit" trace "$w/open.json" 2
pycheck "trace: closed by init" trace "$w/closed.json" 1

finish

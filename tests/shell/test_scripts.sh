#!/usr/bin/env bash
# test_scripts.sh — golden tests of gortsh: every tests/shell/scripts/NAME.gsh
# and the examples (examples/*.gsh: the guided tour, the prime sieve) run as a batch, and what they
# print — stdout and stderr in one stream, in order, then a last line
# `exit N` with the exit status — must equal tests/shell/expected/NAME.out
# (tour.out for the tour, sieve.out for the sieve) byte for byte.
#
# Usage: tests/shell/test_scripts.sh [BUILD_DIR]        (default: build)
#        UPDATE=1 tests/shell/test_scripts.sh build     (rewrite the expected files)
#
# Each script runs as `gortsh --norc [ARGS] NAME.gsh` where ARGS come from a
# first line `# args: --keep-going --procs 4`, in a fresh temporary directory
# holding a copy of tests/shell/scripts/ (so `source inc/...` works and the
# files that export and trace write stay there) and of examples/tour.gsh.
# Step mode is deterministic and the arena lands at 0xc000000000 (elsewhere
# gortsh prints arena+0x... instead), so the comparison is exact.
#
# Besides one check per script: the expected/ folder has no file without a
# script, and every command of the command table (cli/commands.c) and every
# dump sub-command is run by at least one script.
#
# Output: `ok - NAME` / `not ok - NAME` per check; on a difference the head
# of the diff goes to stderr as '#' lines. Exit status 1 if any check failed.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

SCRIPTS=$HERE/scripts
EXPECTED=$HERE/expected

# run_one NAME FILE OUT — FILE is relative to the work directory.
run_one() {
	local name=$1 file=$2 out=$3 work=$TMP/work-$1 args rc
	mkdir -p "$work/examples"
	cp -R "$SCRIPTS/." "$work/"
	cp "$ROOT"/examples/*.gsh "$work/examples/"
	args=$(script_args "$work/$file")
	# shellcheck disable=SC2086 # ARGS are words by design
	(cd "$work" && run_gortsh $args "$file") </dev/null >"$out" 2>&1
	rc=$?
	echo "exit $rc" >>"$out"
}

# compare NAME FILE — one check.
compare() {
	local name=$1 file=$2 got=$TMP/$1.out want=$EXPECTED/$1.out
	run_one "$name" "$file" "$got"
	if [[ "${UPDATE:-0}" == 1 ]]; then
		mkdir -p "$EXPECTED"
		cp "$got" "$want"
		ok "script $name (expected output written)"
		return
	fi
	if [[ ! -f "$want" ]]; then
		fail "script $name" "no expected output $want" \
			"(UPDATE=1 bash tests/shell/test_scripts.sh build writes it; read it before committing)"
		return
	fi
	if cmp -s "$want" "$got"; then
		ok "script $name"
	else
		diff -u "$want" "$got" >"$TMP/$name.diff"
		fail_file "script $name" "output differs from expected/$name.out (- expected, + got):" \
			"$TMP/$name.diff" 40
	fi
}

shopt -s nullglob
scripts=("$SCRIPTS"/*.gsh)
if [[ ${#scripts[@]} -eq 0 ]]; then
	fail "scripts exist" "no $SCRIPTS/*.gsh"
	finish
fi

for f in "${scripts[@]}"; do
	name=$(basename "$f" .gsh)
	compare "$name" "$name.gsh"
done
compare tour examples/tour.gsh
compare sieve examples/sieve.gsh

# Expected files whose script is gone.
stale=()
for f in "$EXPECTED"/*.out; do
	name=$(basename "$f" .out)
	[[ "$name" == tour || "$name" == sieve || -f "$SCRIPTS/$name.gsh" ]] || stale+=("$f")
done
if [[ ${#stale[@]} -eq 0 ]]; then
	ok "every expected output has its script"
else
	fail "every expected output has its script" "no script for:" "${stale[@]}"
fi

# Coverage of the command table: each name must start a command somewhere
# (at the start of a line, after ';' or after try).
commands=$(sed -n 's/^\t{"\([a-z]*\)", ".*/\1/p' "$ROOT/cli/commands.c")
subs=$(sed -n '/dump_subs\[\] = {/,/NULL}/p' "$ROOT/cli/commands.c" | grep -o '"[a-z]*"' | tr -d '"')
missing=()
if [[ -z "$commands" || -z "$subs" ]]; then
	missing+=("(could not read the command table from cli/commands.c)")
fi
all=$(cat "${scripts[@]}" "$ROOT/examples/tour.gsh")
for c in $commands; do
	grep -qE "(^|;|try)[[:space:]]*$c([[:space:]]|;|\$)" <<<"$all" || missing+=("command $c")
done
for s in $subs; do
	grep -qE "(^|;)[[:space:]]*dump[[:space:]]+$s([[:space:]]|;|\$)" <<<"$all" || missing+=("dump $s")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	ok "every command and dump sub-command is run by a script"
else
	fail "every command and dump sub-command is run by a script" "not run anywhere:" "${missing[@]}"
fi

finish

# common.bash — shared by the tests/shell/*.sh scripts (sourced, not run:
# the runner only runs *.sh). Sets up, from the build folder given as $1:
#   ROOT      the repository
#   HERE      tests/shell
#   GORTSH    the absolute path of BUILD/gortsh
#   TMP       a private temporary directory, removed on exit (KEEP_TMP=1 keeps it)
#   FAILED    0, set to 1 by fail
# and the functions below. Every gortsh run goes through run_gortsh, which
# clears the environment (PATH, HOME in TMP, LC_ALL=C) so a caller's
# NO_COLOR, GORTSH_HISTORY or ~/.gortshrc cannot change an output.
#
# Output: ok NAME prints `ok - NAME`; fail NAME [LINE...] prints `not ok - NAME`
# and the lines, each prefixed with "#   ", on stderr (the runner shows the
# lines that start with '#').

BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
HERE=$ROOT/tests/shell
GORTSH=$(realpath -m -- "$BUILD_DIR/gortsh")
FAILED=0
# Seconds one gortsh run may take before it counts as a hang.
RUN_TIMEOUT=${RUN_TIMEOUT:-20}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gortsh-test.XXXXXX") || exit 1
cleanup() {
	if [[ "${KEEP_TMP:-0}" == 1 ]]; then
		echo "# kept $TMP" >&2
	else
		rm -rf -- "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$TMP/home"

ok() { echo "ok - $1"; }

# fail NAME [LINE...]
fail() {
	local name=$1
	shift
	echo "not ok - $name"
	FAILED=1
	local arg line
	for arg in "$@"; do
		while IFS= read -r line; do
			printf '#   %s\n' "$line" >&2
		done <<<"$arg"
	done
}

# fail_file NAME MESSAGE FILE [MAX_LINES] — a failure with the head of a file.
fail_file() {
	local name=$1 msg=$2 file=$3 max=${4:-30} lines=()
	if [[ -f "$file" ]]; then
		mapfile -t lines < <(head -n "$max" -- "$file" | cut -c1-300)
	fi
	fail "$name" "$msg" "${lines[@]}"
}

# check NAME COMMAND... — ok if the command succeeds, else not ok.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "failed: $*"; fi
}

# run_gortsh ARG... — gortsh --norc ARG... with a fixed environment and a
# timeout; stdin, stdout and stderr are the caller's. Status: gortsh's, or
# 124 on a timeout.
run_gortsh() {
	env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$TMP/home" LC_ALL=C TERM=dumb \
		timeout -k 5 "$RUN_TIMEOUT" "$GORTSH" --norc "$@"
}

# require_gortsh — one failing check and exit if the binary is missing.
require_gortsh() {
	if [[ ! -x "$GORTSH" ]]; then
		fail "gortsh is built" "no such executable: $GORTSH"
		exit 1
	fi
}

# script_args FILE — the options on a first line `# args: ...`, word-split.
script_args() {
	local first
	IFS= read -r first <"$1" || true
	if [[ "$first" =~ ^#\ args:\ *(.*)$ ]]; then
		echo "${BASH_REMATCH[1]}"
	fi
}

# finish — the exit status of the script.
finish() {
	exit "$FAILED"
}

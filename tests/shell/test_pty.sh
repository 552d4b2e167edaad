#!/usr/bin/env bash
# test_pty.sh — gortsh's interactive prompt, driven on a pseudo-terminal by
# pty_session.py (python3's pty module, no other package): the prompt, TAB
# completion of commands, sub-commands and values, running commands, help,
# an error that does not end the session, the continuation prompt of an open
# block, quit, the history file (GORTSH_HISTORY) written and read back,
# Ctrl-D, and Ctrl-C (at the prompt, at `...>`, during a step-mode and a
# threaded run) and Ctrl-D at `...>`, neither of which ends the session, and TAB completion by each
# command's grammar (sub-commands, then values, Gs, Ps, funcs, channels). HOME and the history are in a temporary directory; every wait has
# a timeout so a hang fails instead of blocking.
#
# Usage: tests/shell/test_pty.sh [BUILD_DIR]        (default: build)
#
# Output: `ok - NAME` / `not ok - NAME`; what the terminal showed on stderr
# as '#' lines. Exit status 1 if any check failed.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
require_gortsh

if ! command -v python3 >/dev/null 2>&1; then
	fail "python3 is installed" "this test drives the terminal with python3's pty module"
	finish
fi
timeout -k 5 90 python3 "$HERE/pty_session.py" "$GORTSH" "$TMP/home"
rc=$?
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
	fail "the pty session finished" "pty_session.py was still running after 90s"
fi
[[ $rc -eq 0 ]] || FAILED=1
finish

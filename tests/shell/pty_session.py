#!/usr/bin/env python3
"""pty_session.py — drives gortsh's interactive prompt on a pseudo-terminal
for test_pty.sh (python3's pty module only).

  pty_session.py GORTSH DIR

DIR is a private directory: gortsh runs with HOME=DIR and
GORTSH_HISTORY=DIR/history, in DIR. Prints one TAP-style line per check
(`ok - NAME` / `not ok - NAME`) and, after a failure, what the terminal
showed, as '#' lines on stderr. Every wait has a timeout, so a hang fails
instead of blocking; the whole run is bounded by an alarm. Exit status 1
if any check failed.

Session 1: the banner and the `gortsh> ` prompt; TAB completes `dum` to
`dump `, a sub-command (`dump bit` to `dump bitmap `) and a value (`$`
to `$1`); a command runs (`alloc 24` prints `$1 =`); `help dump`; an error
prints `error: ...` (no FILE:LINE) and the prompt comes back; an open
block gets the `...> ` prompt until it closes; a brace inside a string
opens no block; quit ends with status 0. The history file then holds the
typed commands.
Session 2: the history is read back (Ctrl-P recalls the last command);
Ctrl-D on an empty line exits with status 0.
Session 3: Ctrl-C is the shell's, not the end of it: at an empty prompt and
at a `...> ` prompt it abandons what was typed and the prompt comes back;
during a long step-mode `run` it stops the run between two steps (the
values and the G survive, and `run` goes on where it stopped); in threaded
mode it stops the Gs' bodies so `run` returns. Ctrl-D at `...> ` abandons
the block with a message and the session goes on; Ctrl-D at `gortsh> `
exits with status 0.
Session 4: a block typed over three lines is one history entry: Ctrl-P
recalls all of it (and Enter runs it again, not a lone `}`), the history
file keeps it as one entry, and session 5 reads it back as one.
Session 6: TAB completion follows each command's grammar: after `dump span`
it offers values and names, not dump's sub-commands; `init`, `set` and
`spawn` offer their keywords (and spawn the funcs), never `$1`; names are in
the TAB-TAB list; `ready`, `send`, `lock`, `wg` and `step on` offer Gs,
channels, mutexes, wait groups and Ps; inside `spawn { ... }` a body's steps.
"""
import os
import pty
import re
import select
import signal
import sys
import time

TIMEOUT = 5.0
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|[\x01\x02]")
failed = False


def log(*lines):
    for text in lines:
        for line in str(text).splitlines() or [""]:
            sys.stderr.write("#   " + line + "\n")


def ok(name):
    print("ok - " + name, flush=True)


def not_ok(name, *diag):
    global failed
    failed = True
    print("not ok - " + name, flush=True)
    log(*diag)


class Session:
    def __init__(self, gortsh, home):
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "GORTSH_HISTORY": os.path.join(home, "history"),
            "TERM": "dumb",
            "LC_ALL": "C",
        }
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(home)
            os.execve(gortsh, [gortsh, "--norc"], env)
            os._exit(127)
        self.buf = b""  # everything since the last mark
        self.status = None

    def read_some(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.fd], [], [], left)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.buf += data
        return True

    def text(self):
        return ANSI.sub(b"", self.buf).replace(b"\r", b"").decode("utf-8", "replace")

    def expect(self, pattern, timeout=TIMEOUT):
        """Waits until the cleaned output (since the last mark) matches."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern, re.S)
        while not rx.search(self.text()):
            if not self.read_some(deadline):
                return rx.search(self.text()) is not None
        return True

    def settle(self, quiet=0.3):
        """Reads until nothing arrives for `quiet` seconds."""
        while self.read_some(time.monotonic() + quiet):
            pass

    def mark(self):
        self.buf = b""

    def send(self, data):
        os.write(self.fd, data)

    def wait(self, timeout=TIMEOUT):
        """The exit status, or None if the child is still running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = st
                return st
            self.read_some(time.monotonic() + 0.05)
        return None

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        try:
            os.close(self.fd)
        except OSError:
            pass


def check(s, name, pattern, timeout=TIMEOUT):
    if s.expect(pattern, timeout):
        ok(name)
        return True
    not_ok(name, f"waited {timeout}s for /{pattern}/; the terminal showed:", s.text()[-1500:])
    return False


def exited_cleanly(s, name):
    st = s.wait()
    if st is None:
        not_ok(name, "gortsh did not exit; the terminal showed:", s.text()[-800:])
    elif os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0:
        ok(name)
    else:
        not_ok(name, f"wait status {st:#x} (want exit 0); the terminal showed:", s.text()[-800:])


def session1(gortsh, home):
    s = Session(gortsh, home)
    try:
        if not check(s, "the banner and the prompt", r"gortsh \d.*gortsh> $"):
            return
        s.mark()
        # Completion of the command: `dum` TAB -> `dump `, then `heap`.
        s.send(b"dum\t")
        check(s, "TAB completes dum to dump", r"dump $")
        s.send(b"heap\r")
        check(s, "the completed line runs (dump heap)", r"0 free runs.*gortsh> $")
        s.mark()
        s.send(b"dump bit\t")
        check(s, "TAB completes a dump sub-command (bit -> bitmap)", r"dump bitmap $")
        s.send(b"\x15")  # Ctrl-U: discard the line
        s.settle(0.2)
        s.mark()
        s.send(b"alloc 24\r")
        check(s, "alloc 24 prints $1 =", r"\$1 = 0x[0-9a-f]+  class 4 .*gortsh> $")
        s.mark()
        s.send(b"free $\t")
        check(s, "TAB completes a value ($ -> $1)", r"free \$1 $")
        s.send(b"\r")
        check(s, "the completed free runs", r"freed 0x[0-9a-f]+.*gortsh> $")
        s.mark()
        s.send(b"help dump\r")
        check(s, "help dump", r"usage: dump arena\|spans.*example: dump bitmap \$1.*gortsh> $")
        s.mark()
        s.send(b"frob\r")
        if check(s, "an error is reported and the prompt comes back",
                 r"\nerror: unknown command 'frob' \(try help\)\ngortsh> $"):
            pass
        s.mark()
        s.send(b"spawn {\r")
        check(s, "an open block gets the continuation prompt", r"\.\.\.> $")
        s.mark()
        s.send(b"yield }\r")
        check(s, "the block runs once closed", r"g1 runnable on p0 \(runnext\).*gortsh> $")
        s.mark()
        s.send(b'echo "{"\r')
        if s.expect(r"\n\{\ngortsh> $", 2.0):
            ok("a brace inside a string opens no block")
        else:
            not_ok("a brace inside a string opens no block",
                   'typed echo "{" and Enter: want `{` and the gortsh> prompt; the terminal showed:',
                   s.text()[-500:])
            if s.text().endswith("...> "):
                s.send(b"}\r")  # close what the prompt thinks is open
                s.expect(r"gortsh> $", 2.0)
        s.mark()
        s.send(b"quit\r")
        exited_cleanly(s, "quit exits with status 0")
    finally:
        s.kill()
    hist = os.path.join(home, "history")
    try:
        with open(hist, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f.read().splitlines()]
    except OSError as e:
        not_ok("the history file holds the typed commands", f"cannot read {hist}: {e}")
        return
    want = ["dump heap", "alloc 24", "free $1", "help dump", "frob", "quit"]
    missing = [w for w in want if w not in lines]
    if missing:
        not_ok("the history file holds the typed commands", f"missing {missing}; the file:", *lines[-20:])
    else:
        ok("the history file holds the typed commands")


def session2(gortsh, home):
    s = Session(gortsh, home)
    try:
        if not check(s, "a second session starts", r"gortsh> $"):
            return
        s.mark()
        s.send(b"\x10")  # Ctrl-P: the previous history line
        check(s, "the history is read back (Ctrl-P recalls quit)", r"quit$")
        s.send(b"\x15")  # Ctrl-U
        s.settle(0.2)
        s.mark()
        s.send(b"\x04")  # Ctrl-D on an empty line
        exited_cleanly(s, "Ctrl-D exits with status 0")
    finally:
        s.kill()


def session3(gortsh, home):
    s = Session(gortsh, home)
    try:
        if not check(s, "a third session starts", r"gortsh> $"):
            return
        s.mark()
        s.send(b"alloc 24 as keep\r")
        check(s, "a value to keep", r"\$1 = .*gortsh> $")
        s.mark()
        s.send(b"\x03")
        check(s, "Ctrl-C at an empty prompt gives a new prompt", r"\^C\ngortsh> $")
        s.mark()
        s.send(b"alloc 24 as never")
        s.settle(0.2)
        s.send(b"\x03")
        check(s, "Ctrl-C abandons a half-typed line", r"\^C\ngortsh> $")
        s.mark()
        s.send(b"spawn {\r")
        check(s, "a block is open", r"\.\.\.> $")
        s.mark()
        s.send(b"yield\r")
        check(s, "the block goes on", r"yield\n\.\.\.> $")
        s.send(b"\x03")
        check(s, "Ctrl-C at ...> abandons the block", r"\^C\ngortsh> $")
        s.mark()
        s.send(b"gs; vals\r")
        check(s, "after Ctrl-C: no G was spawned, the value is still there, the line was not run",
              r"no goroutines\n\$1 +0x[0-9a-f]+ +24 B  live  keep\ngortsh> $")
        s.mark()
        s.send(b"spawn {\r")
        check(s, "another block is open", r"\.\.\.> $")
        s.mark()
        s.send(b"\x04")
        check(s, "Ctrl-D at ...> abandons the block with a message",
              r"the open block was abandoned, 1 brace unclosed\)\ngortsh> $")
        s.mark()
        s.send(b"spawn { repeat 1000000 { work 1000000; yield } }\r")
        check(s, "a long-running G", r"g1 runnable on p0.*gortsh> $")
        s.mark()
        s.send(b"run max=1000000; echo not-reached\r")
        check(s, "the run is running", r"\[3\] p")
        s.send(b"\x03")
        check(s, "Ctrl-C stops a step-mode run at a step boundary",
              # the terminal echoes ^C where the cursor is, maybe before the line
              r"(\n|\^C)run: interrupted \(Ctrl-C\) after \d+ steps; Gs are still runnable\ngortsh> $")
        if "\nnot-reached\n" in s.text():
            not_ok("the rest of the interrupted line does not run", s.text()[-300:])
        else:
            ok("the rest of the interrupted line does not run")
        s.mark()
        s.send(b"step; vals\r")
        check(s, "the G and the values survive the interrupt",
              r"\] p\d g1 (local|stolen from p\d|runnext): work 1000000; yielded\n"
              r"\$1 +0x[0-9a-f]+ +24 B  live  keep\ngortsh> $")
        s.mark()
        s.send(b"init threads=on; spawn { repeat 1000000 { work 1000000; yield } }; run\r")
        check(s, "a threaded run is running", r"\(global queue; the Ms run it now\)")
        s.settle(0.3)
        s.send(b"\x03")
        check(s, "Ctrl-C stops a threaded run (the Gs' bodies stop)",
              r"run: interrupted \(Ctrl-C\): the Gs' bodies stopped at their next step; "
              r"every M is idle; 0 Gs parked\ngortsh> $")
        s.mark()
        s.send(b"echo alive\r")
        check(s, "the session goes on", r"\nalive\ngortsh> $")
        s.mark()
        s.send(b"\x04")
        exited_cleanly(s, "Ctrl-D at an empty prompt exits with status 0")
    finally:
        s.kill()


def session4(gortsh, home):
    s = Session(gortsh, home)
    try:
        if not check(s, "a fourth session starts", r"gortsh> $"):
            return
        s.mark()
        for part in (b"spawn {\r", b"yield\r"):
            s.send(part)
            check(s, "the block is open", r"\.\.\.> $")
            s.mark()
        s.send(b"}\r")
        check(s, "the three-line block runs", r"g1 runnable on p0 \(runnext\)\ngortsh> $")
        s.mark()
        s.send(b"\x10")  # Ctrl-P
        s.settle(0.3)
        s.send(b"\r")
        check(s, "Ctrl-P recalls the whole block, which runs again",
              r"g2 runnable on p0 \(runnext\); g1 moved to the tail of p0's queue\ngortsh> $")
        s.mark()
        s.send(b"quit\r")
        exited_cleanly(s, "quit exits with status 0 (session 4)")
    finally:
        s.kill()
    s = Session(gortsh, home)
    try:
        if not check(s, "a fifth session starts", r"gortsh> $"):
            return
        s.mark()
        s.send(b"\x10\x10")  # past `quit`, to the block
        s.settle(0.3)
        s.send(b"\r")
        check(s, "the block is read back from the file as one entry",
              r"g1 runnable on p0 \(runnext\)\ngortsh> $")
        s.mark()
        s.send(b"\x04")
        exited_cleanly(s, "Ctrl-D exits with status 0 (session 5)")
    finally:
        s.kill()


def tab_list(s, line, name, want, unwanted=()):
    """Types line and TAB (a third time: the first may insert a common prefix) and checks
    the list shown; Ctrl-U clears the line."""
    s.mark()
    s.send(line.encode() + b"\t\t\t")
    s.settle(0.4)
    got = s.text()
    words = set(got.replace(line, " ").split())
    missing = [w for w in want if w not in words]
    extra = [w for w in unwanted if w in words]
    if missing or extra:
        not_ok(name, f"typed {line!r} TAB TAB: missing {missing}, unwanted {extra}; the terminal showed:",
               got[-600:])
    else:
        ok(name)
    s.send(b"\x15")
    s.settle(0.2)


def tab_once(s, line, name, pattern):
    s.mark()
    s.send(line.encode() + b"\t")
    check(s, name, pattern)
    s.send(b"\x15")
    s.settle(0.2)


def run_line(s, line):
    s.mark()
    s.send(line.encode() + b"\r")
    s.expect(r"gortsh> $")


def session6(gortsh, home):
    s = Session(gortsh, home)
    try:
        if not check(s, "a sixth session starts", r"gortsh> $"):
            return
        for line in ("alloc 24 as x", "alloc 32 as y", "func worker { yield }", "chan c",
                     "lock m; unlock m", "wg jobs add 1", "spawn worker"):
            run_line(s, line)
        dump_subs = ["arena", "spans", "bitmap", "mcache", "sizeclasses"]
        tab_list(s, "dump span ", "dump span TAB TAB: values and names, not dump's sub-commands",
                 ["$1", "$2", "x", "y"], dump_subs)
        tab_list(s, "init ", "init TAB TAB: its settings, no values", ["procs=", "harden=light"], ["$1", "x"])
        tab_list(s, "set ", "set TAB TAB: its settings, no values", ["color", "json", "echo"], ["$1", "x"])
        tab_list(s, "spawn ", "spawn TAB TAB: on and the funcs, no values", ["on", "worker"], ["$1", "x"])
        tab_list(s, "set json ", "set json TAB TAB: on and off", ["on", "off"], ["color", "$1"])
        tab_list(s, "free ", "free TAB TAB: values and names", ["$1", "$2", "x", "y"], ["alloc", "on"])
        tab_list(s, "step on ", "step on TAB TAB: the Ps", ["p0", "p1"], ["$1"])
        tab_list(s, "dump runq ", "dump runq TAB TAB: the Ps and global", ["p0", "p1", "global"], ["$1"])
        tab_list(s, "wg ", "wg TAB TAB: the wait groups and add/done/wait", ["jobs", "add", "done", "wait"],
                 ["$1", "c", "m"])
        tab_once(s, "ready ", "ready TAB completes the G (g1)", r"ready g1 $")
        tab_once(s, "send ", "send TAB completes the channel (c)", r"send c $")
        tab_once(s, "lock ", "lock TAB completes the mutex (m)", r"lock m $")
        tab_once(s, "dump chan ", "dump chan TAB completes the channel (c)", r"dump chan c $")
        tab_once(s, "spawn w", "spawn w TAB completes the func (worker)", r"spawn worker $")
        tab_once(s, "free x; dump bit", "after ';' the next command's grammar (dump bit -> bitmap)",
                 r"dump bitmap $")
        tab_list(s, "spawn { yield; ", "inside spawn { ... }: a body's steps", ["yield", "park", "alloc"],
                 ["dump", "stats"])
        s.mark()
        s.send(b"quit\r")
        exited_cleanly(s, "quit exits with status 0 (session 6)")
    finally:
        s.kill()


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    gortsh, home = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGALRM, lambda *_: (print("not ok - finished in time"), os._exit(1)))
    signal.alarm(60)
    session1(gortsh, home)
    session2(gortsh, home)
    session3(gortsh, home)
    session4(gortsh, home)
    session6(gortsh, home)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

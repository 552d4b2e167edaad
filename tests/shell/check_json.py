#!/usr/bin/env python3
"""check_json.py — the checks of test_json.sh that need a JSON parser.

  check_json.py session JSON_OUT TEXT_OUT TEXT_ERR
      JSON_OUT is the stdout of `gortsh --json --keep-going FILE`, TEXT_OUT and
      TEXT_ERR the stdout and stderr of `gortsh --echo --keep-going FILE` (the
      same session in text mode, each command echoed as `> CMD`). Checks that
      every line of JSON_OUT is one JSON object with a "cmd" or an "error"
      key; that the objects match the echoed commands one to one (the rules
      below); and that every step object says what the text step line says.
  check_json.py did FILE N
      FILE is --json output: its step and run objects' "did" arrays hold N
      lines in all, none of them a summary ("... and K more"), and no object
      counts lines it left out (did_dropped).
  check_json.py svg FILE
      FILE parses as XML and its root is <svg> in the SVG namespace.
  check_json.py trace FILE STEPS|g1=N,g2=N,...
      FILE parses as JSON with a traceEvents list whose entries all have name,
      ph, ts, pid and tid; the "X" (run) events are exactly STEPS (step
      mode, their args.step numbered 1..STEPS as the step lines are), or
      per G exactly the given count (threaded mode).

How objects pair with commands: one object per command (its result or its
error), except that step and run also print one object per scheduling
decision (with "outcome") before their own summary, and so may send, recv,
select, lock and wg at the prompt, which step until they can go on; source
prints the objects of its file and one of its own only when it fails to open or
nest; repeat prints the objects of its rounds' commands and one of its own only
when it fails. A line that does not split (an unbalanced brace, a stray quote, too
many words) prints one error that belongs to no command: those are counted
and must be as many as in the text run.

Exit status 0 if every check passed; otherwise the failures on stdout, one
per line, and status 1 — or, for session, status 2 when the only failures
are step objects that differ from their text lines (3 when both).
"""
import json
import re
import sys
import xml.dom.minidom

SPLIT_ERRORS = {
    "unbalanced '{'",
    "unbalanced '}'",
    "unterminated string",
    "too many words in one command",
    "braces nested too deeply",
    "a quote inside a word",
    "a '{' inside a word",
}

problems = []
step_problems = []  # session: steps whose JSON says something else than the text


def problem(msg):
    problems.append(msg)


def is_event(o):
    return o.get("cmd") == "step" and "outcome" in o


def step_count(words):
    """N of `step [N] [on pK]`; 1 when absent or not a number (an error then)."""
    if len(words) > 1 and words[1] != "on":
        try:
            n = int(words[1], 0)
            return n if n > 0 else 1
        except ValueError:
            return 1
    return 1


# Commands that, at the prompt, may step the scheduler (one step object per
# step) before their own object.
WAITING = ("send", "recv", "select", "lock", "wg")


def pair(commands, objs):
    """Walks commands and objects together; returns the split errors met."""
    i = 0
    split_errors = 0

    def peek():
        nonlocal i, split_errors
        while i < len(objs) and (objs[i].get("error") in SPLIT_ERRORS or
                                 str(objs[i].get("error")).startswith("repeat: stopped")):
            # a repeat's own error follows the objects of its rounds
            split_errors += objs[i].get("error") in SPLIT_ERRORS
            i += 1
        return objs[i] if i < len(objs) else None

    def take(cmd, what):
        nonlocal i
        o = peek()
        if o is None:
            problem(f"command `{cmd}`: no object left for {what}")
            return None
        i += 1
        return o

    for cmd in commands:
        words = cmd.split()
        if not words:
            continue
        verb = words[0]
        if verb == "try" and len(words) > 1:
            words = words[1:]
            verb = words[0]
        if verb == "repeat":  # its rounds' commands are echoed and paired one by one
            o = peek()
            if o and "error" in o and re.match(r"(usage: repeat|repeat: at most)", o["error"]):
                i += 1
            continue
        if verb == "source":
            o = peek()
            if o and "error" in o and re.match(r"(cannot open|source:|usage: source)", o["error"]):
                i += 1
            continue
        if verb in ("step", "run"):
            limit = step_count(words) if verb == "step" else None
            n = 0
            while (limit is None or n < limit) and (o := peek()) is not None and is_event(o):
                i += 1
                n += 1
            o = take(cmd, "its summary or error")
            if o is not None and not ("error" in o or (o.get("cmd") == verb and not is_event(o))):
                problem(f"command `{cmd}`: expected its summary or an error, got {o}")
            continue
        if verb in WAITING:  # at the prompt they step until they can go on
            while (o := peek()) is not None and is_event(o):
                i += 1
        o = take(cmd, "its result")
        if o is not None and is_event(o):
            problem(f"command `{cmd}`: got a step object {o}")
    peek()
    if i < len(objs):
        problem(f"{len(objs) - i} objects left after the last command, the first: {objs[i]}")
    return split_errors


# Text shows the first 64 lines of what a step did (an error line up to 80)
# and counts the rest; JSON keeps every one (cli/body.c, lines_cap).
TEXT_LINES, TEXT_ERROR_LINES = 64, 80


def text_did(did, dropped=0):
    """The lines text mode shows for a JSON "did" array, with its count."""
    kept = []
    for d in did:
        if len(kept) < (TEXT_ERROR_LINES if "error:" in d else TEXT_LINES):
            kept.append(d)
        else:
            dropped += 1
    if dropped:
        kept.append(f"... and {dropped} more (--json or set json on lists every one)")
    return kept


def text_step(o):
    """The text line gortsh prints for this step object."""
    if any(d.startswith("... and ") for d in o["did"]):
        problem(f"step {o['step']}: a summary inside the did array: {o['did'][-1]!r}")
    line = f"[{o['step']}] p{o['p']} g{o['g']} {o['source']}"
    if "from" in o:
        line += f" from p{o['from']}"
    did = text_did(o["did"], o.get("did_dropped", 0))
    line += ": " + "".join(d + "; " for d in did) + o["outcome"]
    if "on" in o:
        line += " on " + o["on"]
    return line


def session(json_out, text_out, text_err):
    objs = []
    with open(json_out, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                o = json.loads(raw)
            except ValueError as e:
                problem(f"line {n} is not JSON ({e}): {raw[:200]!r}")
                continue
            if not isinstance(o, dict):
                problem(f"line {n} is not an object: {raw[:200]!r}")
            elif "cmd" not in o and "error" not in o:
                problem(f"line {n} has neither cmd nor error: {raw[:200]!r}")
            else:
                objs.append(o)
    with open(text_out, encoding="utf-8", errors="replace") as f:
        text = f.read().splitlines()
    with open(text_err, encoding="utf-8", errors="replace") as f:
        err = f.read().splitlines()
    # `> CMD` (a bitmap's current slot is `>     N`: spaces after the mark)
    commands = [line[2:] for line in text if re.match(r"> [^ ]", line)]
    if not commands:
        problem("the text run echoed no command")
    split_errors = pair(commands, objs)
    want = sum(1 for line in err if re.search(r": error: (.*)$", line)
               and re.search(r": error: (.*)$", line).group(1) in SPLIT_ERRORS)
    if split_errors != want:
        problem(f"{split_errors} line-splitting errors in JSON, {want} in text")
    steps_text = [line for line in text if re.match(r"\[\d+\] p\d+ g\d+ ", line)]
    steps_json = [text_step(o) for o in objs if is_event(o)]
    if len(steps_text) != len(steps_json):
        problem(f"{len(steps_json)} step objects, {len(steps_text)} step lines in text")
    for t, j in zip(steps_text, steps_json):
        if t != j:
            step_problems.append(f"step differs: text {t!r}, JSON {j!r}")
            break
    print(f"{len(objs)} objects, {len(commands)} commands, {len(steps_json)} steps")


def did(path, want):
    total = 0
    with open(path, "rb") as f:
        for raw in f:
            o = json.loads(raw)
            if o.get("cmd") not in ("step", "run") or "did" not in o:
                continue
            total += len(o["did"])
            cut = [d for d in o["did"] if d.startswith("... and ")]
            if cut or "did_dropped" in o:
                problem(f"{o['cmd']}: did is cut: {cut[:1]} did_dropped={o.get('did_dropped')}")
    if total != int(want):
        problem(f"{total} did lines, want {want}")
    print(f"{total} did lines")


def svg(path):
    try:
        doc = xml.dom.minidom.parse(path)
    except Exception as e:  # expat raises several kinds
        problem(f"{path} is not XML: {e}")
        return
    root = doc.documentElement
    if root.tagName != "svg":
        problem(f"{path}: root is <{root.tagName}>, not <svg>")
    if root.getAttribute("xmlns") != "http://www.w3.org/2000/svg":
        problem(f"{path}: root xmlns is {root.getAttribute('xmlns')!r}")
    rects = doc.getElementsByTagName("rect")
    print(f"{len(rects)} rects")


def trace(path, want):
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except Exception as e:
        problem(f"{path} is not JSON: {e}")
        return
    ev = d.get("traceEvents") if isinstance(d, dict) else None
    if not isinstance(ev, list):
        problem(f"{path}: no traceEvents list")
        return
    for e in ev:
        missing = [k for k in ("name", "ph", "ts", "pid", "tid") if not isinstance(e, dict) or k not in e]
        if missing:
            problem(f"{path}: event without {missing}: {e}")
            return
    runs = [e for e in ev if e["ph"] == "X"]
    for e in runs:
        if "dur" not in e:
            problem(f"{path}: X event without dur: {e}")
            return
    if "=" in want:
        per_g = {}
        for e in runs:
            per_g[e["name"]] = per_g.get(e["name"], 0) + 1
        expect = {k: int(v) for k, v in (p.split("=") for p in want.split(","))}
        if per_g != expect:
            problem(f"{path}: X events per G {per_g}, expected {expect}")
    elif len(runs) != int(want):
        problem(f"{path}: {len(runs)} X events, expected {want} (one per step)")
    else:  # numbered as the step lines are: [1], [2], ...
        steps = sorted(e.get("args", {}).get("step", -1) for e in runs)
        if steps != list(range(1, int(want) + 1)):
            problem(f"{path}: args.step of the X events are {steps[:8]}..., not 1..{want} as the step lines")
    print(f"{len(ev)} events, {len(runs)} X")


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else ""
    if kind == "session" and len(sys.argv) == 5:
        session(*sys.argv[2:])
    elif kind == "did" and len(sys.argv) == 4:
        did(sys.argv[2], sys.argv[3])
    elif kind == "svg" and len(sys.argv) == 3:
        svg(sys.argv[2])
    elif kind == "trace" and len(sys.argv) == 4:
        trace(sys.argv[2], sys.argv[3])
    else:
        print(__doc__.split("\n\n")[1])
        return 2
    for p in (problems + step_problems)[:20]:
        print(p)
    return (1 if problems else 0) | (2 if step_problems else 0)


if __name__ == "__main__":
    sys.exit(main())

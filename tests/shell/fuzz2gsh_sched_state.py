#!/usr/bin/env python3
"""fuzz2gsh_sched_state.py SCRIPT — reads gortsh --json output of SCRIPT (a
fuzz_sched input as a gortsh script) on stdin and prints the scheduler's
state from its last `ps`, `dump runq global`, `gs` and `schedtrace` in the
form of fuzz_sched's `# state:` comment (fuzz/fuzz_sched.c, fz_gsh_state):
the steps made; per P its schedtick, free Gs, runnext and ring in order;
the global queue (its first 256) and its length; every live G by goid with
its status (and wait reason).

It first checks every step gortsh made against the script's funcs: each
line of `func gN` is a run of G N and says, in a comment, at which step,
on which P and from where (`# [12] p1 stolen from p0`); gortsh's step S
must have run that G there (steps no func claims belong to the harness's
reset before the input, which only g1 runs). A difference is reported on
stdout and ends the script with status 1. Used by test_fuzz2gsh.sh."""
import json
import re
import sys

RUN = re.compile(r"#\s*\[(\d+)\] p(\d+) (\w+)(?: from p(\d+))?")


def script_runs(path):
    """step -> (p, goid, source, victim) as the harness recorded them."""
    runs, goid = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"func g(\d+) \{", line)
            if m:
                goid = int(m.group(1))
            elif line.startswith("}"):
                goid = None
            elif goid is not None:
                r = RUN.search(line)
                if r:
                    victim = int(r.group(4)) if r.group(4) else None
                    runs[int(r.group(1))] = (int(r.group(2)), goid, r.group(3), victim)
    return runs


def step_of(obj):
    return (obj["p"], obj["g"], obj["source"], obj.get("from"))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz2gsh_sched_state.py SCRIPT < GORTSH_JSON")
    want = script_runs(sys.argv[1])
    last, got = {}, {}
    for line in sys.stdin:
        obj = json.loads(line)
        cmd = obj.get("cmd")
        if cmd == "step" and "outcome" in obj:  # a step, not step N's summary
            got[obj["step"]] = step_of(obj)
        elif cmd in ("ps", "dump runq", "gs", "schedtrace"):
            last[cmd] = obj
    for step in sorted(set(want) | set(got)):
        w, g = want.get(step), got.get(step)
        if w != g and not (w is None and g and g[1] == 1):
            print("step %d: the harness ran %s, gortsh %s" % (step, w, g))
            sys.exit(1)
    missing = [c for c in ("ps", "dump runq", "gs", "schedtrace") if c not in last]
    if missing:
        sys.exit("no %s in the output" % ", ".join(missing))

    def ids(goids):
        return ",".join(str(g) for g in goids) or "-"

    steps = re.search(r" steps=(\d+)", last["schedtrace"]["text"])
    if not steps:
        sys.exit("schedtrace without a step count: %r" % last["schedtrace"]["text"])
    out = ["steps=" + steps.group(1)]
    for p in last["ps"]["ps"]:
        out.append("p%d:tick=%d:gfree=%d:next=%d ring=%s" %
                   (p["p"], p["schedtick"], p["gfree"], p["runnext"], ids(p["runq"])))
    runq = last["dump runq"]
    out.append("global=%s global_len=%d" % (ids(runq["global"]), runq["global_len"]))
    for g in sorted(last["gs"]["gs"], key=lambda g: g["g"]):
        status = g["status"] + ("/" + g["wait"] if g["wait"] else "")
        out.append("g%d=%s" % (g["g"], status))
    print(" ".join(out))


main()

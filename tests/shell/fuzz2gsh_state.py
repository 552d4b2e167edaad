#!/usr/bin/env python3
"""fuzz2gsh_state.py — reads gortsh --json output on stdin and prints the
spans of its last `dump spans` in the form of the fuzz harnesses' `# state:`
comment: base/pages/class/nalloc per span, base/pages/free per free run
(released or not). Used by test_fuzz2gsh.sh."""
import json
import sys

last = None
for line in sys.stdin:
    obj = json.loads(line)
    if obj.get("cmd") == "dump spans":
        last = obj
if last is None:
    sys.exit("no dump spans in the output")
out = []
for sp in last["spans"]:
    base = int(sp["base"], 16)
    if sp["kind"] in ("free", "released"):
        out.append("%#x/%d/free" % (base, sp["pages"]))
    else:
        out.append("%#x/%d/%d/%d" % (base, sp["pages"], sp["class"], sp["nalloc"]))
print(" ".join(out))

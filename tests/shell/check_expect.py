#!/usr/bin/env python3
"""check_expect.py — the `# expect:` lines of a gortsh script against what
it printed (test_tour.sh, test_docs.sh).

  check_expect.py SCRIPT OUTPUT

SCRIPT holds one command per line (blocks may span lines); a line
`# expect: REGEX` under a command says what that command's output shows: a
Python regular expression, searched in that command's output alone (^ and $
match at line ends). OUTPUT is `gortsh --echo --keep-going SCRIPT 2>&1`:
each command echoed as `> CMD` before its output. Prints one line per
expectation that fails, the command and its output, and the count; exit
status 1 if any failed (or if the script has none).
"""
import re
import sys


def commands_with_expects(path):
    """[(command text, [regex, ...])] in order, one per command."""
    cmds, depth = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"\s*# expect: (.*)$", line)
            if m:
                if not cmds:
                    sys.exit(f"{path}: an expect line before any command")
                cmds[-1][1].append(m.group(1))
                continue
            code = line.split("#", 1)[0] if '"' not in line else line
            if depth == 0 and code.strip() and not code.lstrip().startswith("#"):
                cmds.append([line.strip(), []])
            depth += code.count("{") - code.count("}")
    return cmds


def outputs(path):
    """The output of each echoed command, in order."""
    chunks = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if re.match(r"> [^ ]", line):
                chunks.append("")
            elif chunks:
                chunks[-1] += line
    return chunks


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    cmds, outs = commands_with_expects(sys.argv[1]), outputs(sys.argv[2])
    if len(cmds) != len(outs):
        print(f"{len(cmds)} commands in {sys.argv[1]}, {len(outs)} echoed in the output")
        return 1
    failed = checked = 0
    for (cmd, expects), out in zip(cmds, outs):
        for rx in expects:
            checked += 1
            if not re.search(rx, out, re.M):
                failed += 1
                print(f"`{cmd}`: no match for /{rx}/ in its output:")
                for line in out.splitlines()[:12]:
                    print("    " + line)
    if checked == 0:
        print(f"{sys.argv[1]} has no expect line")
        return 1
    print(f"{checked - failed} of {checked} expectations hold")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

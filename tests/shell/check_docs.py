#!/usr/bin/env python3
"""check_docs.py — runs the examples of the Markdown files and compares
their output with what the file shows.

Usage: check_docs.py BUILD_DIR FILE.md...

Every fenced block must say what it is, after the opening ``` (a block
without a kind fails, so no example is left unchecked by accident):

  gortsh   a gortsh session. An optional first line `$ build/gortsh ARGS`
           gives the options. Lines starting `gortsh> ` are typed, each
           with the `...> ` lines under it (a block over several lines);
           every other line is the output expected of the line above it.
           The session runs as a batch with --keep-going; errors are
           compared without their `FILE:LINE: ` prefix.
  console  shell commands: lines starting `$ ` run with bash from the
           repository's root (`build/` and `$PWD/build/` mean BUILD_DIR),
           the other lines are their expected output (standard output and
           error). A `$ make TARGET` line is not run but its target must
           exist (the test runs on a tree already built).
  sh       commands shown without output: `make TARGET` must name a
           target of the Makefile (`make demo` and `make test` are run by
           the tour test and the runner themselves); any other line runs
           with bash in a folder holding app.c, the file's C program.
  c        C: a block with main() is a whole program (app.c), compiled
           against BUILD_DIR's libgort.a and run, which must exit 0; a
           block without main() is an excerpt and is not run.
  text     diagrams, line formats, excerpts of files: nothing to run.

The environment for console and sh lines: GORTSH=BUILD_DIR/gortsh, and a
PKG_CONFIG_PATH / LD_LIBRARY_PATH of GORT_STAGE (a staged `make install`)
when the caller sets it.

Output: one `ok - FILE:LINE (KIND)` or `not ok - FILE:LINE (KIND)` line per
block run, a failure's diff on standard error; exit status 1 if any failed.
"""

import difflib
import os
import re
import subprocess
import sys
import tempfile

KINDS = {"gortsh", "console", "sh", "c", "text"}
MARK = "@@docs-mark@@"
TIMEOUT = 60


def blocks(path):
    """Yields (line number, kind, [lines]) for every fenced block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(.*)$", lines[i])
        if not m:
            i += 1
            continue
        start, kind, body = i + 1, m.group(1).strip(), []
        i += 1
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        i += 1
        yield start, kind, body


def session_units(body):
    """Splits a gortsh block into (args, [(input lines, expected lines)])."""
    args = []
    if body and body[0].startswith("$ "):
        words = body[0][2:].split()
        args = words[1:]
        body = body[1:]
    units = []
    for line in body:
        if line.startswith("gortsh> "):
            units.append(([line[len("gortsh> "):]], []))
        elif line.startswith("...> ") and units and not units[-1][1]:
            units[-1][0].append(line[len("...> "):])
        elif units:
            units[-1][1].append(line)
        else:
            raise ValueError("output before the first gortsh> line: " + line)
    return args, units


def run_session(build, body):
    """Returns (expected, got) for a gortsh block."""
    args, units = session_units(body)
    script = []
    for inputs, _ in units:
        script.extend(inputs)
        script.append("echo " + MARK)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "TERM": "dumb",
           "HOME": tempfile.gettempdir()}
    p = subprocess.run([os.path.join(build, "gortsh"), "--norc", "--keep-going"] + args + ["-"],
                       input="\n".join(script) + "\n", capture_output=False, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, env=env, timeout=TIMEOUT)
    outs = p.stdout.split(MARK + "\n")
    expected, got = [], []
    for n, (inputs, want) in enumerate(units):
        shown = ["gortsh> " + inputs[0]] + ["...> " + s for s in inputs[1:]]
        expected += shown + want
        out = outs[n] if n < len(outs) else ""
        out = re.sub(r"(?m)^<stdin>:\d+: ", "", out)
        got += shown + out.split("\n")[:-1]
    return expected, got


def shell_env(build):
    env = dict(os.environ, LC_ALL="C", GORTSH=os.path.join(build, "gortsh"))
    stage = os.environ.get("GORT_STAGE")
    if stage:
        env["PKG_CONFIG_PATH"] = os.path.join(stage, "lib", "pkgconfig")
        env["LD_LIBRARY_PATH"] = os.path.join(stage, "lib")
    return env


def in_build(build, command):
    """`build/` and `$PWD/build/` in a command name the build folder under test."""
    return re.sub(r"(\$PWD/|(?<![\w/.$]))build/", build.rstrip("/") + "/", command)


def run_console(build, root, body):
    expected, got = [], []
    env = shell_env(build)
    targets = make_targets(root)
    for line in body:
        if not line.startswith("$ "):
            expected.append(line)
            continue
        expected.append(line)
        got.append(line)
        if line.startswith("$ make"):
            got += missing_targets(line, targets)
            continue
        p = subprocess.run(["bash", "-c", in_build(build, line[2:])], cwd=root, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=TIMEOUT)
        got += p.stdout.split("\n")[:-1]
    return expected, got


def make_targets(root):
    with open(os.path.join(root, "Makefile"), encoding="utf-8") as f:
        return set(re.findall(r"(?m)^([\w-]+):", f.read()))


def missing_targets(line, targets):
    """A `make` line is not run (the test runs on a built tree): its targets must exist."""
    words = line.lstrip("$ ").split()
    missing = [w for w in words[1:] if not w.startswith("-") and "=" not in w and w not in targets]
    return [f"{line}: no such make target: {' '.join(missing)}"] if missing else []


def run_sh(build, root, body, program):
    """Returns a list of problems (empty: every line ran or names a target)."""
    problems = []
    targets = make_targets(root)
    with tempfile.TemporaryDirectory() as d:
        if program:
            with open(os.path.join(d, "app.c"), "w", encoding="utf-8") as f:
                f.write(program)
        for line in body:
            cmd = line.split("#")[0].strip()
            if not cmd:
                continue
            if cmd.split()[0] == "make":
                problems += missing_targets(cmd, targets)
                continue
            p = subprocess.run(["bash", "-c", in_build(build, cmd)], cwd=d, env=shell_env(build),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=TIMEOUT)
            if p.returncode != 0:
                problems.append(f"{line}: exit status {p.returncode}: {p.stdout.strip()}")
    return problems


def run_c(build, root, program):
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "app.c"), os.path.join(d, "app")
        with open(src, "w", encoding="utf-8") as f:
            f.write(program)
        p = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Werror", "-I" + os.path.join(root, "lib/include"),
                            src, os.path.join(build, "libgort.a"), "-pthread", "-o", exe],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
        if p.returncode != 0:
            return ["does not compile:"] + p.stdout.split("\n")
        p = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=TIMEOUT)
        if p.returncode != 0:
            return [f"exit status {p.returncode}:"] + p.stdout.split("\n")
    return []


def main():
    build, files = os.path.abspath(sys.argv[1]), sys.argv[2:]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    n = bad = 0
    for path in files:
        found = list(blocks(path))
        program = next(("\n".join(b) + "\n" for _, k, b in found if k == "c" and "main(" in "\n".join(b)),
                       None)
        for start, kind, body in found:
            where = f"{os.path.relpath(path, root)}:{start}"
            problems = []
            if kind not in KINDS:
                problems = [f"a fenced block must say its kind ({', '.join(sorted(KINDS))}); it says '{kind}'"]
            elif kind == "text" or (kind == "c" and "main(" not in "\n".join(body)):
                continue
            elif kind in ("gortsh", "console"):
                try:
                    if kind == "gortsh":
                        expected, got = run_session(build, body)
                    else:
                        expected, got = run_console(build, root, body)
                except (ValueError, subprocess.TimeoutExpired) as e:
                    expected, got = [], [str(e)]
                if expected != got:
                    problems = list(difflib.unified_diff(expected, got, "the file shows", "the run gives",
                                                         lineterm=""))
            elif kind == "sh":
                problems = run_sh(build, root, body, program)
            else:
                problems = run_c(build, root, "\n".join(body) + "\n")
            n += 1
            if problems:
                bad += 1
                print(f"not ok - {where} ({kind})")
                for line in problems[:60]:
                    print("#   " + line, file=sys.stderr)
            else:
                print(f"ok - {where} ({kind})")
    print(f"# {n - bad} of {n} examples match", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

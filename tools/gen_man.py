#!/usr/bin/python3
"""Man page generator: one source of truth for --help and the man pages (issue 10 item 2).

    gen_man.py --bin BUILT_DICOMVEIL --changelog CHANGELOG.md --out PAGE TEMPLATE.in

TEMPLATE (docs/man/<page>.in) is roff written by hand for what --help does not say (NAME, examples, files, see
also). Its first line is a directive naming the help text the page is built around:
    .\\" help: deidentify        the output of `dicomveil deidentify --help`
    .\\" help: -                 the global part of `dicomveil --help` (up to the first command's own Usage)
    .\\" help: none              no help text (dicomveil-config(5))
The line `@HELP@` is replaced by that help text turned into roff; `@VERSION@` and `@DATE@` (the date of the
newest release in CHANGELOG.md, so a page is the same whenever it is built) are substituted anywhere.

The conversion keeps every word of the help text in order (tests/integration/test_man_pages.py checks that,
and that every option a page names exists in --help): "Usage:" lines become SYNOPSIS; a line at column 0 like
"Options (...):" or "Exit status: ..." starts a section; text at column 0 is filled, indented text (option
tables) is kept as it is laid out.
"""
import argparse
import os
import re
import subprocess
import sys

HEADING = re.compile(r"^([A-Z][A-Za-z]*(?: [a-z][A-Za-z]*){0,2})(?: (\([^)]*\)))?:(?:\s+(.*))?$")


def roff_escape(text):
    """Plain text as roff text: backslashes, dashes, quotes and the characters groff would typeset differently
    written as the ASCII glyphs, and a leading control character neutralised."""
    out = (text.replace("\\", "\\e").replace("-", "\\-").replace("'", "\\(aq").replace("`", "\\(ga")
           .replace("^", "\\(ha").replace("~", "\\(ti"))
    if out.startswith(".") or out.startswith("'"):
        out = "\\&" + out
    return out


def help_to_roff(lines):
    """The help text's lines (no trailing newlines) as roff."""
    out = []
    mode = None  # "fill" or "nf"

    def set_mode(m):
        nonlocal mode
        if m == mode:
            return
        if mode == "nf":
            out.append(".fi")
        if m == "nf":
            out.append(".nf")
        mode = m

    dedent = 2  # the help text indents its tables by 2; the page's own margin replaces that
    i = 0
    if lines and lines[0].startswith("Usage:"):
        out.append(".SH SYNOPSIS")
        set_mode("nf")
        while i < len(lines) and lines[i].strip():
            ln = lines[i]
            ln = ln[len("Usage: "):] if ln.startswith("Usage: ") else ln.lstrip()
            out.append(roff_escape(ln))
            i += 1
        set_mode(None)
        out.append(".SH DESCRIPTION")
    for ln in lines[i:]:
        m = HEADING.match(ln)
        if m and not ln.startswith(" "):
            set_mode(None)
            out.append(".SH " + m.group(1).upper())
            dedent = 2
            if m.group(2):
                out.append(roff_escape(m.group(2)))
            if m.group(3):
                # "Exit status: 0 ..." keeps its continuation lines' alignment relative to its first line.
                set_mode("nf")
                dedent = len(ln) - len(m.group(3))
                out.append(roff_escape(m.group(3)))
            continue
        if not ln.strip():
            if mode == "nf":
                out.append("")
            else:
                set_mode(None)
                out.append(".PP")
            continue
        if ln.startswith(" "):
            set_mode("nf")
            ln = ln[min(dedent, len(ln) - len(ln.lstrip(" "))):]
        else:
            set_mode("fill")
        out.append(roff_escape(ln))
    set_mode(None)
    while out and out[-1] == ".PP":
        out.pop()
    return out


def help_text(binary, which):
    if which == "none":
        return None
    args = [binary, "--help"] if which == "-" else [binary, which, "--help"]
    text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    lines = text.rstrip("\n").split("\n")
    if which == "-":
        # The global help repeats every command's help after its own part: each command has its own page.
        for k in range(1, len(lines)):
            if lines[k].startswith("Usage: dicomveil ") and not lines[k - 1].strip():
                lines = lines[:k - 1]
                break
        # What "(see below)" points at in --help is on the command's own page here.
        lines = [re.sub(r"^(  ([a-z]+) .*)\(see below\)$", r"\1(dicomveil-\2(1))", ln) for ln in lines]
    return lines


def release_date(changelog):
    with open(changelog, encoding="utf-8") as f:
        for ln in f:
            m = re.match(r"^## \[[0-9.]+\] - (\d{4}-\d\d-\d\d)", ln)
            if m:
                return m.group(1)
    sys.exit(f"gen_man: no '## [X.Y.Z] - YYYY-MM-DD' release line in {changelog}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--changelog", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("template")
    a = ap.parse_args()
    with open(a.template, encoding="utf-8") as f:
        tmpl = f.read().split("\n")
    m = re.match(r'^\.\\" help: (\S+)$', tmpl[0])
    if not m:
        sys.exit(f"gen_man: {a.template}: the first line must be .\\\" help: COMMAND|-|none")
    help_lines = help_text(a.bin, m.group(1))
    version = subprocess.run([a.bin, "--version"], check=True, capture_output=True,
                             text=True).stdout.split("\n")[0].split()[-1]
    date = release_date(a.changelog)
    out = []
    for ln in tmpl:
        if ln == "@HELP@":
            if help_lines is None:
                sys.exit(f"gen_man: {a.template} has @HELP@ but names no help text")
            out.extend(help_to_roff(help_lines))
        else:
            out.append(ln.replace("@VERSION@", version).replace("@DATE@", date))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()

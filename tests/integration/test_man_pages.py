#!/usr/bin/python3
"""Man pages and --help cannot drift (issue 10 item 2; docs/decisions.md "Man pages").

The pages in $DV_BUILD_DIR/man are generated at build time by tools/gen_man.py from the built binary's --help
and docs/man/<page>.in. For every page, rendered by `man -l`:
  - no groff warning, and the NAME section and version are there;
  - every word of the --help text the page is built around appears in the page, in order ("help words in
    order": nothing dropped, reworded or stale);
  - no "see below" left from `dicomveil --help`, whose commands' parts are pages of their own;
  - every --option the page names (hand-written sections included) is an option of the command's --help
    ("options exist"), except the few options of other programs its examples run;
  - dicomveil-config(5) names every field and enum value the config parser accepts (read from the parser's key
    tables and enum strings in src/config/config_json.c: "config page complete").
Env (set by ctest): DV_BIN, DV_BUILD_DIR, DV_SOURCE_DIR.
"""
import glob
import os
import re
import subprocess
import sys

SRC = os.environ["DV_SOURCE_DIR"]
BUILD = os.environ["DV_BUILD_DIR"]
BIN = os.environ["DV_BIN"]
sys.path.insert(0, os.path.join(SRC, "tools"))
import gen_man  # noqa: E402  (the generator's own help_text: the same cut of the global help)

# Options of other programs in the pages' examples (systemctl enable --now).
FOREIGN_OPTIONS = {"--now"}
fails = []


def fail(msg):
    print("FAIL: " + msg)
    fails.append(msg)


def render(page):
    env = dict(os.environ, MANWIDTH="250")
    r = subprocess.run(["man", "--warnings", "-E", "ascii", "-l", page], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        fail(f"{os.path.basename(page)}: man -l exits {r.returncode}")
    if r.stderr.strip():
        fail(f"{os.path.basename(page)}: groff warns: {r.stderr.strip()[:300]}")
    # Drop overstrike (bold/underline) sequences as col -b does.
    return re.sub(r".\x08", "", r.stdout)


def words(text):
    """Tokens compared between --help and the page: case-folded, a heading's trailing colon dropped."""
    return [w.rstrip(":").lower() for w in text.split() if w != "Usage:"]


def in_order(needles, hay):
    """The index in needles of the first word not found in order in hay, or None."""
    it = iter(hay)
    for i, w in enumerate(needles):
        if not any(w == h for h in it):
            return i
    return None


pages = sorted(glob.glob(os.path.join(BUILD, "man", "*.[0-9]")))
names = sorted(os.path.basename(p) for p in pages)
want = ["dicomveil-config.5", "dicomveil-deidentify.1", "dicomveil-inspect.1", "dicomveil-render.1",
        "dicomveil-serve.1", "dicomveil.1"]
if names != want:
    fail(f"generated pages are {names}, expected {want}")
version = subprocess.run([BIN, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
# The whole `dicomveil --help` (every command's options): what dicomveil(1)'s examples may use.
global_help = subprocess.run([BIN, "--help"], capture_output=True, text=True, check=True).stdout

for page in pages:
    name = os.path.basename(page)
    with open(os.path.join(SRC, "docs", "man", name + ".in"), encoding="utf-8") as f:
        which = re.match(r'^\.\\" help: (\S+)$', f.readline()).group(1)
    text = render(page)
    if not re.search(r"^NAME$", text, re.M):
        fail(f"{name}: no NAME section")
    if f"dicomveil {version}" not in text:
        fail(f"{name}: does not name dicomveil {version}")
    if which == "none":
        continue
    help_lines = gen_man.help_text(BIN, which)
    # dicomveil(1) carries the global part of `dicomveil --help` alone: its "(see below)" would point at
    # nothing (the commands' options are on their own pages, which it must name instead).
    if "see below" in text.lower():
        fail(f"{name}: says 'see below', but nothing of that help follows on this page")
    hw, pw = words("\n".join(help_lines)), words(text)
    miss = in_order(hw, pw)
    if miss is not None:
        fail(f"{name}: help words in order: '{' '.join(hw[max(0, miss - 5):miss + 3])}' "
             f"(word {miss} '{hw[miss]}' missing after its predecessors)")
    # Options the page names must exist: in the command's --help, or (examples) in the whole `dicomveil --help`.
    known = set(re.findall(r"--[a-z][a-z-]*", "\n".join(help_lines))) | set(re.findall(r"--[a-z][a-z-]*", global_help))
    for opt in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text)) - known - FOREIGN_OPTIONS):
        fail(f"{name}: options exist: the page names {opt}, which `dicomveil {which} --help` does not have")

# dicomveil-config(5) is complete: every key of the parser's key tables and every enum value it accepts.
cfg_page = os.path.join(BUILD, "man", "dicomveil-config.5")
if os.path.exists(cfg_page):
    text = render(cfg_page)
    with open(os.path.join(SRC, "src", "config", "config_json.c"), encoding="utf-8") as f:
        parser = f.read()
    names_ = set()
    for block in re.findall(r"(?:keys|KEYS)\[\] = \{([^}]*)\}", parser):
        names_ |= set(re.findall(r'"([A-Za-z]+)"', block))
    for block in re.findall(r"enum_entry [A-Z_]+\[\] = \{(.*?)\n\};", parser, re.S):
        names_ |= set(re.findall(r'\{"([A-Z_]+)"', block))
    if len(names_) < 40:
        fail(f"config page complete: only {len(names_)} names read from config_json.c (its tables moved?)")
    for n in sorted(names_):
        if not re.search(r"(?<![A-Za-z_])" + re.escape(n) + r"(?![A-Za-z_])", text):
            fail(f"config page complete: dicomveil-config(5) does not name {n}")

print(f"test_man_pages: {len(pages)} pages, {'FAIL' if fails else 'PASS'}")
sys.exit(1 if fails else 0)

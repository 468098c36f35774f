#!/usr/bin/python3
"""The user documentation names only files, folders and sections that exist.

Pages: README.md, docs/*.md but docs/decisions.md (test_decisions_named.py checks its own references), and the
man page sources docs/man/*.in. For each page:
  - "link": every relative Markdown link `[text](path)` resolves, from the page's folder;
  - "path": every repository path the text names (src/..., include/..., console/..., packaging/..., tests/...,
    tools/..., bench/..., docs/...) exists as written, from the repository root or the page's folder. A path
    with a placeholder or a glob (`<n>`, `{uid}`, `*`, `…`) names a pattern, not a file, and is not checked;
  - "section": a section quoted after a page (`docs/server.md "PostgreSQL"`, `README "Install"`,
    `bench/RESULTS.md "Start-up"`) appears in that page (a heading, or its text for bold run-in titles).
Paths under build/ are build outputs and are not checked. Reports every miss with its page and line.

Env (set by ctest): DV_SOURCE_DIR. Run with /usr/bin/python3.
"""
import glob
import os
import re
import sys

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROOTS = ("src", "include", "console", "packaging", "tests", "tools", "bench", "docs")
PATH_RE = re.compile(r"(?<![\w/.~-])((?:%s)/[A-Za-z0-9_./-]*[A-Za-z0-9_])(?![A-Za-z0-9_*<{…-])" % "|".join(ROOTS))
LINK_RE = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
SECTION_RE = re.compile(r"((?:docs|bench)/[A-Za-z0-9_.-]+\.md|README(?:\.md)?)\)?\s+\"([^\"]+)\"")
PATTERN_CHARS = set("<>{}*…")


def pages():
    out = [os.path.join(SRC_DIR, "README.md")]
    out += sorted(p for p in glob.glob(os.path.join(SRC_DIR, "docs", "*.md")) if not p.endswith("decisions.md"))
    out += sorted(glob.glob(os.path.join(SRC_DIR, "docs", "man", "*.in")))
    return out


def exists(page, rel):
    return any(os.path.exists(os.path.normpath(os.path.join(base, rel)))
               for base in (SRC_DIR, os.path.dirname(page)))


FLAT = {}


def flat_text(path):
    """The page as one line, without Markdown's code and emphasis marks (a title is quoted without them)."""
    if path not in FLAT:
        FLAT[path] = re.sub(r"\s+", " ", open(path, encoding="utf-8").read().replace("`", "").replace("*", ""))
    return FLAT[path]


def section_found(path, section):
    """The section's words in the page: a heading, a bold run-in title or a table caption."""
    return section.replace("`", "") in flat_text(path)


COUNTS = {"link": 0, "path": 0, "section": 0}


def check_page(page, misses):
    text = open(page, encoding="utf-8").read()
    name = os.path.relpath(page, SRC_DIR)
    for no, line in enumerate(text.splitlines(), 1):
        for m in LINK_RE.finditer(line):
            rel = m.group(1)
            if "://" in rel or rel.startswith("mailto:"):
                continue
            COUNTS["link"] += 1
            if not os.path.exists(os.path.normpath(os.path.join(os.path.dirname(page), rel))):
                misses.append(f"{name}:{no}: link: {rel}")
        for m in PATH_RE.finditer(line):
            rel = m.group(1)
            tail = line[m.end():m.end() + 1]
            if PATTERN_CHARS & set(rel) or tail in PATTERN_CHARS:
                continue
            COUNTS["path"] += 1
            if not exists(page, rel):
                misses.append(f"{name}:{no}: path: {rel}")
    # Sections are quoted across line breaks: read the page as one line.
    flat = re.sub(r"\s+", " ", text)
    for m in SECTION_RE.finditer(flat):
        target = m.group(1)
        target = "README.md" if target.startswith("README") else target
        COUNTS["section"] += 1
        path = os.path.join(SRC_DIR, target)
        if not os.path.exists(path):
            misses.append(f"{name}: section: {target} does not exist")
        elif not section_found(path, m.group(2)):
            misses.append(f"{name}: section: {target} \"{m.group(2)}\" not found")


def main():
    misses = []
    checked = pages()
    for page in checked:
        check_page(page, misses)
    for miss in misses:
        print("FAIL:", miss, file=sys.stderr)
    print(f"test_doc_paths: {len(checked)} pages, {COUNTS['link']} links, {COUNTS['path']} paths, "
          f"{COUNTS['section']} quoted sections; {len(misses)} missing")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers of the table generators in tools/ (gen_tables.py, gen_iod_tables.py, the Unihan ones): one home
for how a generated file is written, so every generator's --check mode (the currency tests) behaves the same, and
for how Unihan's rows are read."""
import bz2
import os
import re
import sys


def write_if_changed(tool, path, text, check):
    """Write text to path atomically unless it already holds exactly that. With check, write nothing and
    report the file as out of date on stderr. Returns True when the file was (or would be) changed."""
    old = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
    if old == text:
        return False
    if check:
        print("%s: %s is out of date" % (tool, path), file=sys.stderr)
        return True
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)
    print("%s: wrote %s" % (tool, path))
    return True


UNIHAN_CP_RE = re.compile(r"^U\+([0-9A-F]{4,6})$")


def unihan_cp(tool, text, lineno):
    """The code point of Unihan's `U+XXXX` text; anything else (or a surrogate, or past U+10FFFF) exits 1."""
    m = UNIHAN_CP_RE.match(text)
    if not m:
        fail(tool, "line %d: %r is not a code point (U+XXXX)" % (lineno, text))
    cp = int(m.group(1), 16)
    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        fail(tool, "line %d: %r is no Unicode scalar value" % (lineno, text))
    return cp


def read_unihan_fields(tool, path, fields):
    """The rows of a Unihan database file (.bz2 or plain text) whose field is one of fields, as
    ({field: [(lineno, code point, value)]}, the Unicode version of its header), in file order. One home for the
    generators that read Unihan (gen_han_variants.py, gen_pinyin.py, gen_hanja.py): a row that is not three
    tab-separated columns, a code point given twice for one field, or a file without its '# Unicode version:' line
    exits 1 with a message naming the line."""
    opener = bz2.open if path.endswith(".bz2") else open
    rows = {f: [] for f in fields}
    seen = {f: set() for f in fields}
    version = None
    with opener(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                m = re.match(r"#\s*Unicode version:\s*(\S+)", line)
                if m:
                    version = m.group(1)
                continue
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != 3:
                fail(tool, "line %d: expected 3 tab-separated columns" % lineno)
            if cols[1] not in rows:
                continue
            cp = unihan_cp(tool, cols[0], lineno)
            if cp in seen[cols[1]]:
                fail(tool, "line %d: U+%04X %s given twice" % (lineno, cp, cols[1]))
            seen[cols[1]].add(cp)
            rows[cols[1]].append((lineno, cp, cols[2]))
    if version is None:
        fail(tool, "%s: no '# Unicode version:' line" % path)
    return rows, version


def fail(tool, msg):
    """A generator's hard error: the message on stderr, exit status 1."""
    print("%s: %s" % (tool, msg), file=sys.stderr)
    sys.exit(1)


def check_header_defines(tool, path, wants):
    """Each (NAME, value) of wants is `#define NAME <value>u` in the C header path (decimal or hex), as the generated
    table it sizes needs; else exit 1 asking for the header to be updated."""
    with open(path, encoding="utf-8") as f:
        h = f.read()
    for name, want in wants:
        m = re.search(r"#define %s (0x[0-9A-Fa-f]+|[0-9]+)u" % name, h)
        if not m or int(m.group(1), 0) != want:
            fail(tool, "%s: %s is not %d (the table's); update the header" % (path, name, want))

"""Shared helpers of the table generators in tools/ (gen_tables.py, gen_iod_tables.py): one home for how a
generated file is written, so every generator's --check mode (the currency tests) behaves the same."""
import os
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

#!/usr/bin/python3
"""Character sets over the real corpus: every text value (SH, LO, ST, LT, UC, UT, PN) of every shared corpus file
that has a SpecificCharacterSet (0008,0005) at any level decodes (src/dicom/charset_*.c, through the test helper
tests/helpers/dv_charset_dump.c, one process for every file, with inheritance into sequence items) to the text
pydicom decodes, and encodes back to its original bytes.

Checks:
  decode-equals-pydicom   each value our helper and pydicom both see, compared after the padding rules below;
                          the pinned pydicom deviations (PYDICOM_WRONG) compare with our pinned text instead
  reencode-identical      each value decoded without DV_CS_REPLACED/DV_CS_LENIENT encodes back byte-identical
  lenient-pinned          each value decoded with a flag is one of FLAGGED (file, path, flags): no surprise
  pydicom-paths-seen      each pydicom text value (standard tags) is also seen by the helper
  files-with-charset      at least the character-set files of pydicom and orthanc-tests were found
Padding rules (pydicom's, not ours): trailing spaces/NULs of each value are dropped, leading spaces of
multi-valued VRs' values too, and trailing empty '=' groups of PN (pydicom's PersonName drops them).

Env (set by ctest): DV_SHARED_DATA, DV_BUILD_DIR. Run with /usr/bin/python3.
"""
import json
import os
import subprocess
import sys
import warnings

import pydicom

import dvcheck  # tests/integration/dvcheck.py

warnings.simplefilter("ignore")
# Read UN as UN, as the engine does: the helper decodes by the stored VR.
pydicom.config.replace_un_with_known_vr = False

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data")
BUILD = os.environ.get("DV_BUILD_DIR") or os.path.join(SRC_DIR, "build")
HELPER = os.path.join(BUILD, "tests", "dv_charset_dump")
TEXT_VRS = {"SH", "LO", "ST", "LT", "UC", "UT", "PN"}
MULTI_VRS = {"SH", "LO", "UC", "PN"}

# pydicom 2.3 does not know ISO 2022 IR 58's escape sequence (ESC $ ) A) and leaves it in the text; PS3.5
# Annex K gives the text below.
PYDICOM_WRONG = {
    ("fo-dicom/chrGB2312.dcm", "00100010"): "Zhang^XiaoDong=张^小东",
}
# Values outside their declared set, decoded leniently (flag 2 = DV_CS_LENIENT): pinned so a new one fails.
FLAGGED = {
    # ISO_IR 13 holding Shift-JIS kanji (Cyrillic/Greek from JIS X 0208): read, cannot be written back.
    ("orthanc-tests/Encodings_Lena-shift-jis.dcm", "00100010"): 2,
}


def norm(text, vr):
    if vr in MULTI_VRS:
        vals = [v.strip(" \0") for v in text.split("\\")]
        if vr == "PN":
            vals = [v.rstrip("=") for v in vals]
        return "\\".join(vals).rstrip("\\")
    return text.rstrip(" \0")


def pydicom_values(ds, prefix, out, in_private=False):
    """path -> (VR, text, must_be_seen). Values inside private sequences are compared when the helper sees
    them, not required (the reader may keep a private sequence as UN bytes)."""
    for tag_ in list(ds.keys()):
        raw_vr = getattr(ds.get_item(tag_), "VR", None)
        el = ds[tag_]
        tag = f"{el.tag.group:04X}{el.tag.element:04X}"
        if el.VR == "SQ":
            for k, item in enumerate(el.value or []):
                pydicom_values(item, f"{prefix}{tag}[{k}].", out, in_private or el.tag.is_private)
        elif el.VR in TEXT_VRS and not el.tag.is_private:
            v = el.value
            if v is None:
                s = ""
            elif isinstance(v, (list, pydicom.multival.MultiValue)):
                s = "\\".join(str(x) for x in v)
            else:
                s = str(v)
            out[prefix + tag] = (el.VR, s, raw_vr != "UN" and not in_private)


def has_charset(ds):
    if "SpecificCharacterSet" in ds:
        return True
    for el in ds:
        if el.VR == "SQ":
            for item in el.value or []:
                if has_charset(item):
                    return True
    return False


def helper_dumps(root, rels):
    """(rel -> (exit status, stderr line, value objects), trouble) of dv_charset_dump for each file, from one
    helper process (its --batch form: an ASan build starts once, not once per file). A file the helper never
    finished (it died) is missing; trouble is its own exit status and stderr (a sanitizer report) when either
    is not clean, else None."""
    r = subprocess.run([HELPER, "--batch"] + [os.path.join(root, rel) for rel in rels], capture_output=True)
    out, lines = {}, []
    for line in r.stdout.decode().splitlines():
        try:
            o = json.loads(line)
        except ValueError:  # a line cut short by a crash
            break
        if "done" not in o:
            lines.append(o)
            continue
        out[rels[o["done"]]] = (o["rc"], bytes.fromhex(o["error"]).decode(errors="replace"), lines)
        lines = []
    trouble = None
    if r.returncode != 0 or r.stderr:
        trouble = f"exit {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}"
    return out, trouble


def main():
    if not os.access(HELPER, os.X_OK):
        print(f"test_charset_corpus: helper {HELPER} not built")
        return 1
    root = os.path.join(SHARED, "dicom")
    c = dvcheck.Checks()
    files = []
    for d, _, names in os.walk(root):
        for n in sorted(names):
            p = os.path.join(d, n)
            try:
                ds = pydicom.dcmread(p, stop_before_pixels=True)
                if has_charset(ds):
                    files.append((os.path.relpath(p, root), ds))
            except Exception:
                continue
    files.sort(key=lambda f: f[0])
    names = {f for f, _ in files}
    for must in ("pydicom/charset/chrH32.dcm", "pydicom/charset/chrI2.dcm", "pydicom/charset/chrX2.dcm",
                 "orthanc-tests/Encodings_Lena-tis-620.dcm", "fo-dicom/chrGB2312.dcm"):
        c.expect("files-with-charset", must in names, f"{must} not found or without (0008,0005)")

    wants = {}
    for rel, ds in files:
        want = {}
        try:
            pydicom_values(ds, "", want)
        except Exception as e:  # pydicom cannot decode: nothing to compare with
            c.info["pydicom-unreadable"].append(f"{rel}: {type(e).__name__}")
            continue
        wants[rel] = want
    dumps, trouble = helper_dumps(root, list(wants))
    c.expect("decode-equals-pydicom", trouble is None, f"the helper: {trouble}")
    for rel, want in wants.items():
        rc, err, lines = dumps.get(rel, (None, "no answer (the helper died)", []))
        if rc != 0:
            if rc == 1 and err.startswith("read failed"):
                continue  # dicomveil refuses the file (test_corpus.py pins those)
            c.bad("decode-equals-pydicom", f"{rel}: helper exit {rc}: {err[:200]!r}")
            continue
        ours = {}
        for o in lines:
            ours[o["path"]] = o
        for path, (vr, s, must) in want.items():
            if must:
                c.expect("pydicom-paths-seen", path in ours, f"{rel} {path} ({vr}) not seen by the helper")
        for path, o in ours.items():
            key = (rel, path)
            text = bytes.fromhex(o["utf8"]).decode("utf-8")
            if key in FLAGGED:
                c.expect("lenient-pinned", o["flags"] == FLAGGED[key], f"{rel} {path}: flags {o['flags']}")
            else:
                c.expect("lenient-pinned", o["flags"] == 0, f"{rel} {path}: unexpected flags {o['flags']}")
            if o["flags"] == 0:
                c.expect("reencode-identical", o["rt"] == "same", f"{rel} {path} ({o['cs']}): re-encode {o['rt']}")
            if path not in want:
                continue
            vr, s, _ = want[path]
            expected = PYDICOM_WRONG.get(key, s)
            c.expect("decode-equals-pydicom", norm(text, o["vr"]) == norm(expected, vr),
                     f"{rel} {path} {vr} [{o['cs']}]: ours {norm(text, o['vr'])!r} pydicom {norm(expected, vr)!r}")
    for key in list(PYDICOM_WRONG) + list(FLAGGED):
        c.expect("pins-not-stale", key[0] in names, f"pinned file {key[0]} is gone")
    print(f"test_charset_corpus: {len(files)} files with a SpecificCharacterSet")
    return c.report("test_charset_corpus",
                    ["decode-equals-pydicom", "reencode-identical", "lenient-pinned", "pydicom-paths-seen",
                     "files-with-charset"], 20)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The honest "plain pydicom" peer: PS3.15 Basic Application Level Confidentiality Profile over a folder.

    /usr/bin/python3 bench/pydicom_basic.py SRC_DIR DST_DIR [--key-file K] [--table CSV] [--jobs N]

What a competent pydicom user would write, doing the same work as `dicomveil deidentify` with config `{}`:
  * table-driven from PS3.15 Table E.1-1 (2025c CSV, column "Basic Prof."): X delete, Z empty,
    D dummy (text PLACEHOLDER, DA 19000101, TM 000000, DT 19000101000000, AS 000Y, IS/DS 0, binary 0,
    UI regenerated, SQ: every nested element reset, OB/OW/UN empty), U regenerate UID; composite codes fall
    back as in DECISIONS.md (X/Z->Z, X/D->D, Z/D->D, X/Z/D->D, X/Z/U*->U i.e. recurse);
  * applied at every nesting level; private elements deleted; attributes not in the table kept;
  * UIDs: "2.25." + decimal of the first 128 bits of HMAC-SHA256(key, uid) (hmac/hashlib), registry root
    1.2.840.10008.* kept; file meta MediaStorageSOPInstanceUID follows SOPInstanceUID;
  * markers (0012,0062) YES, (0012,0063), (0012,0064) 113100;
  * output DST/<study>/<series>/<sop>.dcm, an instance already written is counted as a duplicate;
  * pixel data is never decoded; elements are only converted when the table says they must change.
Exit 0 if every file succeeded, 1 otherwise; summary on stderr.
"""
import argparse
import csv
import hashlib
import hmac
import os
import sys
import time
from multiprocessing import Pool

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TABLE = os.path.join(os.environ.get("DV_SHARED_DATA", os.path.join(HERE, "..", "..", "shared", "data")),
                             "ps315", "bsc_2025c_dicom_part15_table_E1-1.csv")

TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}
BINARY_NUM = {"US": 0, "SS": 0, "UL": 0, "SL": 0, "FL": 0.0, "FD": 0.0, "SV": 0, "UV": 0}
FALLBACK = {"X/Z": "Z", "X/D": "D", "Z/D": "D", "X/Z/D": "D", "X/Z/U*": "U"}

EXACT = {}      # tag -> code
MASKED = []     # (value, mask, code)
KEY = b""


def load_table(path):
    exact, masked = {}, []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            code = row["Basic Prof."].strip()
            if not code:
                continue
            code = FALLBACK.get(code, code)
            t = row["Tag"].strip().strip("()").replace(" ", "")
            g, e = t.split(",")
            if "gggg" in g:
                continue  # private attributes: handled separately
            if "x" in g.lower() or "x" in e.lower():
                gv = int(g.lower().replace("x", "0"), 16)
                ev = int(e.lower().replace("x", "0"), 16)
                gm = 0xFF00 if "x" in g.lower() else 0xFFFF
                em = 0x0000 if e.lower() == "xxxx" else 0xFFFF
                masked.append(((gv << 16) | ev, (gm << 16) | em, code))
            else:
                exact[(int(g, 16) << 16) | int(e, 16)] = code
    return exact, masked


def code_of(tag):
    c = EXACT.get(tag)
    if c is not None:
        return c
    for v, m, c in MASKED:
        if tag & m == v:
            return c
    return None


def new_uid(uid):
    uid = uid.strip("\0 ")
    if not uid or uid.startswith("1.2.840.10008."):
        return uid
    return "2.25." + str(int.from_bytes(hmac.new(KEY, uid.encode(), hashlib.sha256).digest()[:16], "big"))


def regen(elem):
    v = elem.value
    if isinstance(v, (list, pydicom.multival.MultiValue)):
        elem.value = [new_uid(str(x)) for x in v]
    elif v:
        elem.value = new_uid(str(v))


def dummy(elem):
    vr = elem.VR
    if vr == "SQ":
        for item in elem.value:
            reset_all(item)
    elif vr in TEXT_VRS:
        elem.value = "PLACEHOLDER"
    elif vr == "DA":
        elem.value = "19000101"
    elif vr == "TM":
        elem.value = "000000"
    elif vr == "DT":
        elem.value = "19000101000000"
    elif vr == "AS":
        elem.value = "000Y"
    elif vr in ("IS", "DS"):
        elem.value = "0"
    elif vr in BINARY_NUM:
        elem.value = BINARY_NUM[vr]
    elif vr == "UI":
        regen(elem)
    else:  # OB, OW, OD, OF, OL, OV, UN, AT ...
        elem.value = b"" if vr != "AT" else None


def reset_all(ds):
    for tag in list(ds.keys()):
        if tag.is_private:
            del ds[tag]
        else:
            dummy(ds[tag])


def apply_profile(ds):
    for tag in list(ds.keys()):
        if tag.is_private:
            del ds[tag]
            continue
        code = code_of(int(tag))
        if code is None:                          # not in the table: keep, but recurse into sequences
            raw = ds.get_item(tag)
            if raw.VR == "SQ" or (raw.VR in (None, "UN") and _dict_vr(tag) == "SQ"):
                for item in ds[tag].value:
                    apply_profile(item)
            continue
        if code == "X":
            del ds[tag]
            continue
        elem = ds[tag]
        if code == "Z":
            elem.value = Sequence() if elem.VR == "SQ" else None
        elif code == "D":
            dummy(elem)
        elif code == "U":
            if elem.VR == "SQ":                   # X/Z/U*: recurse, regenerating UIDs
                for item in elem.value:
                    apply_profile(item)
            else:
                regen(elem)
        # K, C (not in the Basic column) -> keep


def _dict_vr(tag):
    try:
        return pydicom.datadict.dictionary_VR(tag)
    except KeyError:
        return None


def add_markers(ds):
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "pydicom_basic: PS3.15 Basic Profile (2025c)"
    it = Dataset()
    it.CodeValue = "113100"
    it.CodingSchemeDesignator = "DCM"
    it.CodeMeaning = "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = Sequence([it])


def one(args):
    src, dst_root = args
    try:
        ds = pydicom.dcmread(src, force=True)
        if "SOPInstanceUID" not in ds:
            raise ValueError("no SOPInstanceUID")
        apply_profile(ds)
        add_markers(ds)
        if getattr(ds, "file_meta", None) is not None and "MediaStorageSOPInstanceUID" in ds.file_meta:
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        st = str(ds.get("StudyInstanceUID", "nostudy"))
        se = str(ds.get("SeriesInstanceUID", "noseries"))
        d = os.path.join(dst_root, st, se)
        os.makedirs(d, exist_ok=True)
        out = os.path.join(d, str(ds.SOPInstanceUID) + ".dcm")
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return ("duplicate", src, "")
        with os.fdopen(fd, "wb") as f:
            ds.save_as(f)
        return ("ok", src, "")
    except Exception as e:  # noqa: BLE001 - a peer counts failures like dicomveil does
        return ("failed", src, f"{type(e).__name__}: {e}")


def init_worker(table, key):
    global EXACT, MASKED, KEY
    EXACT, MASKED = table
    KEY = key


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--key-file", help="raw key bytes (default: a fixed benchmark key)")
    ap.add_argument("--table", default=DEFAULT_TABLE)
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args()
    key = open(a.key_file, "rb").read() if a.key_file else b"dicomveil-benchmark-key-0123456789"
    table = load_table(a.table)  # in the parent: a bad path fails once, loudly
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.src) for f in fs)
    t0 = time.perf_counter()
    work = [(f, a.dst) for f in files]
    if a.jobs > 1:
        with Pool(a.jobs, initializer=init_worker, initargs=(table, key)) as p:
            res = p.map(one, work, chunksize=max(1, len(work) // (a.jobs * 8)))
    else:
        init_worker(table, key)
        res = [one(w) for w in work]
    dt = time.perf_counter() - t0
    counts = {}
    for st, src, err in res:
        counts[st] = counts.get(st, 0) + 1
        if st == "failed":
            print(f"failed: {src}: {err}", file=sys.stderr)
    print(f"pydicom_basic: {len(files)} files in {dt:.2f} s: " +
          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)
    sys.exit(1 if counts.get("failed") else 0)


if __name__ == "__main__":
    main()

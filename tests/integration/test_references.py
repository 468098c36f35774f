#!/usr/bin/python3
"""Reference integrity across a folder (issue 5 item 10; docs/decisions.md "UID families").

Builds, with pydicom, a folder of instances that reference each other's UIDs at several nesting depths:
  * 3 CT images (study 1, series A, frame of reference F1) and 2 MR images (study 2, series B, F2); the MR
    images reference CT images in ReferencedImageSequence (X/Z/U*, depth 1) and SourceImageSequence;
  * an SR-style instance: ContentSequence (Basic D) with ReferencedSOPSequence at depths 2 and 4,
    CurrentRequestedProcedureEvidenceSequence > ReferencedSeriesSequence > ReferencedSOPSequence (Study,
    Series and SOP references at depths 1-3), ReferencedFrameOfReferenceSequence with
    ReferencedFrameOfReferenceUID and FrameOfReferenceRelationshipSequence > RelatedFrameOfReferenceUID;
  * a presentation-state-style instance: ReferencedSeriesSequence > ReferencedImageSequence (depth 2) and
    GraphicAnnotationSequence (Basic D) > ReferencedImageSequence (depth 2), and StudiesContaining-
    OtherReferencedInstancesSequence naming the other study and series.
Runs `dicomveil deidentify` under
  (a) the Basic profile `{}`,
  (b) KEEP_ALL_PROFILE + primaryIds KEEP + regenUidTag on SOPInstanceUID (the guide's example),
  (c) the Basic profile + primaryIds KEEP,
and checks: every reference in every output (ReferencedSOPInstanceUID, Referenced/RelatedFrameOfReferenceUID,
nested Study/Series Instance UIDs) names a UID some output instance actually has (no dangling reference), and
each family behaves as documented: the reference equals what its target became (kept, or the HMAC UID).
Every check counts what it looked at and fails when it looked at nothing.

Env (set by ctest): DV_BIN, DV_SHARED_DATA, DV_SOURCE_DIR. Run with /usr/bin/python3.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

import dvcheck

warnings.simplefilter("ignore")

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DV_BIN = os.environ.get("DV_BIN") or os.path.join(SRC_DIR, "build", "dicomveil")

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
SR = "1.2.840.10008.5.1.4.1.1.88.33"
PR = "1.2.840.10008.5.1.4.1.1.11.1"
ROOT = "1.2.826.0.1.3680043.9.7777."  # a test root

KEY = bytes(range(7, 39))

SOP_REF = 0x00081155
FOR_REFS = (0x30060024, 0x300600C2)
STUDY, SERIES, SOP, FOR = 0x0020000D, 0x0020000E, 0x00080018, 0x00200052

CONFIGS = {
    "basic": {},
    "keepall_regen_sop": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "options": {"primaryIds": "KEEP"},
                                             "actions": [{"queries": ["SOPInstanceUID"], "regenUidTag": {}}]}},
    "basic_keep_ids": {"dicomTagConfig": {"options": {"primaryIds": "KEEP"}}},
}
# Per config: which families are regenerated (True) or kept (False), as docs/decisions.md documents.
REGEN = {
    "basic": {"sop": True, "study": True, "series": True, "for": True},
    "keepall_regen_sop": {"sop": True, "study": False, "series": False, "for": False},
    "basic_keep_ids": {"sop": False, "study": False, "series": False, "for": True},
}
FAMILY_OF = {SOP: "sop", SOP_REF: "sop", 0x00041511: "sop", STUDY: "study", SERIES: "series", FOR: "for",
             0x30060024: "for", 0x300600C2: "for"}
# Inside these sequences ReferencedSOPInstanceUID names a study (docs/decisions.md, families.c contexts).
STUDY_REF_PARENTS = (0x00081110, 0x30060012)


def family(tag, parent):
    if tag == SOP_REF and parent in STUDY_REF_PARENTS:
        return "study"
    return FAMILY_OF[tag]


def uid(n):
    return f"{ROOT}{n}"


def ref_item(cls, sop):
    it = Dataset()
    it.ReferencedSOPClassUID = cls
    it.ReferencedSOPInstanceUID = sop
    return it


def base(cls, sop, study, series, for_uid=None, modality="OT"):
    ds = Dataset()
    ds.SOPClassUID = cls
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    if for_uid:
        ds.FrameOfReferenceUID = for_uid
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "PID-REF-1"
    ds.Modality = modality
    return ds


def image(cls, sop, study, series, for_uid, modality):
    ds = base(cls, sop, study, series, for_uid, modality)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = b"\x01\x00\x02\x00\x03\x00\x04\x00"
    return ds


def save(ds, path, implicit=False):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = implicit
    ds.save_as(path, write_like_original=False)


def build(src):
    st1, st2 = uid("1"), uid("2")
    se_a, se_b, se_sr, se_pr = uid("1.1"), uid("2.1"), uid("1.8"), uid("1.9")
    f1, f2 = uid("1.50"), uid("2.50")
    a = [uid(f"1.1.{k}") for k in (1, 2, 3)]
    b = [uid(f"2.1.{k}") for k in (1, 2)]
    for k, sop in enumerate(a):
        save(image(CT, sop, st1, se_a, f1, "CT"), os.path.join(src, f"ct{k}.dcm"), implicit=(k == 2))
    for k, sop in enumerate(b):
        ds = image(MR, sop, st2, se_b, f2, "MR")
        ds.ReferencedImageSequence = Sequence([ref_item(CT, a[0])])
        ds.SourceImageSequence = Sequence([ref_item(CT, a[1 + k])])
        save(ds, os.path.join(src, f"mr{k}.dcm"))

    # SR-style
    sr = base(SR, uid("1.8.1"), st1, se_sr)
    leaf = Dataset()
    leaf.RelationshipType, leaf.ValueType = "CONTAINS", "IMAGE"
    leaf.ReferencedSOPSequence = Sequence([ref_item(CT, a[2])])
    inner = Dataset()
    inner.RelationshipType, inner.ValueType = "CONTAINS", "CONTAINER"
    inner.ContentSequence = Sequence([leaf])
    top = Dataset()
    top.RelationshipType, top.ValueType = "CONTAINS", "IMAGE"
    top.ReferencedSOPSequence = Sequence([ref_item(CT, a[0])])
    txt = Dataset()
    txt.RelationshipType, txt.ValueType, txt.TextValue = "CONTAINS", "TEXT", "Jane Doe's nodule"
    sr.ContentSequence = Sequence([top, inner, txt])
    ev_series = Dataset()
    ev_series.SeriesInstanceUID = se_a
    ev_series.ReferencedSOPSequence = Sequence([ref_item(CT, s) for s in a])
    ev_study = Dataset()
    ev_study.StudyInstanceUID = st1
    ev_study.ReferencedSeriesSequence = Sequence([ev_series])
    sr.CurrentRequestedProcedureEvidenceSequence = Sequence([ev_study])
    rel = Dataset()
    rel.add_new(0x300600C2, "UI", f2)  # RelatedFrameOfReferenceUID
    rfor = Dataset()
    rfor.add_new(0x30060024, "UI", f1)  # ReferencedFrameOfReferenceUID
    rfor.add_new(0x300600C0, "SQ", Sequence([rel]))  # FrameOfReferenceRelationshipSequence
    # RT Structure Set style: RTReferencedStudySequence > ReferencedSOPInstanceUID names the *study*.
    rt_series = Dataset()
    rt_series.SeriesInstanceUID = se_a
    rt_study = ref_item("1.2.840.10008.3.1.2.3.1", st1)  # Detached Study Management SOP Class
    rt_study.add_new(0x30060014, "SQ", Sequence([rt_series]))  # RTReferencedSeriesSequence
    rfor.add_new(0x30060012, "SQ", Sequence([rt_study]))  # RTReferencedStudySequence
    sr.add_new(0x30060010, "SQ", Sequence([rfor]))  # ReferencedFrameOfReferenceSequence
    save(sr, os.path.join(src, "sr.dcm"))

    # Presentation-state-style
    pr = base(PR, uid("1.9.1"), st1, se_pr)
    rs = Dataset()
    rs.SeriesInstanceUID = se_a
    rs.ReferencedImageSequence = Sequence([ref_item(CT, a[0]), ref_item(CT, a[1])])
    pr.ReferencedSeriesSequence = Sequence([rs])
    ga = Dataset()
    ga.GraphicLayer = "LAYER1"
    ga.ReferencedImageSequence = Sequence([ref_item(CT, a[2])])
    pr.GraphicAnnotationSequence = Sequence([ga])
    other_series = Dataset()
    other_series.SeriesInstanceUID = se_b
    other_series.ReferencedSOPSequence = Sequence([ref_item(MR, b[1])])
    other = Dataset()
    other.StudyInstanceUID = st2
    other.ReferencedSeriesSequence = Sequence([other_series])
    pr.StudiesContainingOtherReferencedInstancesSequence = Sequence([other])
    save(pr, os.path.join(src, "pr.dcm"))


def refs(ds, path=(), depth=0):
    """(path, tag, value, depth, family) of every UI element of a family, nested ones included."""
    out = []
    parent = int(path[-1][0]) if path else 0
    for el in ds:
        if el.VR == "SQ":
            for i, it in enumerate(el.value):
                out += refs(it, path + ((el.tag, i),), depth + 1)
        elif el.tag in FAMILY_OF and el.value not in (None, ""):
            out.append((path, int(el.tag), str(el.value).rstrip("\0 "), depth, family(int(el.tag), parent)))
    return out


def run_config(name, cfg, src, tmp, checks):
    cfg_path = os.path.join(tmp, f"{name}.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    key_path = os.path.join(tmp, "key")
    dst = os.path.join(tmp, f"out-{name}")
    p = subprocess.run([DV_BIN, "deidentify", "-q", "-j", "2", "-c", cfg_path, "-k", key_path, src, dst],
                       capture_output=True, text=True, timeout=300)
    if not checks.expect(f"{name}: exit 0", p.returncode == 0, f"exit {p.returncode}: {p.stderr.strip()}"):
        return
    ins = {}
    for fn in os.listdir(src):
        ds = pydicom.dcmread(os.path.join(src, fn))
        ins[str(ds.SOPInstanceUID)] = ds
    outs = []
    for root, _, files in os.walk(dst):
        outs += [pydicom.dcmread(os.path.join(root, fn)) for fn in files]
    checks.expect(f"{name}: one output per input", len(outs) == len(ins), f"{len(outs)} outputs, {len(ins)} inputs")

    regen = REGEN[name]

    def expected(fam, value):
        return dvcheck.hmac_uid(value, KEY) if regen[fam] else value

    # The UIDs that exist after the run: what each output instance actually is.
    actual = {"sop": set(), "study": set(), "series": set(), "for": set()}
    for o in outs:
        for tag in (SOP, STUDY, SERIES, FOR):
            if tag in o:
                actual[FAMILY_OF[tag]].add(str(o[tag].value))
    by_new_sop = {expected("sop", sop): ds for sop, ds in ins.items()}
    for o in outs:
        src_ds = by_new_sop.get(str(o.SOPInstanceUID))
        if not checks.expect(f"{name}: output maps to its input", src_ds is not None,
                             f"output SOPInstanceUID {o.SOPInstanceUID} is no input's expected UID"):
            continue
        checks.expect(f"{name}: MediaStorageSOPInstanceUID", o.file_meta.MediaStorageSOPInstanceUID == o.SOPInstanceUID,
                      f"{o.SOPInstanceUID}: meta {o.file_meta.MediaStorageSOPInstanceUID}")
        before = {(p, t): v for p, t, v, _, _ in refs(src_ds)}
        for path, tag, value, depth, fam in refs(o):
            if depth == 0 and tag in (SOP, STUDY, SERIES, FOR):
                check = f"{name}: own {fam} UID as documented"
            else:
                # A reference (or a nested Study/Series UID): it must name an existing UID.
                checks.expect(f"{name}: no dangling {fam} reference", value in actual[fam],
                              f"{pydicom.tag.Tag(tag)} at depth {depth} in {o.SOPInstanceUID} names no output's {fam} UID")
                check = f"{name}: {fam} reference as documented"
            orig = before.get((path, tag))
            if checks.expect(f"{name}: element kept in place", orig is not None,
                             f"{pydicom.tag.Tag(tag)} at {path} has no input counterpart"):
                checks.expect(check, value == expected(fam, orig),
                              f"{pydicom.tag.Tag(tag)} at depth {depth}: want the {'HMAC' if regen[fam] else 'original'} UID")


def main():
    tmp = tempfile.mkdtemp(prefix="dv-references-")
    try:
        src = os.path.join(tmp, "src")
        os.mkdir(src)
        build(src)
        key_path = os.path.join(tmp, "key")
        with open(key_path, "wb") as f:
            f.write(KEY)
        os.chmod(key_path, 0o600)
        checks = dvcheck.Checks()
        for name, cfg in CONFIGS.items():
            run_config(name, cfg, src, tmp, checks)
        required = []
        for name in CONFIGS:
            required += [f"{name}: no dangling {fam} reference" for fam in ("sop", "study", "series", "for")]
            required += [f"{name}: {fam} reference as documented" for fam in ("sop", "study", "series", "for")]
            required += [f"{name}: own {fam} UID as documented" for fam in ("sop", "study", "series", "for")]
        return checks.report("test_references", required, 10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

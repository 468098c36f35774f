#!/usr/bin/python3
"""Generate a deterministic CT-like benchmark corpus for dicomveil (and its peers).

    /usr/bin/python3 bench/gen_ct_corpus.py OUT_DIR [-n 200] [--seed 1] [--studies 4] [--series 2]
    /usr/bin/python3 bench/gen_ct_corpus.py OUT_DIR --multiframe-gb 1      # one ~1 GiB multi-frame instance

Single-frame mode: N instances of 512x512 16-bit MONOCHROME2, Explicit VR Little Endian, about 150 data
elements each (patient/study/series/equipment/image modules, nested sequences of depth 2-3, three private
blocks), realistic fake PHI, spread over several patients/studies/series.  Same seed -> byte-identical files.

Multi-frame mode: one Multi-frame Grayscale Word Secondary Capture instance, 512x512x2 bytes x F frames
(F = 2048 per GiB).  The header is written with pydicom, the Pixel Data element header and the frames are
appended by hand in chunks, so the generator needs only a few MB of RAM whatever the size.

Uses only pydicom + numpy (Debian python3-pydicom).  Output file names carry no PHI.
"""
import argparse
import datetime
import hashlib
import os
import struct
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MF_GRAY_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"
ROOT = "1.2.826.0.1.3680043.10.1187"  # arbitrary test root; only used to seed UIDs

FIRST = ["JOHN", "MARY", "ROBERT", "PATRICIA", "MICHAEL", "LINDA", "WILLIAM", "ELIZABETH", "DAVID", "SUSAN",
         "JAMES", "JENNIFER", "THOMAS", "KAREN", "CHARLES", "NANCY"]
LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ",
        "MARTINEZ", "HERNANDEZ", "LOPEZ", "WILSON", "ANDERSON", "TAYLOR", "MOORE"]
STREETS = ["Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm Dr", "Washington Blvd", "Lake View Ter"]
CITIES = ["Springfield", "Riverside", "Fairview", "Greenville", "Madison", "Georgetown"]
HOSPITALS = ["St. Mary's General Hospital", "Riverside Medical Center", "Mercy Regional Clinic"]
PHYS = ["HOUSE^GREGORY^^DR", "GREY^MEREDITH^^DR", "SHEPHERD^DEREK^^DR", "KILDARE^JAMES^^DR"]


def uid(*parts):
    """Deterministic UID from parts (< 64 chars, no leading zeros)."""
    h = int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:12], "big")
    return f"{ROOT}.{h}"


def code_item(value, scheme, meaning):
    it = Dataset()
    it.CodeValue = value
    it.CodingSchemeDesignator = scheme
    it.CodeMeaning = meaning
    return it


def patient_of(rng, p):
    r = np.random.default_rng([rng, 7, p])
    first, last = FIRST[r.integers(len(FIRST))], LAST[r.integers(len(LAST))]
    birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=int(r.integers(0, 30000)))
    return {
        "name": f"{last}^{first}^{chr(65 + int(r.integers(26)))}",
        "id": f"MRN{int(r.integers(10**7, 10**8))}",
        "birth": birth.strftime("%Y%m%d"),
        "sex": "MF"[int(r.integers(2))],
        "address": f"{int(r.integers(1, 9999))} {STREETS[r.integers(len(STREETS))]}, "
                   f"{CITIES[r.integers(len(CITIES))]}, ST {int(r.integers(10000, 99999))}",
        "phone": f"({int(r.integers(200, 999))}) 555-{int(r.integers(1000, 9999))}",
        "other_id": f"SSN{int(r.integers(100, 999))}-{int(r.integers(10, 99))}-{int(r.integers(1000, 9999))}",
        "weight": f"{int(r.integers(45, 120))}.{int(r.integers(0, 10))}",
        "size": f"1.{int(r.integers(50, 99))}",
        "mother": f"{LAST[r.integers(len(LAST))]}^{FIRST[r.integers(len(FIRST))]}",
    }


def base_dataset(seed, idx, study, series, n_in_series, pat, study_date, sop_class, frames=None):
    """Everything except Pixel Data. ~150 elements counting nested ones."""
    ds = Dataset()
    sop_uid = uid(seed, "sop", study, series, idx)
    st_uid = uid(seed, "study", study)
    se_uid = uid(seed, "series", study, series)
    for_uid = uid(seed, "for", study)
    dt = study_date.strftime("%Y%m%d")
    tm = f"{8 + study % 10:02d}{(idx * 7) % 60:02d}{(idx * 13) % 60:02d}.{idx % 1000:03d}000"
    r = np.random.default_rng([seed, 11, idx])

    # SOP Common
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.InstanceCreationDate = dt
    ds.InstanceCreationTime = tm
    ds.InstanceCreatorUID = uid(seed, "creator")
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = dt
    ds.SeriesDate = dt
    ds.AcquisitionDate = dt
    ds.ContentDate = dt
    ds.AcquisitionDateTime = dt + tm
    ds.StudyTime = tm
    ds.SeriesTime = tm
    ds.AcquisitionTime = tm
    ds.ContentTime = tm
    ds.AccessionNumber = f"ACC{seed}{study:04d}{int(r.integers(1000, 9999))}"
    ds.Modality = "CT" if frames is None else "OT"
    if frames is not None:
        ds.ConversionType = "WSD"
    ds.Manufacturer = "ACME Medical Systems"
    ds.InstitutionName = HOSPITALS[study % len(HOSPITALS)]
    ds.InstitutionAddress = "1200 Hospital Drive, Springfield, ST 12345"
    ds.ReferringPhysicianName = PHYS[study % len(PHYS)]
    ds.ReferringPhysicianAddress = "55 Clinic Road, Riverside, ST 54321"
    ds.ReferringPhysicianTelephoneNumbers = "(555) 010-2233"
    ds.StationName = f"CTSCAN{study % 3 + 1:02d}"
    ds.StudyDescription = "CT CHEST ABDOMEN PELVIS W CONTRAST"
    ds.SeriesDescription = f"AXIAL {['1.25', '2.5', '5.0'][series % 3]}MM SOFT TISSUE"
    ds.InstitutionalDepartmentName = "RADIOLOGY"
    ds.PhysiciansOfRecord = PHYS[(study + 1) % len(PHYS)]
    ds.PerformingPhysicianName = PHYS[(study + 2) % len(PHYS)]
    ds.NameOfPhysiciansReadingStudy = PHYS[(study + 3) % len(PHYS)]
    ds.OperatorsName = "TECH^TERRY"
    ds.AdmittingDiagnosesDescription = "R10.9 ABDOMINAL PAIN, UNSPECIFIED"
    ds.ManufacturerModelName = "Skyline 128"
    # Referenced Image Sequence: the previous instance of the series
    if n_in_series > 0:
        ri = Dataset()
        ri.ReferencedSOPClassUID = sop_class
        ri.ReferencedSOPInstanceUID = uid(seed, "sop", study, series, idx - 1)
        ds.ReferencedImageSequence = Sequence([ri])
    # Referenced Study Sequence
    rs = Dataset()
    rs.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    rs.ReferencedSOPInstanceUID = uid(seed, "studycomp", study)
    ds.ReferencedStudySequence = Sequence([rs])
    # Source Image Sequence with a nested Purpose of Reference Code Sequence (depth 2)
    si = Dataset()
    si.ReferencedSOPClassUID = CT_IMAGE
    si.ReferencedSOPInstanceUID = uid(seed, "scout", study)
    si.PurposeOfReferenceCodeSequence = Sequence([code_item("121311", "DCM", "Localizer")])
    ds.SourceImageSequence = Sequence([si])
    ds.DerivationDescription = "none"

    # Patient
    ds.PatientName = pat["name"]
    ds.PatientID = pat["id"]
    ds.IssuerOfPatientID = "SPRINGFIELD GENERAL"
    ds.PatientBirthDate = pat["birth"]
    ds.PatientBirthTime = "071500"
    ds.PatientSex = pat["sex"]
    ds.OtherPatientIDs = pat["other_id"]
    ds.OtherPatientNames = pat["name"].split("^")[0] + "^ALIAS"
    ds.PatientAge = f"{max(1, study_date.year - int(pat['birth'][:4])):03d}Y"
    ds.PatientSize = pat["size"]
    ds.PatientWeight = pat["weight"]
    ds.PatientAddress = pat["address"]
    ds.PatientMotherBirthName = pat["mother"]
    ds.PatientTelephoneNumbers = pat["phone"]
    ds.EthnicGroup = "UNKNOWN"
    ds.Occupation = "TEACHER"
    ds.AdditionalPatientHistory = f"Patient {pat['name'].replace('^', ' ')} reports pain since last visit."
    ds.PatientComments = f"Call {pat['phone']} before appointment."
    ds.PatientIdentityRemoved = "NO"

    # Acquisition / equipment
    ds.ContrastBolusAgent = "OMNIPAQUE 350"
    ds.BodyPartExamined = "CHEST"
    ds.ScanOptions = "HELICAL MODE"
    ds.SliceThickness = ["1.25", "2.5", "5.0"][series % 3]
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500.0"
    ds.DeviceSerialNumber = f"SN{int(r.integers(100000, 999999))}"
    ds.SoftwareVersions = "sw 12.4.1"
    ds.ProtocolName = "CHEST ABD PELVIS ROUTINE"
    ds.ReconstructionDiameter = "360.0"
    ds.DistanceSourceToDetector = "949.075"
    ds.DistanceSourceToPatient = "541.0"
    ds.GantryDetectorTilt = "0.0"
    ds.TableHeight = "160.0"
    ds.RotationDirection = "CW"
    ds.ExposureTime = "500"
    ds.XRayTubeCurrent = str(int(r.integers(150, 400)))
    ds.Exposure = str(int(r.integers(50, 300)))
    ds.FilterType = "BODY FILTER"
    ds.GeneratorPower = "48000"
    ds.FocalSpots = "0.7"
    ds.ConvolutionKernel = "STANDARD"
    ds.PatientPosition = "FFS"
    ds.RevolutionTime = 0.5
    ds.SingleCollimationWidth = 0.625
    ds.TotalCollimationWidth = 40.0
    ds.TableSpeed = 39.375
    ds.TableFeedPerRotation = 39.375
    ds.SpiralPitchFactor = 0.984375

    # Relationship
    ds.StudyInstanceUID = st_uid
    ds.SeriesInstanceUID = se_uid
    ds.StudyID = f"{1000 + study}"
    ds.SeriesNumber = series + 1
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = n_in_series + 1
    z = -100.0 - 1.25 * n_in_series
    ds.ImagePositionPatient = ["-180.0", "-180.0", f"{z:.2f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = for_uid
    ds.PositionReferenceIndicator = "SN"
    ds.SliceLocation = f"{z:.2f}"
    ds.ImageComments = f"Reviewed by {PHYS[study % len(PHYS)].split('^')[0]} on {dt}"

    # Image pixel
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    if frames is not None:
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = pydicom.tag.Tag(0x0018, 0x1063)  # Frame Time
        ds.FrameTime = "33.3"
    ds.Rows = 512
    ds.Columns = 512
    ds.PixelSpacing = ["0.703125", "0.703125"]
    ds.BitsAllocated = 16
    ds.BitsStored = 16 if frames is not None else 12
    ds.HighBit = 15 if frames is not None else 11
    ds.PixelRepresentation = 0 if frames is not None else 1
    if frames is None:
        ds.WindowCenter = "40"
        ds.WindowWidth = "400"
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.WindowCenterWidthExplanation = "SOFT TISSUE"

    # Request Attributes Sequence: depth 3 (RequestAttributes > ScheduledProtocolCode > ProtocolContext)
    pc = Dataset()
    pc.ValueType = "TEXT"
    pc.ConceptNameCodeSequence = Sequence([code_item("121106", "DCM", "Comment")])
    pc.TextValue = f"Ordered by {PHYS[(study + 1) % len(PHYS)]} for {pat['name']}"
    spc = code_item("CTCAP", "99ACME", "CT Chest Abdomen Pelvis")
    spc.ProtocolContextSequence = Sequence([pc])
    ra = Dataset()
    ra.RequestedProcedureID = f"RP{study:05d}"
    ra.ScheduledProcedureStepID = f"SPS{study:05d}{series}"
    ra.ScheduledProcedureStepDescription = "CT CAP W CONTRAST"
    ra.ScheduledProtocolCodeSequence = Sequence([spc])
    ds.RequestAttributesSequence = Sequence([ra])
    ds.PerformedProcedureStepStartDate = dt
    ds.PerformedProcedureStepStartTime = tm
    ds.PerformedProcedureStepID = f"PPS{study:05d}"
    ds.PerformedProcedureStepDescription = "CT CAP W CONTRAST"
    ds.ProcedureCodeSequence = Sequence([code_item("CTCAP", "99ACME", "CT Chest Abdomen Pelvis")])
    ds.AnatomicRegionSequence = Sequence([code_item("T-D3000", "SRT", "Chest")])
    ds.RequestedProcedureDescription = "CT CHEST ABD PELVIS"
    ds.RequestingPhysician = PHYS[(study + 1) % len(PHYS)]
    ds.RequestingService = "EMERGENCY"

    # Private blocks (fictitious creators; values are realistic PHI-ish noise)
    ds.add_new(0x00090010, "LO", "ACME_IDEN_01")
    ds.add_new(0x00091001, "LO", "CT_LIGHTSPEED")
    ds.add_new(0x00091002, "SH", f"CT{study:02d}")
    ds.add_new(0x00091004, "SH", "ACME")
    ds.add_new(0x00190010, "LO", "ACME_ACQU_01")
    ds.add_new(0x0019100F, "DS", "1098.7")
    ds.add_new(0x00191011, "SS", 2)
    ds.add_new(0x00191018, "LO", "DAS TRIGGER")
    ds.add_new(0x0019101A, "FL", [0.5, 1.5])
    ds.add_new(0x00191023, "DS", "39.375")
    ds.add_new(0x00191024, "DS", f"{z:.2f}")
    ds.add_new(0x00430010, "LO", "ACME_PARM_01")
    ds.add_new(0x00431010, "US", 350)
    ds.add_new(0x00431012, "SS", [2, 2, 2])
    ds.add_new(0x00431027, "SH", "/1.0:1")
    ds.add_new(0x0043102B, "SS", [4, 4, 0, 0])
    ds.add_new(0x00431031, "DS", ["-11.2", "26.4"])
    pseq_item = Dataset()
    pseq_item.add_new(0x00430010, "LO", "ACME_PARM_01")
    pseq_item.add_new(0x00431040, "LO", pat["name"])  # PHI hidden in a private sequence
    pseq_item.add_new(0x00431041, "DA", dt)
    ds.add_new(0x00431039, "SQ", Sequence([pseq_item]))
    return ds


def file_meta_for(ds):
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    fm.ImplementationClassUID = "1.2.826.0.1.3680043.10.1187.1"
    fm.ImplementationVersionName = "DV_BENCHGEN"
    return fm


def phantom(seed, idx):
    """A 512x512 int16-range CT slice: body ellipse, organs, noise (deterministic)."""
    y, x = np.mgrid[-256:256, -256:256].astype(np.float32)
    img = np.full((512, 512), -1000.0, dtype=np.float32)  # air
    body = (x / 220.0) ** 2 + (y / 160.0) ** 2 <= 1.0
    img[body] = 40.0
    lung_l = ((x + 90) / 70.0) ** 2 + (y / 100.0) ** 2 <= 1.0
    lung_r = ((x - 90) / 70.0) ** 2 + (y / 100.0) ** 2 <= 1.0
    img[lung_l | lung_r] = -850.0
    spine = (x / 25.0) ** 2 + ((y - 110) / 25.0) ** 2 <= 1.0
    img[spine] = 700.0 + 5 * (idx % 20)
    r = np.random.default_rng([seed, 3, idx])
    img += r.normal(0, 12, size=img.shape).astype(np.float32)
    return np.clip(img + 1024, 0, 4095).astype("<u2")


def gen_single(out, n, seed, studies, series_per_study):
    os.makedirs(out, exist_ok=True)
    per_series = max(1, -(-n // (studies * series_per_study)))
    base = datetime.date(2019, 3, 1)
    total = 0
    written = 0
    for idx in range(n):
        s_all = idx // per_series
        study, series = divmod(s_all, series_per_study)
        study %= studies
        n_in_series = idx % per_series
        pat = patient_of(seed, study // 2)  # two studies per patient
        sdate = base + datetime.timedelta(days=study * 37 + seed)
        ds = base_dataset(seed, idx, study, series, n_in_series, pat, sdate, CT_IMAGE)
        ds.PixelData = phantom(seed, idx).tobytes()
        ds["PixelData"].VR = "OW"
        ds.file_meta = file_meta_for(ds)
        ds.is_little_endian = True
        ds.is_implicit_VR = False
        path = os.path.join(out, f"ct_{idx:05d}.dcm")
        ds.save_as(path, write_like_original=False)
        written += 1
        total += os.path.getsize(path)
    nel = sum(1 for _ in pydicom.dcmread(os.path.join(out, "ct_00001.dcm" if n > 1 else "ct_00000.dcm")).iterall())
    print(f"wrote {written} instances ({total / 1e6:.1f} MB) to {out}; "
          f"{studies} studies x {series_per_study} series; {nel} data elements per instance (incl. nested)",
          file=sys.stderr)


def gen_multiframe(out, gb, seed):
    os.makedirs(out, exist_ok=True)
    frame_bytes = 512 * 512 * 2
    frames = max(1, int(round(gb * (1 << 30) / frame_bytes)))
    length = frames * frame_bytes
    if length >= 0xFFFFFFFE:
        sys.exit(f"--multiframe-gb {gb}: {length} bytes does not fit a 32-bit element length")
    pat = patient_of(seed, 99)
    ds = base_dataset(seed, 0, 90, 0, 0, pat, datetime.date(2020, 1, 2), MF_GRAY_WORD_SC, frames=frames)
    ds.file_meta = file_meta_for(ds)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    path = os.path.join(out, f"multiframe_{frames}f.dcm")
    tmp = path + ".tmp"
    ds.save_as(tmp, write_like_original=False)  # header only, PixelData appended below
    base_frame = phantom(seed, 0)
    with open(tmp, "ab") as f:
        f.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, length))
        chunk = 32
        for start in range(0, frames, chunk):
            k = min(chunk, frames - start)
            block = np.empty((k, 512, 512), dtype="<u2")
            for j in range(k):
                # cheap per-frame variation so frames differ
                np.add(base_frame, (start + j) % 64, out=block[j], casting="unsafe")
            f.write(block.tobytes())
    os.replace(tmp, path)
    print(f"wrote {path}: {frames} frames, {os.path.getsize(path) / (1 << 30):.3f} GiB", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("-n", type=int, default=200, help="number of single-frame instances (default 200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--studies", type=int, default=4)
    ap.add_argument("--series", type=int, default=2, help="series per study")
    ap.add_argument("--multiframe-gb", type=float, default=None,
                    help="instead of the single-frame corpus, write one multi-frame instance of ~this many GiB")
    a = ap.parse_args()
    if a.multiframe_gb is not None:
        gen_multiframe(a.out, a.multiframe_gb, a.seed)
    else:
        gen_single(a.out, a.n, a.seed, a.studies, a.series)


if __name__ == "__main__":
    main()

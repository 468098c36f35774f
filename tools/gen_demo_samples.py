#!/usr/bin/python3
"""Write synthetic CT-like DICOM instances for the demo (tools/demo.sh). No real PHI: every name, ID,
address and date below is made up and planted on purpose, so the de-identified output can be checked.

    /usr/bin/python3 tools/gen_demo_samples.py --out DIR [--studies 2] [--series 2] [--instances 5]

Layout: DIR/<FAKE_PATIENT_NAME>/<study>/<series>/IMG_<n>.dcm (the file names carry "PHI" too: the CLI must
not reuse them). Each instance has: patient/physician/institution identifiers, dates and times, nested
sequences (OtherPatientIDsSequence > IssuerOfPatientIDQualifiersSequence, RequestAttributesSequence >
ScheduledProtocolCodeSequence, ReferencedImageSequence pointing at the previous instance), a private block
("DEMO VENDOR 1.0") with a free-text note, and a 64x64 16-bit pixel matrix. Deterministic: the same
arguments give the same files. Needs Debian's python3-pydicom.
"""
import argparse
import datetime
import os
import struct
import sys
import uuid

try:
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian
except ImportError:  # pragma: no cover
    sys.exit("gen_demo_samples: needs pydicom (apt-get install python3-pydicom; run with /usr/bin/python3)")

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"

PATIENTS = [
    # name, id, birth date, sex, address, phone
    ("DOE^JANE^Q", "MRN-0042-FAKE", "19610704", "F", "12 Imaginary Lane^^Springfield^ZZ^00000", "555-0100"),
    ("ROE^RICHARD", "MRN-0077-FAKE", "19480229", "M", "99 Nowhere Road^^Shelbyville^ZZ^00001", "555-0199"),
]


def uid(*parts):
    """Deterministic UUID-derived UID (2.25.<uuid5 as decimal>), so re-runs give the same instances."""
    return "2.25." + str(uuid.uuid5(uuid.NAMESPACE_OID, "dicomveil-demo/" + "/".join(str(p) for p in parts)).int)


def code_item(value, scheme, meaning):
    it = Dataset()
    it.CodeValue = value
    it.CodingSchemeDesignator = scheme
    it.CodeMeaning = meaning
    return it


def pixels(n, rows=64, cols=64):
    """A disc whose radius grows with the instance number, on a gradient (no numpy needed)."""
    out = bytearray()
    r2 = (8 + 2 * n) ** 2
    for y in range(rows):
        for x in range(cols):
            v = 100 + x + y
            if (x - cols // 2) ** 2 + (y - rows // 2) ** 2 <= r2:
                v += 1000
            out += struct.pack("<H", v)
    return bytes(out)


def make_instance(p_idx, st, se, n, prev_sop):
    name, pid, birth, sex, addr, phone = PATIENTS[p_idx % len(PATIENTS)]
    study_uid = uid("study", p_idx, st)
    series_uid = uid("series", p_idx, st, se)
    sop_uid = uid("sop", p_idx, st, se, n)
    day = datetime.date(2024, 3, 1) + datetime.timedelta(days=17 * st + p_idx)

    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    fm.MediaStorageSOPInstanceUID = sop_uid
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    fm.ImplementationClassUID = uid("implementation")
    fm.ImplementationVersionName = "DV_DEMO_GEN"

    ds = Dataset()
    ds.file_meta = fm
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.InstanceCreationDate = day.strftime("%Y%m%d")
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = day.strftime("%Y%m%d")
    ds.StudyTime = "081500"
    ds.SeriesTime = f"08{20 + se:02d}00"
    ds.AcquisitionDateTime = day.strftime("%Y%m%d") + f"08{20 + se:02d}{n:02d}"
    ds.AccessionNumber = f"ACC-{p_idx}{st}-FAKE"
    ds.Modality = "CT"
    ds.Manufacturer = "Demo Imaging Inc"
    ds.InstitutionName = "Fake General Hospital"
    ds.InstitutionAddress = "1 Hospital Plaza, Springfield"
    ds.ReferringPhysicianName = "HOUSE^GREGORY^^DR"
    ds.StationName = "CTROOM-7"
    ds.StudyDescription = f"CT CHEST for {name.split('^')[0]}"
    ds.SeriesDescription = ["AXIAL 5mm", "CORONAL MPR"][se % 2]
    ds.PerformingPhysicianName = "QUINN^MICHAELA"
    ds.OperatorsName = "TECH^TOM"
    ds.ManufacturerModelName = "Demo CT 64"

    ref = Dataset()
    ref.ReferencedSOPClassUID = CT_IMAGE_STORAGE
    ref.ReferencedSOPInstanceUID = prev_sop or sop_uid
    ds.ReferencedImageSequence = Sequence([ref])

    ds.PatientName = name
    ds.PatientID = pid
    issuer_q = Dataset()
    issuer_q.UniversalEntityID = "FAKE-HOSPITAL-REGISTRY"
    issuer_q.UniversalEntityIDType = "DNS"
    other = Dataset()
    other.PatientID = pid.replace("MRN", "OLD")
    other.IssuerOfPatientID = "Fake General Hospital"
    other.TypeOfPatientID = "TEXT"
    other.IssuerOfPatientIDQualifiersSequence = Sequence([issuer_q])
    ds.OtherPatientIDsSequence = Sequence([other])
    ds.PatientBirthDate = birth
    ds.PatientSex = sex
    ds.OtherPatientNames = name.split("^")[0] + "^J"
    ds.PatientAge = f"{2024 - int(birth[:4]):03d}Y"
    ds.PatientAddress = addr
    ds.PatientTelephoneNumbers = phone
    ds.AdditionalPatientHistory = f"Seen by Dr House; call {phone}"

    # Private block with free text (Basic Profile: private elements are deleted).
    blk = ds.private_block(0x0009, "DEMO VENDOR 1.0", create=True)
    blk.add_new(0x01, "LO", f"OPERATOR NOTE: {name.replace('^', ' ')} anxious")
    blk.add_new(0x02, "LO", pid)

    ds.SliceThickness = "5.0"
    ds.KVP = "120"
    ds.DeviceSerialNumber = "SN-DEMO-0001"
    ds.SoftwareVersions = "1.0"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = f"S{p_idx}{st}"
    ds.SeriesNumber = se + 1
    ds.InstanceNumber = n + 1
    ds.ImagePositionPatient = [0, 0, 5 * n]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.FrameOfReferenceUID = uid("for", p_idx, st)
    ds.PositionReferenceIndicator = ""

    rq = Dataset()
    rq.RequestedProcedureID = f"RP-{pid}"
    rq.ScheduledProcedureStepID = f"SPS-{p_idx}{st}"
    rq.ScheduledProtocolCodeSequence = Sequence([code_item("CTCHEST", "99DEMO", "CT chest protocol")])
    ds.RequestAttributesSequence = Sequence([rq])

    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 64
    ds.Columns = 64
    ds.PixelSpacing = [0.7, 0.7]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.PixelData = pixels(n)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    return ds, sop_uid


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--studies", type=int, default=2)
    ap.add_argument("--series", type=int, default=2)
    ap.add_argument("--instances", type=int, default=5)
    args = ap.parse_args()
    count = 0
    for st in range(args.studies):
        p_idx = st % len(PATIENTS)
        pname = PATIENTS[p_idx][0].replace("^", "_")
        for se in range(args.series):
            prev = None
            d = os.path.join(args.out, pname, f"study{st + 1}", f"series{se + 1}")
            os.makedirs(d, exist_ok=True)
            for n in range(args.instances):
                ds, prev = make_instance(p_idx, st, se, n, prev)
                pydicom.dcmwrite(os.path.join(d, f"IMG_{n + 1:03d}.dcm"), ds, write_like_original=False)
                count += 1
    print(f"gen_demo_samples: {count} synthetic instances ({args.studies} studies x {args.series} series x "
          f"{args.instances}) in {args.out}")


if __name__ == "__main__":
    main()

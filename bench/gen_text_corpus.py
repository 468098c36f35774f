#!/usr/bin/python3
"""Generate a deterministic corpus of DICOM instances with realistic free text, for the text benchmark
(bench/text.sh): the text stage's worst case, where most of an instance is text to inspect.

    /usr/bin/python3 bench/gen_text_corpus.py OUT_DIR [-n 200] [--seed 1]

Every instance has the identifying attributes a real one has (names, IDs, birth date, address, phone,
institution, physicians) and free text that repeats some of them and adds other PHI and clinical phrases:
StudyDescription / SeriesDescription (`CT CHEST WALL FOLLOW-UP`), ImageComments, AdditionalPatientHistory and
ReasonForStudy (LT paragraphs of 300-700 characters), and, for half of them, a Comprehensive SR
ContentSequence of 4-8 TEXT items whose TextValue paragraphs mention names, dates, ages, phone numbers,
places and hospitals. The other half are small Secondary Capture images (64x64, 8-bit). About 3-5 KB of
text per instance. Same seed -> byte-identical files; file names carry no PHI. Needs pydicom + numpy.
"""
import argparse
import hashlib
import os

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

SC = "1.2.840.10008.5.1.4.1.1.7"
SR = "1.2.840.10008.5.1.4.1.1.88.33"
ROOT = "1.2.826.0.1.3680043.10.1187.9"

FIRST = ["John", "Mary", "Robert", "Patricia", "Michael", "Linda", "William", "Elizabeth", "Ann", "Rose",
         "Hans-Peter", "Zoë", "José", "Søren", "Aoife", "Mei"]
LAST = ["Smith", "Johnson", "Wall", "Young", "Garcia", "Miller", "Müller", "O'Brien", "Nguyen", "Kowalski",
        "Rossi", "Dubois", "Andersen", "Murphy", "Chen", "Okafor"]
DOCS = ["House^Gregory^^Dr", "Grey^Meredith^^Dr", "Shepherd^Derek^^Dr", "Kildare^James^^Dr", "Quinn^Michaela^^Dr"]
CITIES = ["Springfield", "Boston", "Cork", "Lyon", "Hamburg", "Toronto", "Madison", "Leeds"]
STREETS = ["12 Maple Avenue", "480 Oak Street", "7 Harbour Road", "221 Baker Street", "15 rue de la Paix"]
HOSPITALS = ["Mercy General Hospital", "St. Mary's Medical Center", "Riverside Clinic",
             "University of Michigan Hospital", "Klinikum Nord"]
STUDY_DESC = ["CT CHEST WALL FOLLOW-UP", "MRI BRAIN W/WO CONTRAST", "CT ABDOMEN PELVIS", "XR KNEE 3 VIEWS",
              "MR LUMBAR SPINE L4-L5", "US CAROTID DOPPLER", "CT HEAD STROKE PROTOCOL", "PET CT WHOLE BODY"]
SERIES_DESC = ["AX T2 FLAIR", "SAG T1", "COR STIR", "DWI B1000", "ART PHASE 5 mm", "BONE WINDOW",
               "3D MIP", "SCOUT"]
CLINICAL = [
    "No acute intracranial abnormality.", "Mild degenerative change at L4-L5 with a small disc bulge.",
    "Findings consistent with May-Thurner syndrome.", "History of Parkinson disease, on levodopa.",
    "Chest wall mass measuring 5 mm, stable since prior.", "T2 FLAIR hyperintensities, likely small vessel disease.",
    "Hill-Sachs lesion of the humeral head.", "Recommend follow-up CT in 6 months.",
    "The gallbladder is unremarkable.", "Post-operative changes after Whipple procedure.",
]


def uid(*parts):
    h = int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:12], "big")
    return f"{ROOT}.{h}"


def paragraph(r, pat, doc, n_sentences):
    first, last = pat["first"], pat["last"]
    dob = pat["dob"]
    s = []
    for _ in range(n_sentences):
        k = int(r.integers(12))
        if k == 0:
            s.append(f"Patient {first} {last} ({int(r.integers(18, 90))}-year-old) seen on "
                     f"{int(r.integers(1, 13)):02d}/{int(r.integers(1, 29)):02d}/20{int(r.integers(10, 24))}.")
        elif k == 1:
            s.append(f"Discussed with Dr. {doc.split('^')[0].title()} who called {pat['phone']}.")
        elif k == 2:
            s.append(f"DOB {dob[6:8]}.{dob[4:6]}.{dob[0:4]}; MRN {pat['id']}.")
        elif k == 3:
            s.append(f"Referred from {pat['hospital']} in {pat['city']}.")
        elif k == 4:
            s.append(f"Lives at {pat['street']}, {pat['city']}.")
        elif k == 5:
            s.append(f"Mother {FIRST[int(r.integers(len(FIRST)))]} {last} present; contact {pat['email']}.")
        elif k == 6:
            s.append(f"Prior exam 2019-{int(r.integers(1, 13)):02d}-{int(r.integers(1, 29)):02d} at 14:{int(r.integers(10, 60))}.")
        else:
            s.append(CLINICAL[int(r.integers(len(CLINICAL)))])
    return " ".join(s)


def short(text, n):
    """text cut at a word boundary to at most n characters (a LO value)."""
    return text if len(text) <= n else text[:n].rsplit(" ", 1)[0]


def instance(seed, i):
    r = np.random.default_rng([seed, i])
    p = int(r.integers(40))
    pr = np.random.default_rng([seed, 7, p])
    pat = {
        "first": FIRST[int(pr.integers(len(FIRST)))], "last": LAST[int(pr.integers(len(LAST)))],
        "id": f"MRN{int(pr.integers(10**6, 10**7))}", "dob": f"19{int(pr.integers(30, 99))}{int(pr.integers(1, 13)):02d}{int(pr.integers(1, 29)):02d}",
        "phone": f"555-{int(pr.integers(100, 999))}-{int(pr.integers(1000, 9999))}",
        "city": CITIES[int(pr.integers(len(CITIES)))], "street": STREETS[int(pr.integers(len(STREETS)))],
        "hospital": HOSPITALS[int(pr.integers(len(HOSPITALS)))],
    }
    pat["email"] = f"{pat['first'][0].lower()}.{pat['last'].lower().replace(chr(39), '')}@example.org".encode(
        "ascii", "ignore").decode()
    doc = DOCS[int(r.integers(len(DOCS)))]
    sr = i % 2 == 1
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SR if sr else SC
    ds.SOPInstanceUID = uid(seed, "sop", i)
    ds.StudyInstanceUID = uid(seed, "study", p, i % 3)
    ds.SeriesInstanceUID = uid(seed, "series", p, i % 3, sr)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = f"2021{int(r.integers(1, 13)):02d}{int(r.integers(1, 29)):02d}"
    ds.StudyTime = ds.ContentTime = f"{int(r.integers(7, 19)):02d}{int(r.integers(60)):02d}00"
    ds.AccessionNumber = f"ACC{int(r.integers(10**6, 10**7))}"
    ds.Modality = "SR" if sr else "OT"
    ds.InstitutionName = pat["hospital"]
    ds.InstitutionAddress = f"{pat['street']}, {pat['city']}"
    ds.ReferringPhysicianName = doc
    ds.StudyDescription = STUDY_DESC[int(r.integers(len(STUDY_DESC)))]
    ds.SeriesDescription = SERIES_DESC[int(r.integers(len(SERIES_DESC)))]
    ds.PatientName = f"{pat['last']}^{pat['first']}"
    ds.PatientID = pat["id"]
    ds.PatientBirthDate = pat["dob"]
    ds.PatientSex = "F" if p % 2 else "M"
    ds.PatientAge = f"{int(r.integers(18, 90)):03d}Y"
    ds.PatientAddress = f"{pat['street']}^{pat['city']}"
    ds.PatientTelephoneNumbers = pat["phone"]
    ds.AdditionalPatientHistory = paragraph(r, pat, doc, int(r.integers(4, 9)))
    ds.ReasonForStudy = short(paragraph(r, pat, doc, 1), 64)  # LO
    ds.ImageComments = paragraph(r, pat, doc, int(r.integers(2, 5)))
    ds.StudyID = f"S{int(r.integers(1000, 9999))}"
    ds.SeriesNumber = 1
    ds.InstanceNumber = i + 1
    if sr:
        ds.ValueType = "CONTAINER"
        ds.CompletionFlag = "COMPLETE"
        ds.VerificationFlag = "UNVERIFIED"
        items = []
        for k in range(int(r.integers(4, 9))):
            it = Dataset()
            it.RelationshipType = "CONTAINS"
            it.ValueType = "TEXT"
            name = Dataset()
            name.CodeValue = "121071"
            name.CodingSchemeDesignator = "DCM"
            name.CodeMeaning = "Finding"
            it.ConceptNameCodeSequence = Sequence([name])
            it.TextValue = paragraph(r, pat, doc, int(r.integers(3, 8)))
            items.append(it)
        ds.ContentSequence = Sequence(items)
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = 64
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.PixelData = r.integers(0, 256, size=64 * 64, dtype=np.uint8).tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    return ds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.n):
        instance(a.seed, i).save_as(os.path.join(a.out, f"text_{i:05d}.dcm"), write_like_original=False)


if __name__ == "__main__":
    main()

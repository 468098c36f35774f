#!/usr/bin/env python3
"""Writes tests/text/corpus/patterns.tsv: synthetic, labelled DICOM free text for the pattern detectors
(format: tests/text/README.md). Deterministic (fixed seed); every value is made up. Re-run after editing:
  python3 tests/text/gen_patterns_corpus.py > tests/text/corpus/patterns.tsv"""
import random

R = random.Random(6)
MON = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
       "November", "December"]
AB = [m[:3] for m in MON]


def L(t, x):
    return "{{%s|%s}}" % (t, x)


def rdate():
    y, m, d = R.randint(1990, 2024), R.randint(1, 12), R.randint(1, 28)
    f = R.randrange(9)
    return [f"{y:04d}{m:02d}{d:02d}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m:02d}/{d:02d}/{y}",
            f"{d:02d}.{m:02d}.{y}", f"{MON[m-1]} {d}, {y}", f"{d} {AB[m-1]} {y}", f"{d}-{AB[m-1].upper()}-{y}",
            f"{AB[m-1]} {y}"][f]


def rdob():
    y, m, d = R.randint(1930, 2010), R.randint(1, 12), R.randint(1, 28)
    return R.choice([f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{y}{m:02d}{d:02d}", f"{MON[m-1]} {d}, {y}",
                     f"{d:02d}.{m:02d}.{y}"])


def luhn_digit(s):
    tot = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        tot += d
    return str((10 - tot % 10) % 10)


def card():
    pre = R.choice(["4", "51", "55", "37", "6011"])
    n = 15 if pre == "37" else 16
    body = pre + "".join(str(R.randrange(10)) for _ in range(n - len(pre) - 1))
    num = body + luhn_digit(body)
    if n == 16 and R.random() < .6:
        sep = R.choice([" ", "-"])
        num = sep.join(num[i:i + 4] for i in range(0, 16, 4))
    return num


def npi():
    body = R.choice("12") + "".join(str(R.randrange(10)) for _ in range(8))
    return body + luhn_digit("80840" + body)


def nhs():
    while True:
        d = [R.randrange(10) for _ in range(9)]
        c = 11 - sum(x * (10 - i) for i, x in enumerate(d)) % 11
        c = 0 if c == 11 else c
        if c != 10:
            s = "".join(map(str, d)) + str(c)
            return R.choice([s, f"{s[:3]} {s[3:6]} {s[6:]}"])


def iban():
    cc, ln = R.choice([("DE", 22), ("GB", 22), ("FR", 27), ("NL", 18), ("ES", 24)])
    bban = "".join(str(R.randrange(10)) for _ in range(ln - 4))
    if cc in ("GB", "NL"):
        bban = "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + bban[4:]
    num = int("".join(str(int(ch, 36)) for ch in bban + cc + "00"))
    s = f"{cc}{98 - num % 97:02d}{bban}"
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4)) if R.random() < .5 else s


def ssn():
    a = R.choice([x for x in range(1, 900) if x != 666])
    return f"{a:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


def phone():
    return R.choice([f"+1 ({R.randint(201, 989)}) {R.randint(200, 999)}-{R.randint(0, 9999):04d}",
                     f"{R.randint(201, 989)}-{R.randint(200, 999)}-{R.randint(0, 9999):04d}",
                     f"+44 20 {R.randint(7000, 8999)} {R.randint(0, 9999):04d}",
                     f"06 {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)}",
                     f"+49 30 {R.randint(1000000, 9999999)}", f"020 {R.randint(7000, 8999)} {R.randint(0, 9999):04d}",
                     f"({R.randint(201, 989)}) {R.randint(200, 999)}-{R.randint(0, 9999):04d}"])


def time_():
    h, m = R.randint(0, 23), R.randint(0, 59)
    return R.choice([f"{h:02d}:{m:02d}", f"{h:02d}:{m:02d}:{R.randint(0, 59):02d}",
                     f"{R.randint(1, 12)}:{m:02d} {R.choice(['am', 'pm', 'AM', 'PM'])}"])


STREETS = ["Baker Street", "Main St", "Elm Avenue", "Harbor Road", "Maple Drive", "Oak Lane", "Kings Court",
           "Victoria Place", "Sunset Blvd", "Mill Lane", "Church Road", "Park Avenue"]


def street():
    s = f"{R.randint(1, 2999)} {R.choice(STREETS)}"
    if R.random() < .3:
        s += f", {R.choice(['Apt', 'Flat', 'Suite', 'Unit'])} {R.randint(1, 40)}"
    return s


def mrn():
    return R.choice([f"A{R.randint(1000000, 9999999)}", f"{R.randint(100000, 99999999)}",
                     f"PX-{R.randint(10000, 99999)}", f"MR{R.randint(100000, 999999)}", f"{R.randint(2015, 2024)}{R.randint(100000, 999999)}"])


IDW = ["MRN", "MRN:", "MR#", "Patient ID:", "Accession #", "Acc#", "accession number", "Case", "Study ID",
       "Visit No.", "Hospital No", "Pat. ID"]

ROWS = []
T = lambda f, s: ROWS.append((f, s))
for _ in range(40):
    d = rdate()
    T(R.choice(["StudyDescription", "ImageComments"]), R.choice([
        f"CT CHEST W CONTRAST compared with prior of {L('DATE', d)}",
        f"Follow-up MRI, previous exam {L('DATE', d)} unchanged",
        f"Comparison: {L('DATE', d)}. No new lesion.",
        f"PET-CT restaging (baseline {L('DATE', d)})"]))
for _ in range(25):
    T("AdditionalPatientHistory", R.choice([
        f"DOB {L('DATE_OF_BIRTH', rdob())}, hx of HTN",
        f"Pt born {L('DATE_OF_BIRTH', rdob())}; prior surgery {L('DATE', rdate())}",
        f"D.O.B.: {L('DATE_OF_BIRTH', rdob())} referred for pain",
        f"Date of birth {L('DATE_OF_BIRTH', rdob())}"]))
for _ in range(30):
    a = R.randint(1, 99)
    T(R.choice(["AdditionalPatientHistory", "TextValue"]), R.choice([
        f"{L('AGE', f'{a}-year-old')} male with cough",
        f"{L('AGE', f'{a} yo')} F, headache for 3 days",
        f"Patient age {L('AGE', str(a))}, smoker for 20 years",
        f"{L('AGE', f'{a:03d}Y')} CHEST PA",
        f"{L('AGE', f'{a} y/o')} woman, follow-up in 6 months",
        f"aged {L('AGE', f'{a} years')} with known MS"]))
for _ in range(25):
    T(R.choice(["ImageComments", "TextValue"]), R.choice([
        f"Contrast injected at {L('TIME', time_())}, scan delay 70 s",
        f"Exam started {L('TIME', time_())} on {L('DATE', rdate())}",
        f"Findings called to ward at {L('TIME', time_())}"]))
for _ in range(30):
    T(R.choice(["AdditionalPatientHistory", "PatientComments", "TextValue"]), R.choice([
        f"Results to Dr office, tel {L('PHONE_NUMBER', phone())}",
        f"Contact {L('PHONE_NUMBER', phone())} before contrast",
        f"Referring fax: {L('PHONE_NUMBER', phone())}",
        f"call back {L('PHONE_NUMBER', phone())} (daughter)"]))
for _ in range(15):
    u = R.choice(["jdoe", "a.smith", "radiology.desk", "m_keller"])
    T(R.choice(["PatientComments", "TextValue"]), R.choice([
        f"send report to {L('EMAIL_ADDRESS', u + '@example-hospital.org')}",
        f"Images at {L('URL', 'https://pacs.example.org/viewer?study=' + str(R.randint(1000, 9999)))} for review",
        f"see {L('URL', 'www.example-clinic.com/patients')}"]))
for _ in range(12):
    T("ImageComments", R.choice([
        f"sent from modality {L('IP_ADDRESS', f'10.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}')}",
        f"workstation {L('IP_ADDRESS', f'192.168.{R.randint(0, 255)}.{R.randint(1, 254)}')} MAC "
        f"{L('MAC_ADDRESS', ':'.join(f'{R.randrange(256):02X}' for _ in range(6)))}",
        f"node {L('IP_ADDRESS', 'fe80::' + format(R.randrange(65536), 'x') + ':1')} rejected"]))
for _ in range(12):
    T("PatientComments", R.choice([f"SSN {L('US_SOCIAL_SECURITY_NUMBER', ssn())} on file",
                                   f"insurance ssn: {L('US_SOCIAL_SECURITY_NUMBER', ssn())}"]))
for _ in range(12):
    T("PatientComments", R.choice([f"self-pay, card {L('CREDIT_CARD_NUMBER', card())}",
                                   f"IBAN {L('IBAN_CODE', iban())} for refund"]))
for _ in range(12):
    T(R.choice(["TextValue", "PatientComments"]), R.choice([
        f"Referring NPI {L('US_HEALTHCARE_NPI', npi())}",
        f"NHS number {L('UK_NATIONAL_HEALTH_SERVICE_NUMBER', nhs())} verified"]))
for _ in range(40):
    T(R.choice(["StudyDescription", "ImageComments", "AdditionalPatientHistory", "TextValue"]),
      R.choice([f"{R.choice(IDW)} {L('MEDICAL_RECORD_NUMBER', mrn())} CT ABDOMEN",
                f"outside study, {R.choice(IDW)} {L('MEDICAL_RECORD_NUMBER', mrn())}, reread requested",
                f"Re: {R.choice(IDW)} {L('MEDICAL_RECORD_NUMBER', mrn())} prior {L('DATE', rdate())}"]))
for _ in range(20):
    T(R.choice(["PatientComments", "AdditionalPatientHistory"]), R.choice([
        f"Home address {L('STREET_ADDRESS', street())}",
        f"Lives at {L('STREET_ADDRESS', street())}, transport needed",
        f"Ship films to {L('STREET_ADDRESS', street())}, Boston, MA {L('STREET_ADDRESS', '021' + str(R.randint(10, 99)))}",
        f"UK contact: London {L('STREET_ADDRESS', R.choice(['NW1 6XE', 'SW1A 1AA', 'EC1A 1BB', 'M1 1AE']))}"]))

# Hand-written paragraphs (SR TextValue / histories) mixing several infoTypes in one value.
HAND = [
    ("TextValue", "CLINICAL HISTORY: {{AGE|67-year-old}} man, MRN {{MEDICAL_RECORD_NUMBER|A7734120}}, referred by Dr office ({{PHONE_NUMBER|617-555-0142}}) for staging. COMPARISON: CT chest {{DATE|02/11/2021}}. FINDINGS: 12 x 8 mm nodule in the RUL, previously 10 x 7 mm. IMPRESSION: slight growth; PET-CT recommended."),
    ("TextValue", "Exam performed {{DATE|2023-06-01}} at {{TIME|09:42}}. Contrast: 80 mL iohexol 350 at 3 mL/s. DLP 512 mGy*cm. No complications."),
    ("TextValue", "Preliminary read phoned to the ED at {{TIME|3:15 pm}} on {{DATE|June 4, 2022}}; final report sent to {{EMAIL_ADDRESS|er.attending@example-hospital.org}}."),
    ("AdditionalPatientHistory", "{{AGE|54 yo}} F, DOB {{DATE_OF_BIRTH|07/22/1968}}, hx breast ca s/p lumpectomy {{DATE|Mar 2015}}, BI-RADS 3 last year"),
    ("AdditionalPatientHistory", "pt lives at {{STREET_ADDRESS|48 Willow Lane, Apt 2}}, {{PHONE_NUMBER|+1 (413) 555-0199}}, SSN {{US_SOCIAL_SECURITY_NUMBER|219-09-9999}}"),
    ("ImageComments", "Outside films from {{URL|https://share.example-imaging.com/s/8842}} (Acc# {{MEDICAL_RECORD_NUMBER|EX-559120}}) reviewed, 3.0 T MR, T2 FLAIR hyperintensity L frontal"),
    ("ImageComments", "Pt name and DOB {{DATE_OF_BIRTH|1959-10-30}} verified, 2 identifiers, timeout {{TIME|07:58}}"),
    ("StudyDescription", "MR L-SPINE WO L4-L5 C3-C4 f/u {{DATE|20221109}}"),
    ("StudyDescription", "CT ANGIO MAY-THURNER EVAL 1:1000 heparin flush"),
    ("RequestedProcedureDescription", "XR CHEST 2V, ordered {{DATE|11.04.2022}} {{TIME|16:20}}, Fallnummer {{MEDICAL_RECORD_NUMBER|2022-448812}}"),
    ("TextValue", "Befund vom {{DATE|14.03.2019}}: Patient, geb. {{DATE_OF_BIRTH|02.05.1950}}, wohnhaft {{STREET_ADDRESS|Lindenstra\u00dfe 14}}, {{STREET_ADDRESS|10115}} Berlin, Tel. {{PHONE_NUMBER|030 1234567}}."),
    ("TextValue", "Examen du {{DATE|12/05/2021}} \u00e0 {{TIME|14h30}}; patient n\u00e9 le {{DATE_OF_BIRTH|03/02/1948}}, {{STREET_ADDRESS|12 rue de la R\u00e9publique}}, {{STREET_ADDRESS|69002}} Lyon, t\u00e9l {{PHONE_NUMBER|06 11 22 33 44}}."),
    ("PatientComments", "UK referral: NHS No {{UK_NATIONAL_HEALTH_SERVICE_NUMBER|485 777 3457}}, {{STREET_ADDRESS|221 Baker Street}}, London {{STREET_ADDRESS|NW1 6XE}}, {{PHONE_NUMBER|+44 20 7946 0018}}"),
    ("PatientComments", "billing: IBAN {{IBAN_CODE|DE89 3704 0044 0532 0130 00}}, card on file {{CREDIT_CARD_NUMBER|4111 1111 1111 1111}}"),
    ("TextValue", "Ordering provider NPI {{US_HEALTHCARE_NPI|1245319599}}; study ID {{MEDICAL_RECORD_NUMBER|ST-20991}}; device {{IP_ADDRESS|172.16.4.21}} MAC {{MAC_ADDRESS|3c:52:82:0a:1b:ff}}"),
    ("TextValue", "Age {{AGE|81}}. Recurrent falls. CT head: no acute hemorrhage. Chronic small vessel ischemic change. ASPECTS 10."),
    ("TextValue", "{{AGE|6 month old}} infant, ultrasound hips, alpha angle 62 degrees bilaterally, Graf type I."),
    ("ImageComments", "Series 4 Im 112 measurement 5.2 cm, ratio 1:3, Se 3 Im 45 comparison"),
    ("ImageComments", "Reconstructed 1.25 mm, kernel B30f, 120 kVp, 250 mAs, CTDIvol 9.8 mGy"),
    ("TextValue", "Compared with the prior examination of {{DATE|5 January 2020}} and {{DATE|Dec 2018}}, there is no interval change."),
]
for f, t in HAND:
    ROWS.append((f, t))
CLIN = ["5 mm", "T2 FLAIR", "L4-L5", "C3-C4", "MAY-THURNER", "3.0 T", "TR 2000 TE 90", "1:1000", "120 kVp",
        "ECG 12-lead", "Se 3 Im 45", "0.5 mSv", "CHEST WALL", "1.2.840.10008.5.1.4.1.1.2",
        "1.2.826.0.1.3680043.2.1125.1.7766554433", "syngo MR E11", "software version 4.5.2.1", "v2.3.1",
        "BP 120/80 HR 72 bpm", "matrix 256x256 FOV 240 mm", "Gleason 3+4=7", "PI-RADS 4", "BI-RADS 4",
        "CTDIvol 12.3 mGy DLP 456.7 mGy*cm", "EF 55%", "DWI b=1000 ADC map", "Im 1/120", "Lesion 12 x 8 x 7 mm",
        "kV 120 mAs 250 pitch 0.984", "S1 radiculopathy", "L1 compression fracture", "ratio 1:2",
        "follow-up in 6 months", "2 years ago", "for 5 years", "36 weeks gestation", "10 mg IV at 2 mL/s",
        "CT HEAD WO CONTRAST", "12 HEAD CT", "Series 12 AXIAL T1 POST", "slice thickness 1.25 mm",
        "MR LUMBAR SPINE WO", "T1 MPRAGE 1 mm iso", "DTI 64 directions b 1000", "Parkinson disease",
        "Hodgkin lymphoma stage 2", "Grade 2/4 reflux", "INR 1.2", "Hb 13.5 g/dL", "SUVmax 4.2",
        "3D TOF MRA", "2D FLASH", "T2* GRE", "C2-C7 fusion", "T10-T12", "FOV 350 x 350", "24 x 1.2 mm collimation",
        "window 400/40", "W 1500 L -600", "scan 1 of 2", "NEX 2", "TI 900 ms", "DLP 1020", "80 kV", "100 mAs",
        "phase 1 arterial", "flip angle 90", "Echo 2/4", "ETL 16", "bandwidth 250 Hz/px", "SAR 1.2 W/kg",
        "0.9 x 0.9 x 3 mm", "Tc-99m MDP 740 MBq", "F-18 FDG 370 MBq", "Ga-68 PSMA-11", "Lu-177 cycle 2",
        "BMI 27.4", "GFR 60 mL/min", "HU 35", "Agatston 400", "CAD-RADS 3", "LI-RADS 5", "TNM T2N1M0",
        "RECIST 1.1", "Fleischner 2017 guidelines", "ICD-10 C34.1", "CPT 71250", "SNOMED 363358000",
        "ACR 2019 criteria", "WHO grade 4", "ASPECTS 8", "NIHSS 12", "GCS 15", "APACHE II 14"]
for c in CLIN:
    T("Clinical", c)
for (f, s) in ROWS:
    print(f"{f}\t{s}")

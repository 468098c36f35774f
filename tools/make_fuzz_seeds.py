#!/usr/bin/env python3
"""Regenerate the committed libFuzzer seed corpora (standard library only).

    python3 tools/make_fuzz_seeds.py [--shared ../shared] [--out tests/fuzz/corpus]

tests/fuzz/corpus/reader/  small, diverse DICOM files picked from ../shared/data/dicom (only sources with
                           permissive licences: MIT / BSD; see NOTICE), large ones cut to their first 16 KiB,
                           plus hand-made edge cases (deep nesting, lying lengths, truncations ...).
tests/fuzz/corpus/config/  DeidentifyConfig JSON: every request example of the Healthcare API guide
                           (../shared/seed/dicom-deidentify-guide.txt), the skeleton in
                           ../shared/spec/gcp-api.md, and hand-written edge cases.

Budget (kept lean for the repo): reader <= 52 files, each <= 16 KiB, <= 400 KiB in all. The output is
deterministic: the same shared/ gives byte-identical corpora. Both directories are rewritten from scratch.
"""
import argparse
import hashlib
import json
import os
import re
import struct
import sys
import zlib

MAX_FILE = 16 * 1024
MAX_FILES = 52
MAX_TOTAL = 400 * 1024

# (path under shared/data/dicom, why it is here). Files larger than 16 KiB are cut to their first 16 KiB.
DICOM_PICKS = [
    ("pydicom/meta_missing_tsyntax.dcm", "file meta without TransferSyntaxUID; private SQ, UN"),
    ("pydicom/nested_priv_SQ.dcm", "nested private sequences, undefined lengths"),
    ("pydicom/no_meta_group_length.dcm", "file meta without group length"),
    ("pydicom/ExplVR_BigEndNoMeta.dcm", "raw dataset, explicit big endian, no preamble/meta"),
    ("pydicom/charset/chrSQEncoding1.dcm", "ISO 2022 charset inside a sequence"),
    ("pydicom/UN_sequence.dcm", "sequence encoded as UN, undefined length, depth 3"),
    ("pydicom/SC_rgb_small_odd_jpeg.dcm", "JPEG baseline, encapsulated pixel data"),
    ("pydicom/rtplan_truncated.dcm", "truncated inside a sequence"),
    ("presidio/0_ORIGINAL_no_pixels.dcm", "synthetic-PHI CR header, private + UN, undefined-length SQ"),
    ("pydicom/rtstruct.dcm", "no preamble/meta, implicit, 10 undefined-length SQ depth 3"),
    ("pydicom/SC_rgb_rle_2frame.dcm", "RLE, 2 frames"),
    ("pydicom/reportsi.dcm", "SR, 19 undefined-length SQ depth 4"),
    ("dicognito/burned_in_yes.dcm", "JPEG 2000, 65 private elements"),
    ("pydicom/JPEG2000-embedded-sequence-delimiter.dcm", "sequence delimiter bytes inside a fragment"),
    ("pydicom/dicomdir/DICOMDIR", "media storage directory"),
    ("pydicom/SC_rgb_jpeg.dcm", "malformed: explicit VR declared, implicit found"),
    ("pydicom/image_dfl.dcm", "deflated explicit VR LE"),
    ("dicognito/CT_small_deflated.dcm", "deflated CT (cut: truncated deflate stream)"),
    ("pydicom-data/liver_deflate.dcm", "Deflated Image Frame Compression, 32 undefined-length SQ"),
    ("pydicom/badVR.dcm", "invalid VR"),
    ("pydicom/waveform_ecg.dcm", "ECG waveform, 139 undefined-length SQ (cut)"),
    ("pydicom-data/eCT_Supplemental.dcm", "enhanced CT, functional groups (cut)"),
    ("pydicom-data/explicit_VR-UN.dcm", "explicit VR UN elements (cut)"),
]

# Hand-made reader edge cases come after the picks; together at most MAX_FILES.


# ----------------------------------------------------------------------------------------------------------
# A tiny DICOM encoder for the hand-made cases.
def tag_bytes(tag, be=False):
    g, e = tag >> 16, tag & 0xFFFF
    return struct.pack(">HH" if be else "<HH", g, e)


LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


def el_explicit(tag, vr, value, length=None, be=False):
    n = len(value) if length is None else length
    if vr in LONG_VRS:
        return tag_bytes(tag, be) + vr + b"\0\0" + struct.pack(">I" if be else "<I", n) + value
    return tag_bytes(tag, be) + vr + struct.pack(">H" if be else "<H", n) + value


def el_implicit(tag, value, length=None):
    n = len(value) if length is None else length
    return tag_bytes(tag) + struct.pack("<I", n) + value


def pad(v, ch=b" "):
    return v + ch if len(v) % 2 else v


ITEM = 0xFFFEE000
ITEM_DELIM = 0xFFFEE00D
SEQ_DELIM = 0xFFFEE0DD
UNDEF = 0xFFFFFFFF


def item(body, undefined=False):
    if undefined:
        return el_implicit(ITEM, body, UNDEF) + el_implicit(ITEM_DELIM, b"")
    return el_implicit(ITEM, body)


def meta(ts, sop_class=b"1.2.840.10008.5.1.4.1.1.7", sop_inst=b"2.25.1234"):
    body = (el_explicit(0x00020001, b"OB", b"\0\1")
            + el_explicit(0x00020002, b"UI", pad(sop_class, b"\0"))
            + el_explicit(0x00020003, b"UI", pad(sop_inst, b"\0"))
            + el_explicit(0x00020010, b"UI", pad(ts, b"\0"))
            + el_explicit(0x00020012, b"UI", pad(b"1.2.3.4", b"\0")))
    return b"\0" * 128 + b"DICM" + el_explicit(0x00020000, b"UL", struct.pack("<I", len(body))) + body


EXPL = b"1.2.840.10008.1.2.1"
IMPL = b"1.2.840.10008.1.2"
EXPB = b"1.2.840.10008.1.2.2"
DEFL = b"1.2.840.10008.1.2.1.99"
JPEG = b"1.2.840.10008.1.2.4.50"


def base_ds():
    return (el_explicit(0x00080016, b"UI", pad(b"1.2.840.10008.5.1.4.1.1.7", b"\0"))
            + el_explicit(0x00080018, b"UI", pad(b"2.25.1234", b"\0"))
            + el_explicit(0x00100010, b"PN", pad(b"FUZZ^SEED"))
            + el_explicit(0x00100020, b"LO", pad(b"ID-0001")))


def nested_undefined(depth):
    """depth levels of undefined-length sequences/items (ReferencedSeriesSequence), explicit LE."""
    inner = el_explicit(0x00100010, b"PN", pad(b"DEEP^NAME"))
    for _ in range(depth):
        seq = el_explicit(0x00081115, b"SQ", b"", UNDEF)
        inner = seq + item(inner, undefined=True) + el_implicit(SEQ_DELIM, b"")
    return inner


def nested_defined(depth):
    inner = el_explicit(0x00100020, b"LO", pad(b"DEEP-ID"))
    for _ in range(depth):
        it = item(inner)
        inner = el_explicit(0x00081115, b"SQ", it)
    return inner


def hand_made_reader_cases():
    cases = {}
    cases["edge-empty"] = b""
    cases["edge-preamble-only"] = b"\0" * 128 + b"DICM"
    cases["edge-dicm-no-preamble"] = b"DICM" + el_explicit(0x00020010, b"UI", pad(EXPL, b"\0"))
    # Group length claims far more than the file holds.
    m = bytearray(meta(EXPL))
    m[132 + 8:132 + 12] = struct.pack("<I", 0x7FFFFFF0)
    cases["edge-meta-group-length-lies"] = bytes(m) + base_ds()
    # Meta says deflated, payload is not a deflate stream.
    cases["edge-deflate-garbage"] = meta(DEFL) + b"\x78\x9c\xff\xff\x00garbage-not-deflate" * 4
    # Meta says implicit VR, dataset is explicit.
    cases["edge-ts-mismatch"] = meta(IMPL) + base_ds()
    # Deep nesting beyond any sane limit (undefined lengths) and just within (defined lengths).
    cases["edge-deep-undefined-300"] = meta(EXPL) + base_ds() + nested_undefined(300)
    cases["edge-deep-defined-15"] = meta(EXPL) + base_ds() + nested_defined(15)
    # A value length running past the end of the file.
    cases["edge-length-past-eof"] = meta(EXPL) + base_ds() + el_explicit(0x00181030, b"LO", b"AB", 0xFFF0)
    # OB with undefined length outside PixelData.
    cases["edge-ob-undefined-length"] = (meta(EXPL) + base_ds()
                                         + el_explicit(0x00091010, b"OB", b"", UNDEF) + b"\xfe\xff\xdd\xe0\0\0\0\0")
    # An encapsulated text document (DEIDENTIFY_TAG_CONTENTS cleans it and regenerates its UIDs) and its length.
    doc = (b'<?xml version="1.0"?><doc><name>FUZZ SEED</name><id>ID-0001</id>'
           b'<study>1.2.826.0.1.3680043.2.1125.77</study><seen>2020-03-05</seen></doc>')
    cases["edge-encapsulated-document"] = (meta(EXPL) + base_ds()
                                           + el_explicit(0x0020000D, b"UI", pad(b"1.2.826.0.1.3680043.2.1125.77", b"\0"))
                                           + el_explicit(0x00420011, b"OB", pad(doc, b"\0"))
                                           + el_explicit(0x00420015, b"UL", struct.pack("<I", len(doc))))
    # A CDA with the structure document_text.c reads: templateId, codeSystem, id and setId extensions, address and
    # name parts, a patient's address and name written as text, a telecom, CDATA fields, an HL7 timestamp, base64
    # elements (with CDATA and a comment), character references (and some that are none); its MIME type names text.
    cda = (b'<?xml version="1.0"?><ClinicalDocument><templateId root="2.16.840.1.113883.10.20.22.1.1" '
           b'extension="2015-08-01"/><id root="2.16.840.1.113883.19.5" extension="TT988"/>'
           b'<setId root="2.16.840.1.113883.19" extension="QX-7"/><effectiveTime value="20130815120000-0500"/>'
           b'<code code="1" codeSystem="2.16.840.1.113883.6.1"/><addr><city>Beaverton</city>'
           b'<postalCode>97867</postalCode></addr><name><given>Fuzz</given><family>Seed</family></name>'
           b'<recordTarget><patientRole><addr use="HP">1357 Amber Drive <state>OR</state> 97867</addr>'
           b'<telecom use="HP" value="tel:5557001;ext=12"/><patient><name>Fuzz J Seed</name><guardian>'
           b'<guardianPerson><name><given><![CDATA[Homer]]></given></name></guardianPerson></guardian>'
           b'</patient></patientRole></recordTarget>'
           b'<nonXMLBody><text representation="B64">JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3Ro\n'
           b'SG9tZXI=</text></nonXMLBody><text representation="B64"><![CDATA[TWFyZ2U=]]><!-- x --></text>'
           b'<text>Pt M&#252;ller &#86;rbnik &amp; &lt;b&gt; 2020&#45;03&#45;05 &#0; &bogus; & &#x1F600;</text>'
           b'</ClinicalDocument>')
    cases["edge-cda-structure"] = (meta(EXPL) + base_ds()
                                   + el_explicit(0x0020000D, b"UI", pad(b"1.2.826.0.1.3680043.2.1125.77", b"\0"))
                                   + el_explicit(0x00420011, b"OB", pad(cda, b"\0"))
                                   + el_explicit(0x00420012, b"LO", pad(b"text/XML"))
                                   + el_explicit(0x00420015, b"UL", struct.pack("<I", len(cda))))
    # Unknown VR code, odd length value.
    cases["edge-unknown-vr-odd"] = meta(EXPL) + base_ds() + el_explicit(0x00181030, b"ZZ", b"ABC")
    # Stray delimiters at top level.
    cases["edge-stray-delimiters"] = (meta(EXPL) + base_ds() + el_implicit(ITEM_DELIM, b"")
                                      + el_implicit(SEQ_DELIM, b"") + el_explicit(0x00200010, b"SH", pad(b"1")))
    # Items whose defined length overruns the sequence.
    seq_body = el_implicit(ITEM, el_explicit(0x00100010, b"PN", pad(b"A^B")), 0x200)
    cases["edge-item-overruns-seq"] = meta(EXPL) + base_ds() + el_explicit(0x00081115, b"SQ", seq_body)
    # Encapsulated pixel data: fragment of odd length, then no sequence delimiter (truncated).
    px = (el_explicit(0x7FE00010, b"OB", b"", UNDEF) + el_implicit(ITEM, b"") + el_implicit(ITEM, b"\xff\xd8\xff")
          + el_implicit(ITEM, b"\xff\xd9", 0x100000))
    cases["edge-encapsulated-truncated"] = meta(JPEG) + base_ds() + px
    # Big endian dataset with a private creator and a private SQ of undefined length.
    be_ds = (el_explicit(0x00080018, b"UI", pad(b"2.25.99", b"\0"), be=True)
             + el_explicit(0x00090010, b"LO", pad(b"FUZZ CREATOR"), be=True)
             + el_explicit(0x00091001, b"SQ", b"", UNDEF, be=True)
             + struct.pack(">HHI", 0xFFFE, 0xE000, UNDEF)
             + el_explicit(0x00100010, b"PN", pad(b"BIG^ENDIAN"), be=True)
             + struct.pack(">HHI", 0xFFFE, 0xE00D, 0) + struct.pack(">HHI", 0xFFFE, 0xE0DD, 0))
    cases["edge-big-endian-private-sq"] = meta(EXPB) + be_ds
    # Implicit VR: private element with undefined length (must be read as an implicit SQ).
    # Also a command element before the dataset (never written), private text read as UN (cleaned as text when it
    # is: a sentence, a parameter list) and a binary private value.
    impl = (el_implicit(0x00000102, pad(b"CMD Fuzz Seed")) + el_implicit(0x00080018, pad(b"2.25.77", b"\0"))
            + el_implicit(0x00290010, pad(b"SIEMENS CSA HEADER"))
            + el_implicit(0x00291001, pad(b"Seen by Dr Fuzz Seed, tel 555-0199"))
            + el_implicit(0x00291002, pad(b"EC=0.00\\FA=C\\FP=0.1")) + el_implicit(0x00291003, b"\x01\x00\x02\x00")
            + el_implicit(0x00291010, b"", UNDEF) + item(el_implicit(0x00100010, pad(b"IMPL^SQ")), True)
            + el_implicit(SEQ_DELIM, b""))
    cases["edge-implicit-private-undefined"] = meta(IMPL) + impl
    # Tags out of ascending order and a duplicated tag.
    cases["edge-tags-unordered"] = (meta(EXPL) + el_explicit(0x00100020, b"LO", pad(b"B"))
                                    + el_explicit(0x00080018, b"UI", pad(b"2.25.5", b"\0"))
                                    + el_explicit(0x00100020, b"LO", pad(b"C")))
    # Reader recovery and transfer-syntax paths (issue 5 item 12).
    impl_ds = (el_implicit(0x00080016, pad(b"1.2.840.10008.5.1.4.1.1.7", b"\0"))
               + el_implicit(0x00080018, pad(b"2.25.1234", b"\0")) + el_implicit(0x00100010, pad(b"MIS^LABELLED")))
    cases["edge-implicit-labelled-explicit"] = meta(EXPL) + impl_ds
    cases["edge-unknown-vr-letters"] = (meta(EXPL) + base_ds() + tag_bytes(0x00091010) + b"QQ\0\0"
                                        + struct.pack("<I", 4) + b"ABCD" + el_explicit(0x00200010, b"SH", pad(b"1")))
    native_px = el_explicit(0x7FE00010, b"OW", bytes(range(16)))
    cases["edge-jpegls-native-pixels"] = meta(b"1.2.840.10008.1.2.4.80") + base_ds() + native_px
    enc_px = (el_explicit(0x7FE00010, b"OB", b"", UNDEF) + el_implicit(ITEM, b"")
              + el_implicit(ITEM, b"\xff\xd8\xff\xd9") + el_implicit(SEQ_DELIM, b""))
    cases["edge-unknown-ts-encapsulated"] = meta(b"1.2.826.0.1.3680043.10.1.77") + base_ds() + enc_px
    cases["edge-unknown-ts-native"] = meta(b"1.2.826.0.1.3680043.10.1.77") + base_ds() + native_px
    def us(tag, v):
        return el_explicit(tag, b"US", struct.pack("<H", v))
    def image(rows, cols, bits):
        return (us(0x00280002, 1) + el_explicit(0x00280004, b"CS", pad(b"MONOCHROME2")) + us(0x00280010, rows)
                + us(0x00280011, cols) + us(0x00280100, bits) + us(0x00280101, bits) + us(0x00280102, bits - 1)
                + us(0x00280103, 0))
    # Overlay planes embedded in unused bits of native pixel data (two declared by groups 6000/6002, one with
    # its own OverlayData): the plane clearing of removed overlays.
    def overlay(group, bit, data=None):
        g = group << 16
        body = (us(g | 0x0010, 4) + us(g | 0x0011, 4)
                + (el_explicit(g | 0x0022, b"LO", pad(b"SEED OVERLAY TEXT")) if data is None else b"")
                + el_explicit(g | 0x0040, b"CS", pad(b"G"))
                + (el_explicit(g | 0x0050, b"SS", struct.pack("<2h", 1, 1)) if data is None else b"")
                + us(g | 0x0100, 1 if data is not None else 16) + us(g | 0x0102, bit))
        return body + (el_explicit(g | 0x3000, b"OW", data) if data is not None else b"")
    px = [0xc000, 0x0061, 0x00c2, 0x8123, 0x0184, 0x41e5, 0x8246, 0x02a7, 0x0308, 0x8369, 0x43ca, 0x042b, 0x848c,
          0x04ed, 0x054e, 0xc5af, 0x0610, 0x0671, 0x86d2, 0x0733, 0x4794, 0x87f5, 0x0856, 0x08b7, 0x8918, 0x4979,
          0x09da, 0x8a3b, 0x0a9c, 0x0afd, 0xcb5e, 0x0bbf]
    ovl_ds = (el_explicit(0x00080016, b"UI", pad(b"1.2.840.10008.5.1.4.1.1.7", b"\0"))
              + el_explicit(0x00080018, b"UI", pad(b"1.2.3.4.5.6.7", b"\0"))
              + el_explicit(0x00100010, b"PN", pad(b"FUZZ^SEED")) + el_explicit(0x00100020, b"LO", pad(b"SEED123"))
              + us(0x00280002, 1) + el_explicit(0x00280004, b"CS", pad(b"MONOCHROME2"))
              + el_explicit(0x00280008, b"IS", pad(b"2")) + us(0x00280010, 4) + us(0x00280011, 4)
              + us(0x00280100, 16) + us(0x00280101, 12) + us(0x00280102, 11) + us(0x00280103, 0)
              + overlay(0x6000, 15) + overlay(0x6002, 14) + overlay(0x6004, 0, b"\x5a\xa5")
              + el_explicit(0x7FE00010, b"OW", struct.pack("<32H", *px)))
    cases["edge-overlay-embedded-in-pixel-bits"] = meta(EXPL, sop_inst=b"1.2.3.4.5.6.7") + ovl_ds
    # Where no decoder reads (stop 31): an RLE frame with text in its header's unused offsets, before its first
    # segment and after each segment's plane; a JPEG with an Extended Offset Table that indexes nothing.
    s1 = bytes([0x07]) + bytes(range(1, 9)) + b"DOE^JOHN"
    s2 = bytes([0xFD, 9, 0x05]) + bytes(range(10, 16)) + b"\x80MRN4471339"
    rle = (struct.pack("<3I", 2, 72, 72 + len(s1)) + b"SMITH^ANNA MRN12" + bytes(36) + b"GAP^TEXT" + s1 + s2)
    rle += b"\0" * (len(rle) & 1)
    def encapsulated(frag):
        return (el_explicit(0x7FE00010, b"OB", b"", UNDEF) + el_implicit(ITEM, b"") + el_implicit(ITEM, frag)
                + el_implicit(SEQ_DELIM, b""))
    cases["edge-rle-hidden-tails"] = meta(b"1.2.840.10008.1.2.5") + base_ds() + image(2, 4, 16) + encapsulated(rle)
    jpeg = b"\xff\xd8\xff\xfe\x00\x06note\xff\xd9"
    cases["edge-eot-lying"] = (meta(JPEG) + base_ds() + image(1, 1, 8)
                               + el_explicit(0x7FE00001, b"OV", b"Zyxwv^Quentin ZQ4471339 ")
                               + el_explicit(0x7FE00002, b"OV", struct.pack("<Q", len(jpeg))) + encapsulated(jpeg))
    # Deflated datasets that inflate past the fuzzer's keep-whole threshold (256 x its 1 KiB inline
    # threshold): the streaming inflater, its access points, and elements after a big bulk value.
    big = bytearray(2 << 20)  # mostly zeros, so 2 MiB deflates to a few KiB (the seed budget is 16 KiB);
    # with the OB below the dataset stays under the fuzzer's 4 MiB inflate cap
    for i in range(0, len(big), 65536):
        big[i:i + 8] = struct.pack("<Q", i * 2654435761 % (1 << 64))
    big = bytes(big)
    body = (base_ds() + el_explicit(0x00091010, b"OB", big[: 1 << 19]) + el_explicit(0x00200010, b"SH", pad(b"7"))
            + el_explicit(0x7FE00010, b"OB", big))
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    cases["edge-deflate-streaming"] = meta(DEFL) + co.compress(body) + co.flush()
    seq = el_explicit(0x00081115, b"SQ", b"", UNDEF) + item(el_explicit(0x00091011, b"OB", big[:600000]), True) \
        + el_implicit(SEQ_DELIM, b"")
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    cases["edge-deflate-streaming-sq"] = meta(DEFL) + co.compress(base_ds() + seq) + co.flush()
    return cases


# ----------------------------------------------------------------------------------------------------------
# Config seeds.
def extract_json_objects(text):
    """Every JSON object in text that decodes; returns (raw substring, value) pairs, longest first per start."""
    dec = json.JSONDecoder()
    out = []
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            break
        try:
            val, end = dec.raw_decode(text, i)
        except ValueError:
            i += 1
            continue
        out.append((text[i:end], val))
        i = end
    return out


def is_config(val):
    if not isinstance(val, dict):
        return False
    keys = set(val)
    return bool(keys & {"config", "dicomTagConfig", "dicom"})


HAND_CONFIGS = {
    "edge-empty": "",
    "edge-empty-object": "{}",
    "edge-null": "null",
    "edge-array": "[]",
    "edge-string": '"dicomTagConfig"',
    "edge-config-null": '{"config": null}',
    "edge-config-empty": '{"config": {}}',
    "edge-dicomtag-empty": '{"dicomTagConfig": {}}',
    "basic-profile": '{"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}',
    "keep-all-profile": '{"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}',
    "minimal-keep-list": '{"dicomTagConfig": {"profileType": "MINIMAL_KEEP_LIST_PROFILE", '
                         '"actions": [{"queries": ["PatientSex", "00101010"], "keepTag": {}}]}}',
    "unspecified-profile": '{"dicomTagConfig": {"profileType": "PROFILE_TYPE_UNSPECIFIED", '
                           '"options": {"primaryIds": "PRIMARY_IDS_OPTION_UNSPECIFIED"}}}',
    "tag-contents-refused": '{"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}}',
    "all-actions": '{"dicomTagConfig": {"options": {"primaryIds": "REGEN"}, "actions": ['
                   '{"queries": ["PatientName", "00100020", "pn"], "keepTag": {}},'
                   '{"queries": ["0010ffff"], "removeTag": {}},'
                   '{"queries": ["OtherPatientIDsSequence"], "recurseTag": {}},'
                   '{"queries": ["UI"], "regenUidTag": {}},'
                   '{"queries": ["DA", "TM", "DT"], "resetTag": {}},'
                   '{"queries": ["InstitutionName"], "deleteTag": {}}]}}',
    "bad-queries": '{"dicomTagConfig": {"actions": [{"queries": ["NotAKeyword", "0010001", "GGGG0010", "", '
                   '"001000100", "XX"], "removeTag": {}}]}}',
    "queries-not-array": '{"dicomTagConfig": {"actions": [{"queries": "PatientName", "removeTag": {}}]}}',
    "action-two-kinds": '{"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "removeTag": {}, '
                        '"keepTag": {}}]}}',
    "action-no-kind": '{"dicomTagConfig": {"actions": [{"queries": ["PatientName"]}]}}',
    "action-empty-queries": '{"dicomTagConfig": {"actions": [{"queries": [], "deleteTag": {}}]}}',
    "clean-text-refused": '{"dicomTagConfig": {"actions": [{"queries": ["PN"], "cleanTextTag": {}}], '
                          '"options": {"cleanDescriptors": {}, "cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}}',
    "legacy-keeplist": '{"dicom": {"keepList": {"tags": ["PatientID", "00100010"]}, "skipIdRedaction": true}}',
    "legacy-removelist": '{"dicom": {"removeList": {"tags": ["PatientName", "StudyDate"]}}}',
    "legacy-filterprofile": '{"config": {"dicom": {"filterProfile": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}}',
    "legacy-union-conflict": '{"dicom": {"keepList": {"tags": ["PatientID"]}, "removeList": {"tags": ["PatientName"]}}}',
    "legacy-and-tagconfig": '{"dicom": {}, "dicomTagConfig": {}}',
    "image-and-tagconfig": '{"image": {"textRedactionMode": "REDACT_NO_TEXT"}, "dicomTagConfig": {}}',
    "fhir-refused": '{"fhir": {"fieldMetadataList": []}}',
    "wrong-types": '{"dicomTagConfig": {"profileType": 7, "options": [], "actions": {"queries": 1}}}',
    "unknown-enum": '{"dicomTagConfig": {"profileType": "NOPE", "options": {"primaryIds": "MAYBE"}}}',
    "duplicate-keys": '{"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "profileType": '
                      '"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}, "dicomTagConfig": {}}',
    "unicode-escapes": '{"dicomTagConfig": {"actions": [{"queries": ["Patient\\u004eame", "\\ud800", '
                       '"\\u0000PN"], "removeTag": {}}]}}',
    "numbers": '{"dicomTagConfig": {"x": 1e999, "y": -0.0, "z": 123456789012345678901234567890}}',
    "trailing-garbage": '{"dicomTagConfig": {}} {"dicomTagConfig": {}}',
    "bom": '\ufeff{"dicomTagConfig": {}}',
    "truncated": '{"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "remov',
    "deep-arrays": "[" * 3000 + "]" * 3000,
    "deep-objects": '{"a":' * 1500 + "1" + "}" * 1500,
}


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(repo, "..", "shared"))
    ap.add_argument("--out", default=os.path.join(repo, "tests", "fuzz", "corpus"))
    args = ap.parse_args()
    dicom_root = os.path.join(args.shared, "data", "dicom")
    guide = os.path.join(args.shared, "seed", "dicom-deidentify-guide.txt")
    gcp = os.path.join(args.shared, "spec", "gcp-api.md")

    rdir = os.path.join(args.out, "reader")
    cdir = os.path.join(args.out, "config")
    for d in (rdir, cdir):
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            os.remove(os.path.join(d, name))

    # Reader: picks from shared/, then hand-made edge cases.
    seeds = []
    for rel, _why in DICOM_PICKS:
        p = os.path.join(dicom_root, rel)
        if not os.path.isfile(p):
            print(f"make_fuzz_seeds: skip (missing) {rel}", file=sys.stderr)
            continue
        with open(p, "rb") as f:
            data = f.read(MAX_FILE)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", rel.replace("/", "-"))
        if not name.endswith(".dcm"):
            name += ".dcm"
        seeds.append((name, data))
    for name, data in hand_made_reader_cases().items():
        seeds.append((name + ".dcm", data[:MAX_FILE]))
    if len(seeds) > MAX_FILES:
        print(f"make_fuzz_seeds: {len(seeds)} reader seeds, keeping the first {MAX_FILES}", file=sys.stderr)
        seeds = seeds[:MAX_FILES]
    total = 0
    kept = []
    for name, data in seeds:
        if total + len(data) > MAX_TOTAL:
            print(f"make_fuzz_seeds: over the {MAX_TOTAL} byte budget, dropping {name}", file=sys.stderr)
            continue
        total += len(data)
        kept.append(name)
        write(os.path.join(rdir, name), data)

    # Config: the guide's request examples (whole body and its `config`), the API skeleton, hand-written cases.
    configs = {}
    seen = set()

    def add(prefix, raw):
        key = hashlib.sha1(raw.encode()).hexdigest()
        if key in seen:
            return
        seen.add(key)
        configs[f"{prefix}-{len([k for k in configs if k.startswith(prefix)]) + 1:02d}"] = raw

    for src, prefix in ((guide, "guide"), (gcp, "gcp-api")):
        if not os.path.isfile(src):
            print(f"make_fuzz_seeds: skip (missing) {src}", file=sys.stderr)
            continue
        with open(src, encoding="utf-8") as f:
            text = f.read()
        for raw, val in extract_json_objects(text):
            if not is_config(val):
                continue
            add(prefix, raw)
            if isinstance(val.get("config"), dict):
                add(prefix, json.dumps(val["config"], indent=1))
    for name, raw in HAND_CONFIGS.items():
        configs[name] = raw
    for name, raw in sorted(configs.items()):
        write(os.path.join(cdir, name + ".json"), raw.encode("utf-8"))

    print(f"make_fuzz_seeds: reader: {len(kept)} files, {total} bytes -> {os.path.relpath(rdir)}")
    print(f"make_fuzz_seeds: config: {len(configs)} files -> {os.path.relpath(cdir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

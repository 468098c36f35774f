#!/usr/bin/env python3
"""`dicomveil serve`: the WADO-RS endpoints that look inside an instance and DICOMweb DELETE (issue 7 item 4).

Helpers (Server, curl, multipart parsing) come from test_server.py. One server on a free loopback port with a
temporary data directory:

* test_frames: frames of a multi-frame native file (pydicom-data/emri_small.dcm, and its big endian twin in
  a store of its own, whose frames must come out little endian) and of encapsulated files (RLE
  pydicom/SC_rgb_rle_2frame.dcm, JPEG Baseline pydicom/examples_ybr_color.dcm) equal pydicom's frames; part
  media types; bad lists 400, frame past the end 404, unacceptable Accept 406;
* test_rendered: PNG (default) and JPEG decode with PIL to the frame's size; window= changes the picture;
  viewport= scales it; bad parameters 400; frame past the end 404;
* test_bulkdata: every BulkDataURI metadata emits resolves (PixelData native: the value bytes; encapsulated:
  its frames); test_bulkdata_big_endian: a big endian file's values come little endian, swapped per VR (emri's
  16-bit and RT Dose's 32-bit pixels, as pydicom reads them; OF, OD, OL, OV, OW, UN, an item's OF in a
  synthetic file), labelled explicit VR little endian, unless transfer-syntax= names big endian (as stored);
* test_delete: DELETE instance ({}), series and study (done Operations, persisted: operations.get answers the
  same JSON, operations.list holds it); a second DELETE is 404; QIDO and metrics no longer see them; the file
  goes; the same bytes kept in another store stay; a re-STOW after the delete works (no stale file);
* test_accept: Accept weighed (q=0, longer types, multipart type=), not searched for substrings;
* test_transfer_syntax: Accept's transfer-syntax= (PS3.18 8.7.3; no transcoding): frames of JPEG Baseline and
  JPEG 2000 instances in the form OHIF asks (multipart of application/octet-stream, transfer-syntax=*) are 200
  with the stored frames under the stored syntax; an instance, series or study retrieve, frames or bulkdata
  naming only another syntax is 406 naming the stored one (a study of mixed syntaxes, dcm_qa_ts, as soon as one
  instance is refused); the stored syntax or * is 200; q=0 refuses;
* test_malformed_stored: rendering a stored instance with malformed pixel attributes is 400 FAILED_PRECONDITION;
* test_stow_body_failing: a multipart body failing after stored parts is answered 202 with what was stored;
* test_recorded_resume: a recorded operation left unfinished in the index (the process stopped between its
  steps) is finished at the next start with its recorded response and every item counted.
"""
import base64
import io
import json
import os
import re
import sys
import tempfile
import shutil
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_server import Server, curl, check, fails, multipart_related, split_multipart, header, api_error, SHARED  # noqa: E402
import test_server as ts  # noqa: E402
sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy  # noqa: E402
import pydicom  # noqa: E402
from pydicom.encaps import generate_pixel_data_frame  # noqa: E402
from PIL import Image  # noqa: E402

D = os.path.join(SHARED, "dicom")
NATIVE = os.path.join(D, "pydicom-data", "emri_small.dcm")
NATIVE_BE = os.path.join(D, "pydicom-data", "emri_small_big_endian.dcm")
MR_BE = os.path.join(D, "pydicom", "MR_small_expb.dcm")
RLE = os.path.join(D, "pydicom", "SC_rgb_rle_2frame.dcm")
JPEG = os.path.join(D, "pydicom", "examples_ybr_color.dcm")
J2K = os.path.join(D, "orthanc-tests", "TransferSyntaxes_1.2.840.10008.1.2.4.91.dcm")
MIXED = [os.path.join(D, "dcm_qa_ts", f"{i}.dcm") for i in range(1, 10)]  # one study, 9 transfer syntaxes
FILES = [NATIVE, RLE, JPEG]  # store st; NATIVE_BE (same UIDs as NATIVE) goes to store stbe


def frames_of(path):
    """The stored frames per pydicom: native slices (little endian), or encapsulated fragments per frame."""
    ds = pydicom.dcmread(path)
    n = int(getattr(ds, "NumberOfFrames", 1))
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return [bytes(f) for f in generate_pixel_data_frame(ds.PixelData, n)]
    arr = ds.pixel_array.astype(ds.pixel_array.dtype.newbyteorder("<"))
    size = len(arr.tobytes()) // n
    raw = arr.tobytes()
    return [raw[i * size:(i + 1) * size] for i in range(n)]


def inst_url(web, path):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return f"{web}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}", ds


def stow(web, files):
    body, ctype = multipart_related(files)
    with tempfile.NamedTemporaryFile() as t:
        t.write(body)
        t.flush()
        st, _, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: " + ctype, data_file=t.name)
    return st, b


def test_frames(web, webbe):
    for path, media in ((NATIVE, "application/octet-stream"), (NATIVE_BE, "application/octet-stream"),
                        (RLE, "image/dicom-rle"), (JPEG, "image/jpeg")):
        name = os.path.basename(path)
        url, ds = inst_url(webbe if path == NATIVE_BE else web, path)
        want = frames_of(path)
        asked = [1, len(want), (len(want) + 1) // 2 + 1, 1]  # repeats allowed, in the order asked
        st, h, b = curl(url + "/frames/" + ",".join(map(str, asked)))
        ct = header(h, "Content-Type") or ""
        parts = split_multipart(b, ct) if st == 200 else []
        check(st == 200 and f'type="{media}"' in ct, f"frames {name}: 200 multipart of {media} ({st} {ct})")
        check([p[1] for p in parts] == [want[i - 1] for i in asked],
              f"frames {name}: parts equal pydicom's frames {asked} ({[len(p[1]) for p in parts]})")
        ts = "1.2.840.10008.1.2.1" if media == "application/octet-stream" else ds.file_meta.TransferSyntaxUID
        check(all(f"Content-Type: {media}; transfer-syntax={ts}" in p[0] for p in parts),
              f"frames {name}: part headers name {media} and the transfer syntax")
        st, _, b = curl(url + f"/frames/{len(want) + 1}")
        check(st == 404 and api_error(b, 404, "NOT_FOUND"), f"frames {name}: frame past the end 404 ({st})")
    url, _ = inst_url(web, NATIVE)
    for bad in ("0", "1,,2", ",1", "1,"):
        st, _, b = curl(url + "/frames/" + bad)
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"), f"frames '{bad}': 400 ({st})")
    st, _, _ = curl(url + "/frames/1", "-H", 'Accept: multipart/related; type="image/jpeg"')
    check(st == 406, f"frames: Accept of another media type (no transcoding) 406 ({st})")
    st, _, _ = curl(url + "/frames/1", "-H", 'Accept: multipart/related; type="application/octet-stream"')
    check(st == 200, f"frames: Accept naming the stored media type 200 ({st})")


def png_or_jpeg(b):
    try:
        im = Image.open(io.BytesIO(b))
        im.load()
        return im
    except Exception:  # noqa: BLE001 - any decode failure is a test failure
        return None


def test_rendered(web):
    url, ds = inst_url(web, NATIVE)
    st, h, b = curl(url + "/rendered")
    im = png_or_jpeg(b) if st == 200 else None
    check(im is not None and im.format == "PNG" and im.size == (64, 64) and header(h, "Content-Type") == "image/png",
          f"rendered instance: a 64x64 PNG ({st} {im and (im.format, im.size)})")
    st, h, b = curl(url + "/frames/3/rendered", "-H", "Accept: image/jpeg")
    im = png_or_jpeg(b) if st == 200 else None
    check(im is not None and im.format == "JPEG" and im.size == (64, 64) and header(h, "Content-Type") == "image/jpeg",
          f"rendered frame 3 as JPEG: 64x64 ({st})")
    st, _, b1 = curl(url + "/frames/3/rendered")
    st2, _, b2 = curl(url + "/frames/3/rendered?window=100,50,linear")
    check(st == 200 and st2 == 200 and b1 != b2 and png_or_jpeg(b2) is not None, "rendered: window= changes the picture")
    st, _, _ = curl(url + "/frames/3/rendered?window=-1.5e2,5e1,linear")
    check(st == 200, f"rendered: window= in decimal with a sign and an exponent ({st})")
    st, _, b = curl(url + "/rendered?viewport=32,16")
    im = png_or_jpeg(b) if st == 200 else None
    check(im is not None and im.size == (16, 16), f"rendered viewport=32,16 of 64x64: 16x16 ({im and im.size})")
    url2, _ = inst_url(web, JPEG)
    st, _, b = curl(url2 + "/frames/30/rendered")
    im = png_or_jpeg(b) if st == 200 else None
    check(im is not None and im.size == (320, 240) and im.mode == "RGB",
          f"rendered JPEG Baseline YBR frame 30: 320x240 RGB ({st} {im and (im.size, im.mode)})")
    for q in ("window=1", "window=10,0", "window=1,2,cubic", "viewport=1,2,3,4,5,6", "viewport=0,5", "quality=101",
              "colour=1", "window=0x10,0x10", "window=inf,5", "window=%2010,5", "window=--1,5", "viewport=0x20,16"):
        st, _, b = curl(url + "/rendered?" + q)
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"), f"rendered ?{q}: 400 ({st})")
    st, _, _ = curl(url + "/frames/11/rendered")
    check(st == 404, f"rendered frame past the end: 404 ({st})")
    st, _, _ = curl(url + "/frames/1,2/rendered")
    check(st == 400, f"rendered of two frames: 400 ({st})")
    st, _, _ = curl(url + "/rendered", "-H", "Accept: image/gif")
    check(st == 406, f"rendered as image/gif: 406 ({st})")


def bulk_uris(node, out):
    if isinstance(node, dict):
        if "BulkDataURI" in node:
            out.append(node["BulkDataURI"])
        for v in node.values():
            bulk_uris(v, out)
    elif isinstance(node, list):
        for v in node:
            bulk_uris(v, out)
    return out


def test_bulkdata(web, webbe, tmp):
    for path in (NATIVE, RLE):
        url, ds = inst_url(web, path)
        st, _, b = curl(url + "/metadata")
        uris = bulk_uris(json.loads(b), []) if st == 200 else []
        check(len(uris) >= 1, f"metadata of {os.path.basename(path)} names bulk data")
        for u in uris:
            st, h, b = curl(u)
            check(st == 200, f"BulkDataURI resolves: {u.rsplit('/bulkdata/', 1)[-1]} ({st})")
        px = [u for u in uris if u.endswith("/7FE00010")]
        st, h, b = curl(px[0]) if px else (None, "", b"")
        parts = split_multipart(b, header(h, "Content-Type") or "") if st == 200 else []
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            check([p[1] for p in parts] == frames_of(path), "bulkdata PixelData (encapsulated): its frames")
        else:
            full = pydicom.dcmread(path)
            check(len(parts) == 1 and parts[0][1] == full.PixelData, "bulkdata PixelData (native): the value bytes")
            st, h, b = curl(px[0], "-H", "Accept: application/octet-stream")
            check(st == 200 and b == full.PixelData, "bulkdata as a bare application/octet-stream body")
    test_bulkdata_big_endian(webbe, tmp)
    url, _ = inst_url(web, NATIVE)
    st, _, _ = curl(url + "/bulkdata/00991000")
    check(st == 404, f"bulkdata of an absent tag: 404 ({st})")
    st, _, _ = curl(url + "/bulkdata/7FE0")
    check(st == 400, f"bulkdata malformed tag path: 400 ({st})")


LE_TS, BE_TS = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"
# numpy's type of one number of each VR a bulk value of a big endian file can have (PS3.5 7.3): the test's own
# swap, independent of the server's.
BE_WORD = {"OW": ">u2", "OF": ">f4", "OL": ">u4", "OD": ">f8", "OV": ">u8"}


def to_le(value, vr):
    """value (bytes as stored big endian, pydicom's raw value) little endian per VR; a tail shorter than a word
    stays as it is, OB and UN bytes are unchanged."""
    if vr not in BE_WORD:
        return bytes(value)
    dt = numpy.dtype(BE_WORD[vr])
    n = len(value) - len(value) % dt.itemsize
    return numpy.frombuffer(value[:n], dt).astype(dt.newbyteorder("<")).tobytes() + bytes(value[n:])


def be_values_file(tmp):
    """A big endian instance (pydicom/MR_small_expb.dcm with a new SOPInstanceUID) holding a bulk value of each
    binary VR: OF whose length (1202) is not a multiple of 4, OD, OL, OV, OW LUT data, a private UN (bytes kept),
    an OF inside a sequence item. Values over 1 KiB, so metadata names them by BulkDataURI. Returns
    (path, {tag path: (VR, value as stored)})."""
    import struct
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid
    ds = pydicom.dcmread(MR_BE)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    vals = {
        "00660016": ("OF", struct.pack(">300f", *[i * 0.5 - 7.25 for i in range(300)]) + b"\x01\x02"),
        "00660022": ("OD", struct.pack(">140d", *[i / 3.0 - 11 for i in range(140)])),
        "00660040": ("OL", struct.pack(">300I", *[i * 65599 + 7 for i in range(300)])),
        "00720081": ("OV", struct.pack(">140Q", *[(i + 1) * 0x0102030405 for i in range(140)])),
        "00281201": ("OW", struct.pack(">600H", *[i * 97 % 65536 for i in range(600)])),
        "00091001": ("UN", bytes(range(256)) * 4 + b"\xfe\xff"),
    }
    for path, (vr, v) in vals.items():
        ds.add_new(int(path, 16), vr, v)
    ds.add_new(0x00090010, "LO", "DVTEST")
    # Values of 1 KiB or less: metadata carries them as InlineBinary (private, so their VRs are the file's).
    inline = {
        "00091002": ("OF", struct.pack(">20f", *[i * 0.25 - 2 for i in range(20)])),
        "00091003": ("OW", struct.pack(">30H", *[i * 1031 % 65536 for i in range(30)])),
        "00091004": ("OD", struct.pack(">9d", *[i / 7.0 for i in range(9)])),
        "00091005": ("OB", bytes(range(40))),
    }
    for path, (vr, v) in inline.items():
        ds.add_new(int(path, 16), vr, v)
    item = Dataset()
    nested = ("OF", struct.pack(">260f", *[i * 1.5 for i in range(260)]))
    item.add_new(0x00660016, "OF", nested[1])
    ds.add_new(0x00660011, "SQ", [item])
    vals["00660011/0/00660016"] = nested
    out = os.path.join(tmp, "be-values.dcm")
    ds.save_as(out, write_like_original=False)
    back = pydicom.dcmread(out)  # the values as pydicom reads the written file: what the server stores
    check(back.file_meta.TransferSyntaxUID == BE_TS and back[0x00660016].value == vals["00660016"][1]
          and back[0x00091003].value == inline["00091003"][1],
          "the synthetic big endian file is explicit VR big endian with the values as given")
    return out, vals, inline


def bulk_get(url, accept):
    """(status, label of the value's bytes, the bytes) of a bulkdata GET: a bare body or a one-part multipart."""
    st, h, b = curl(url, "-H", "Accept: " + accept)
    ct = header(h, "Content-Type") or ""
    if st != 200:
        return st, ct, b
    if ct.startswith("multipart/related"):
        parts = split_multipart(b, ct)
        if len(parts) != 1:
            return st, f"{len(parts)} parts", b""
        m = re.search(r"^Content-Type:\s*(.*?)\s*$", parts[0][0], re.I | re.M)
        return st, (m.group(1) if m else ""), parts[0][1]
    return st, ct, b


def test_bulkdata_big_endian(webbe, tmp):
    """A value of an explicit VR big endian file is sent little endian, swapped per its VR and labelled explicit
    VR little endian, as its frames are (PS3.18 8.7.3.3.2: the default for uncompressed bulk data; Table
    8.7.3-4), for an Accept without transfer-syntax= (before: 406), with it naming little endian, or "*" (before:
    the stored big endian bytes). Naming 1.2.840.10008.1.2.2 gets the bytes as stored under that label; another
    syntax is 406."""
    url, _ = inst_url(webbe, NATIVE_BE)
    full = pydicom.dcmread(NATIVE_BE)
    le = full.pixel_array.astype(full.pixel_array.dtype.newbyteorder("<")).tobytes()
    check(le == b"".join(frames_of(NATIVE_BE)) and le != full.PixelData, "test data: emri BE pixels swap to its frames")
    oct_ = "application/octet-stream"
    mp = 'multipart/related; type="application/octet-stream"'
    for accept, want in ((oct_, LE_TS), (mp, LE_TS), (oct_ + "; transfer-syntax=*", LE_TS),
                         (mp + "; transfer-syntax=*", LE_TS), (oct_ + "; transfer-syntax=" + LE_TS, LE_TS),
                         ("*/*", LE_TS),
                         (oct_ + "; transfer-syntax=" + BE_TS, BE_TS), (mp + "; transfer-syntax=" + BE_TS, BE_TS),
                         (f"{oct_}; transfer-syntax={BE_TS}, {mp}; q=0.5", BE_TS),
                         (f"{oct_}; transfer-syntax={BE_TS}; q=0.5, {mp}", LE_TS),
                         (oct_ + "; transfer-syntax=1.2.840.10008.1.2.4.50", None)):
        st, ct, b = bulk_get(url + "/bulkdata/7FE00010", accept)
        if want is None:
            check(st == 406, f"bulkdata of a big endian file, Accept {accept}: 406 ({st})")
            continue
        body = le if want == LE_TS else full.PixelData
        check(st == 200 and ct == f"{oct_}; transfer-syntax={want}" and b == body,
              f"bulkdata of a big endian file, Accept {accept}: 200 {want} with "
              f"{'the pixels swapped as its frames' if want == LE_TS else 'the stored bytes'} ({st} {ct} {len(b)})")
    # 32-bit pixels in OW (RT Dose): swapped per pixel, as pydicom reads them and the frames come.
    path = os.path.join(D, "pydicom", "rtdose_expb.dcm")
    st, _ = stow(webbe, [path])
    check(st == 200, f"STOW of the big endian RT Dose: 200 ({st})")
    dose = pydicom.dcmread(path)
    want = dose.pixel_array.astype(dose.pixel_array.dtype.newbyteorder("<")).tobytes()
    st, ct, b = bulk_get(inst_url(webbe, path)[0] + "/bulkdata/7FE00010", oct_)
    check(st == 200 and ct.endswith(LE_TS) and b == want and b != to_le(dose.PixelData, "OW"),
          f"bulkdata of 32-bit big endian pixels: swapped per 4 bytes ({st} {ct})")
    # Other VRs: each per its word size, UN as stored, inside an item too; every BulkDataURI metadata names.
    path, vals, inline = be_values_file(tmp)
    st, _ = stow(webbe, [path])
    check(st == 200, f"STOW of the synthetic big endian file: 200 ({st})")
    iurl, _ = inst_url(webbe, path)
    st, _, b = curl(iurl + "/metadata")
    uris = {u.rsplit("/bulkdata/", 1)[-1]: u for u in bulk_uris(json.loads(b), [])} if st == 200 else {}
    back = pydicom.dcmread(path)
    for tp, (vr, _) in vals.items():
        el = back
        for k, part in enumerate(tp.split("/")):
            el = el[int(part, 16)] if k % 2 == 0 else el.value[int(part)]
        stored = el.value
        st, ct, b = bulk_get(uris.get(tp, iurl + "/bulkdata/" + tp), oct_)
        check(tp in uris and st == 200 and ct.endswith(LE_TS) and b == to_le(stored, vr),
              f"bulkdata {tp} ({vr}, {len(stored)} bytes) of a big endian file: little endian per its VR ({st} {ct})")
        st, ct, b = bulk_get(uris.get(tp, ""), oct_ + "; transfer-syntax=" + BE_TS)
        check(st == 200 and ct.endswith(BE_TS) and b == stored, f"bulkdata {tp} ({vr}) asked big endian: as stored ({st})")
    check(to_le(vals["00660016"][1], "OF")[-2:] == b"\x01\x02", "test data: the OF's 2-byte tail is kept")
    # Metadata's InlineBinary (values of 1 KiB or less) is little endian too: a JSON part carries no transfer
    # syntax, and a value must not change byte order with its size (before: the stored big endian bytes).
    st, _, b = curl(iurl + "/metadata")
    meta = (json.loads(b) or [{}])[0] if st == 200 else {}
    for tag, (vr, stored) in inline.items():
        got = base64.b64decode(meta.get(tag.upper(), {}).get("InlineBinary", "") or "")
        check(got == to_le(stored, vr) and (vr == "OB" or got != stored),
              f"metadata InlineBinary {tag} ({vr}) of a big endian file: little endian per its VR ({got[:8]!r})")
    for u in (inst_url(webbe, os.path.join(D, "pydicom", "rtdose_expb.dcm"))[0], iurl):  # test_delete counts files
        st, _, _ = curl("-X", "DELETE", u)
        check(st == 200, f"DELETE of an instance test_bulkdata_big_endian added: 200 ({st})")


def blob_files(data):
    out = []
    for dirpath, _, names in os.walk(os.path.join(data, "stores")):
        out += [os.path.join(dirpath, n) for n in names if n.endswith(".dcm")]
    return out


def check_persisted(base, op, what):
    """The Operation a DELETE answered is persisted: operations.get answers the same JSON, operations.list
    (filter done=true) holds it, its error log is empty."""
    root = base[:base.index("/v1beta1/")]
    name = op.get("name", "")
    st, _, b = curl(f"{root}/v1beta1/{name}")
    check(st == 200 and json.loads(b) == op, f"{what}: operations.get answers the persisted Operation ({st} {b[:200]})")
    st, _, b = curl(f"{base}/datasets/ds/operations?filter=done%3Dtrue&pageSize=1000")
    listed = [o for o in json.loads(b).get("operations", []) if o.get("name") == name] if st == 200 else []
    check(listed == [op], f"{what}: operations.list (done=true) holds it ({st})")
    st, _, b = curl(f"{root}/v1beta1/{name}/errors")
    check(st == 200 and json.loads(b).get("entries") == [], f"{what}: its error log is empty ({st} {b[:100]})")


def test_recorded_resume(tmp):
    """A recorded operation (op_record.c) the process did not finish recording (killed between its steps):
    the next start finishes it, every item it holds counted a success, the recorded response stored."""
    import sqlite3
    data = os.path.join(tmp, "data-resume")
    srv = Server(data)
    base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l"
    curl("-X", "POST", base + "/datasets?datasetId=ds", "-d", "{}")
    check(srv.stop() == 0, "recorded resume: first server exits 0")
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    ds_id = db.execute("SELECT id FROM datasets WHERE name='ds'").fetchone()[0]
    req = json.dumps({"kind": "recorded", "result": {"response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}})
    cur = db.execute("INSERT INTO operations(dataset_id, api_method, create_time, request) VALUES(?,?,?,?)",
                     (ds_id, "google.cloud.healthcare.v1beta1.dicomweb.DicomWebService.DeleteStudy",
                      "2026-01-01T00:00:00Z", req))
    op_id = cur.lastrowid
    for seq in (1, 2, 3):  # three instances recorded, none counted yet; the planning was not closed
        db.execute("INSERT INTO op_items(op_id, seq, src_store, dst_store, study_uid, series_uid, sop_uid, blob, path)"
                   " VALUES(?,?,0,0,'1.2','1.2.3',?,'','')", (op_id, seq, "1.2.3.%d" % seq))
    db.commit()
    db.close()
    srv = Server(data)
    try:
        url = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets/ds/operations/{op_id}"
        op = {}
        for _ in range(100):
            st, _, b = curl(url)
            op = json.loads(b) if st == 200 else {}
            if op.get("done"):
                break
            time.sleep(0.1)
        md = op.get("metadata", {})
        check(op.get("done") is True and op.get("response") == {"@type": "type.googleapis.com/google.protobuf.Empty"}
              and md.get("counter", {}).get("success") == "3" and md.get("counter", {}).get("pending") == "0",
              f"recorded operation resumed: done, its recorded response, counter.success 3 ({str(op)[:300]})")
    finally:
        check(srv.stop() == 0, "recorded resume: second server exits 0")


def test_delete(base, web, web2, data):
    # another store holds the same bytes: its file must survive the deletes in the first
    st, _ = stow(web2, [NATIVE])
    check(st == 200, "STOW into the second store")
    files_before = len(blob_files(data))
    url, ds = inst_url(web, NATIVE)
    st, _, b = curl("-X", "DELETE", url)
    check(st == 200 and json.loads(b) == {}, f"DELETE instance: 200 {{}} ({st} {b[:80]})")
    st, _, b = curl("-X", "DELETE", url)
    check(st == 404 and api_error(b, 404, "NOT_FOUND"), f"second DELETE instance: 404 ({st})")
    st, _, _ = curl(url)
    check(st == 404, "deleted instance: WADO 404")
    st, _, b = curl(f"{web}/instances?SOPInstanceUID={ds.SOPInstanceUID}")
    check(st in (200, 204) and (not b or json.loads(b) == []), "deleted instance: QIDO finds nothing")
    check(len(blob_files(data)) == files_before - 1, "DELETE instance removed its file")
    url2, _ = inst_url(web2, NATIVE)
    st, _, b = curl(url2, "-H", "Accept: application/dicom")
    check(st == 200 and b == open(NATIVE, "rb").read(), "the same bytes in another store are kept")
    # re-STOW after the delete: stored again, readable (no stale row, no missing file)
    st, _ = stow(web, [NATIVE])
    st2, _, b = curl(url, "-H", "Accept: application/dicom")
    check(st == 200 and st2 == 200 and b == open(NATIVE, "rb").read(), f"re-STOW after DELETE ({st} {st2})")
    # series, then study: done Operations
    _, jds = inst_url(web, JPEG)
    st, _, b = curl("-X", "DELETE", f"{web}/studies/{jds.StudyInstanceUID}/series/{jds.SeriesInstanceUID}")
    op = json.loads(b) if st == 200 else {}
    check(st == 200 and op.get("done") is True and op.get("metadata", {}).get("counter", {}).get("success") == "1"
          and op.get("metadata", {}).get("apiMethodName", "").endswith("DeleteSeries") and "error" not in op,
          f"DELETE series: a done Operation ({st} {b[:200]})")
    check(op.get("response") == {"@type": "type.googleapis.com/google.protobuf.Empty"}
          and "endTime" in op.get("metadata", {}), f"DELETE series: response Empty, endTime ({b[:300]})")
    check_persisted(base, op, "DELETE series")
    st, _, _ = curl("-X", "DELETE", f"{web}/studies/{jds.StudyInstanceUID}/series/{jds.SeriesInstanceUID}")
    check(st == 404, f"second DELETE series: 404 ({st})")
    st, _, b = curl(f"{web}/studies?StudyInstanceUID={jds.StudyInstanceUID}")
    check(not b or json.loads(b) == [], "the study left empty by DELETE series is gone from QIDO")
    remaining = {pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID for f in (NATIVE, RLE)}
    total = 0
    for study in sorted(remaining):
        st, _, b = curl("-X", "DELETE", f"{web}/studies/{study}")
        op = json.loads(b) if st == 200 else {}
        check(st == 200 and op.get("done") is True and op.get("metadata", {}).get("apiMethodName", "").endswith("DeleteStudy"),
              f"DELETE study: a done Operation ({st})")
        total += int(op.get("metadata", {}).get("counter", {}).get("success", "0"))
        check_persisted(base, op, "DELETE study")
        st, _, _ = curl("-X", "DELETE", f"{web}/studies/{study}")
        check(st == 404, f"second DELETE study: 404 ({st})")
    check(total == 2, f"DELETE study counted every instance ({total})")
    st, _, b = curl(base + "/datasets/ds/dicomStores/st:getDICOMStoreMetrics")
    mt = json.loads(b) if st == 200 else {}
    check(mt.get("instanceCount") == "0" and mt.get("studyCount") == "0", f"metrics after the deletes: {mt}")
    check(len(blob_files(data)) == 2, f"only the other stores' files are left ({len(blob_files(data))})")


def test_accept(web):
    """Accept is weighed, not searched for substrings (src/http/accept.c)."""
    url, _ = inst_url(web, NATIVE)
    cases = [(url, "application/dicom+json", 406), (url, 'multipart/related; type="application/dicom+xml"', 406),
             (url, "application/dicom", 200), (url, "multipart/related; q=0, application/dicom", 200),
             (url + "/metadata", "application/dicom", 406), (url + "/metadata", "application/dicom+json", 200),
             (url + "/metadata", "*/*", 200), (url + "/rendered", "image/png;q=0, image/jpeg", 200),
             (url + "/rendered", "image/png;q=0", 406)]
    for u, accept, want in cases:
        st, h, b = curl(u, "-H", "Accept: " + accept)
        check(st == want, f"Accept: {accept} on {u.rsplit('/', 1)[-1][:12]}: {want} ({st})")
    st, h, b = curl(url + "/rendered", "-H", "Accept: image/png;q=0, image/jpeg")
    check(b[:2] == b"\xff\xd8", "Accept: image/png;q=0, image/jpeg renders JPEG")
    st, h, b = curl(url, "-H", "Accept: multipart/related; q=0, application/dicom")
    check(b[128:132] == b"DICM", "Accept: multipart q=0 with application/dicom gives the bare instance")


LE = "1.2.840.10008.1.2.1"
OHIF = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


def refusal(b):
    try:
        return json.loads(b)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""


def test_transfer_syntax(base, web):
    """Accept's transfer-syntax= (PS3.18 8.7.3, Table 8.7.3-5): the stored syntax is sent or 406, never another
    one under 200 (we do not transcode)."""
    curl("-X", "POST", base + "/datasets/ds/dicomStores?dicomStoreId=stts", "-d", "{}")
    wts = base + "/datasets/ds/dicomStores/stts/dicomWeb"
    st, b = stow(wts, [J2K] + MIXED)
    check(st == 200, f"STOW of the JPEG 2000 file and the mixed-syntax study: 200 ({st} {b[:200]})")
    # Frames of encapsulated instances in the form OHIF asks: application/octet-stream parts, stored syntax.
    for path, w in ((JPEG, web), (J2K, wts)):
        name = os.path.basename(path)
        url, ds = inst_url(w, path)
        tsuid = str(ds.file_meta.TransferSyntaxUID)
        want = frames_of(path)
        asked = "1" if len(want) == 1 else "1,2"
        st, h, b = curl(url + "/frames/" + asked, "-H", "Accept: " + OHIF)
        ct = header(h, "Content-Type") or ""
        parts = split_multipart(b, ct) if st == 200 else []
        check(st == 200 and 'type="application/octet-stream"' in ct,
              f"frames {name} as OHIF asks ({OHIF}): 200 multipart of application/octet-stream ({st} {ct} "
              f"{refusal(b)})")
        check(len(parts) == len(asked.split(",")) and all(
              f"Content-Type: application/octet-stream; transfer-syntax={tsuid}" in p[0] for p in parts),
              f"frames {name} as OHIF asks: parts labelled application/octet-stream; transfer-syntax={tsuid}")
        check([p[1] for p in parts] == [want[int(i) - 1] for i in asked.split(",")],
              f"frames {name} as OHIF asks: parts equal the stored frames")
        st, h, b2 = curl(url + "/frames/" + asked)  # the syntax's own media type (image/jpeg, image/jp2)
        own = split_multipart(b2, header(h, "Content-Type") or "") if st == 200 else []
        check(st == 200 and [p[1] for p in own] == [p[1] for p in parts],
              f"frames {name}: the octet-stream parts equal the default answer's ({st})")
        for accept, want_st in (('multipart/related; type="application/octet-stream"; transfer-syntax=' + tsuid, 200),
                                ('multipart/related; type="application/octet-stream"', 406),  # default: explicit LE
                                ('multipart/related; type="application/octet-stream"; transfer-syntax=' + LE, 406),
                                (OHIF + "; q=0", 406)):
            st, _, b = curl(url + "/frames/1", "-H", "Accept: " + accept)
            msg = refusal(b)
            check(st == want_st and (st == 200 or tsuid in msg),
                  f"frames {name}, Accept: {accept}: {want_st} ({st} {msg})")
    # Native frames are explicit VR little endian: asked by that UID, by * or without transfer-syntax=.
    url, _ = inst_url(web, NATIVE)
    for ts_param, want_st in (("; transfer-syntax=" + LE, 200), ("; transfer-syntax=*", 200), ("", 200),
                              ("; transfer-syntax=1.2.840.10008.1.2.4.50", 406)):
        st, _, b = curl(url + "/frames/1", "-H", 'Accept: multipart/related; type="application/octet-stream"' + ts_param)
        check(st == want_st, f"native frames, transfer-syntax{ts_param or ' absent'}: {want_st} ({st} {refusal(b)})")
    # Instance retrieve (NATIVE is stored explicit VR little endian, JPEG as JPEG Baseline).
    jurl, jds = inst_url(web, JPEG)
    jts = str(jds.file_meta.TransferSyntaxUID)
    mp = 'multipart/related; type="application/dicom"'
    cases = [(url, mp + "; transfer-syntax=" + jts, 406, LE), (url, mp + "; transfer-syntax=" + LE, 200, None),
             (url, mp + "; transfer-syntax=*", 200, None), (url, mp, 200, None),
             (url, mp + "; transfer-syntax=" + LE + "; q=0", 406, None),
             (url, "application/dicom; transfer-syntax=" + jts, 406, LE),
             (url, "application/dicom; transfer-syntax=" + LE, 200, None),
             (jurl, mp + "; transfer-syntax=" + LE, 406, jts), (jurl, mp + "; transfer-syntax=" + jts, 200, None),
             (jurl, mp + "; transfer-syntax=" + LE + ", " + mp + "; transfer-syntax=*; q=0.5", 200, None)]
    for u, accept, want_st, named in cases:
        st, h, b = curl(u, "-H", "Accept: " + accept)
        msg = refusal(b)
        check(st == want_st and (named is None or named in msg),
              f"retrieve {u.rsplit('/', 1)[-1][-8:]}, Accept: {accept}: {want_st}"
              f"{' naming ' + named if named else ''} ({st} {msg})")
    st, h, b = curl(url, "-H", "Accept: application/dicom; transfer-syntax=" + LE)
    check(st == 200 and b[128:132] == b"DICM" and LE in (header(h, "Content-Type") or ""),
          "retrieve, Accept: application/dicom with the stored transfer-syntax: the bare instance")
    # A study of mixed syntaxes: refused as a whole when an instance's syntax is, never sent short.
    mds = pydicom.dcmread(MIXED[0], stop_before_pixels=True)
    stored = {str(pydicom.dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID) for f in MIXED}
    for level in (f"{wts}/studies/{mds.StudyInstanceUID}",
                  f"{wts}/studies/{mds.StudyInstanceUID}/series/{mds.SeriesInstanceUID}"):
        what = "series" if "/series/" in level else "study"
        st, _, b = curl(level, "-H", "Accept: " + mp + "; transfer-syntax=" + LE)
        msg = refusal(b)
        check(st == 406 and any(t in msg for t in stored - {LE}) and "8 of 9" in msg,
              f"mixed-syntax {what}, Accept naming one syntax: 406 naming a stored one ({st} {msg})")
        for accept in (mp + "; transfer-syntax=*", mp,
                       ", ".join(mp + "; transfer-syntax=" + t for t in sorted(stored))):
            st, h, b = curl(level, "-H", "Accept: " + accept)
            parts = split_multipart(b, header(h, "Content-Type") or "") if st == 200 else []
            got = {re.search(r"transfer-syntax=([0-9.]+)", p[0]).group(1) for p in parts}
            check(st == 200 and len(parts) == 9 and got == stored,
                  f"mixed-syntax {what}, Accept: {accept[:90]}: 200 with all 9 as stored ({st} {len(parts)})")
    # Bulkdata: a value of a little endian file is explicit VR little endian; encapsulated PixelData its frames.
    for path, w in ((NATIVE, web), (JPEG, web)):
        u, ds = inst_url(w, path)
        tsuid = LE if path == NATIVE else str(ds.file_meta.TransferSyntaxUID)
        # encapsulated PixelData comes as its frames: multipart only (as before)
        bare = 200 if path == NATIVE else 406
        for accept, want_st in ((OHIF, 200), ("application/octet-stream; transfer-syntax=*", bare),
                                ('multipart/related; type="application/octet-stream"; transfer-syntax=' + tsuid, 200),
                                ("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.70", 406)):
            st, _, b = curl(u + "/bulkdata/7FE00010", "-H", "Accept: " + accept)
            check(st == want_st, f"bulkdata PixelData of {os.path.basename(path)}, Accept: {accept}: {want_st} "
                  f"({st} {refusal(b)})")
    for path in (J2K, MIXED[0]):  # test_delete counts the files left in the data directory
        st, _, _ = curl("-X", "DELETE", f"{wts}/studies/{pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID}")
        check(st == 200, f"DELETE of the transfer syntax store's study ({st})")


def test_malformed_stored(base):
    """A stored instance whose pixel attributes are malformed cannot be rendered: 400 FAILED_PRECONDITION (the
    stored data, not the request nor the server), never 500."""
    root = "1.2.826.0.1.3680043.9.7433.81."
    curl("-X", "POST", base + "/datasets/ds/dicomStores?dicomStoreId=stmal", "-d", "{}")
    web = base + "/datasets/ds/dicomStores/stmal/dicomWeb"
    for i, frames in enumerate(["x1", "9"]):
        body = ts.tiny_instance(root, i, 1, 1, "Mal^Formed", "MAL", NumberOfFrames="77" if frames == "x1" else frames)
        body = body.replace(b"\x28\x00\x08\x00IS\x02\x0077", b"\x28\x00\x08\x00IS\x02\x00" + frames.encode())
        with tempfile.NamedTemporaryFile() as t:
            t.write(body)
            t.flush()
            st, _, _ = curl("-X", "POST", web + "/studies", "-H", "Content-Type: application/dicom", data_file=t.name)
        url = f"{web}/studies/{root}1.1/series/{root}2.1/instances/{root}3.{i}"
        for tail in ("/rendered", "/frames/1/rendered", "/frames/1"):
            rst, _, b = curl(url + tail)
            check(st == 200 and rst == 400 and api_error(b, 400, "FAILED_PRECONDITION"),
                  f"malformed stored instance (NumberOfFrames {frames}): {tail} 400 FAILED_PRECONDITION ({st} {rst} {b[:120]})")


def test_stow_body_failing(base):
    """A multipart body that fails part way (here: no close delimiter) after parts were stored: 202 listing
    exactly the stored instances (QIDO agrees), a Warning naming the failure; nothing stored: 400 as before."""
    root = "1.2.826.0.1.3680043.9.7433.79."
    for store, nparts in (("stf40", 40), ("stf3", 3)):
        curl("-X", "POST", base + "/datasets/ds/dicomStores?dicomStoreId=" + store, "-d", "{}")
        web = base + "/datasets/ds/dicomStores/%s/dicomWeb" % store
        parts = [ts.tiny_instance(root, i, 1, 1, "Body^Failing", "BODYFAIL") for i in range(nparts)]
        body = b"".join(b"--dvbf\r\nContent-Type: application/dicom\r\n\r\n" + x + b"\r\n" for x in parts)
        ctype = 'multipart/related; type="application/dicom"; boundary=dvbf'
        with tempfile.NamedTemporaryFile() as t:
            t.write(body)
            t.flush()
            st, h, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: " + ctype, data_file=t.name)
        stored = json.loads(b).get("00081199", {}).get("Value", []) if st == 202 else []
        qst, _, qb = curl(web + "/instances?limit=1000")
        found = len(json.loads(qb)) if qst == 200 and qb else 0
        warn = header(h, "Warning") or ""
        check(st == 202 and len(stored) == nparts - 1 and found == nparts - 1 and warn.startswith("299 ")
              and "delimiter" in warn,
              f"STOW body failing after stored parts ({nparts} parts): 202, {nparts - 1} listed and stored, "
              f"a Warning ({st} {len(stored)} {found} {warn!r})")
    web = base + "/datasets/ds/dicomStores/stf3/dicomWeb"
    st, _, b = curl("-X", "POST", web + "/studies", "-H", 'Content-Type: multipart/related; type="application/dicom"; '
                    "boundary=dvbf", "--data-binary", "--dvbf\r\nContent-Type: application/dicom\r\n\r\nshort")
    check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"),
          f"STOW body failing after stored parts: none stored, 400 as before ({st})")


def main():
    tmp = tempfile.mkdtemp(prefix="dv-server-web-")
    srv = None
    try:
        data = os.path.join(tmp, "data")
        srv = Server(data)
        base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l"
        curl("-X", "POST", base + "/datasets?datasetId=ds", "-d", "{}")
        for s in ("st", "st2", "stbe"):
            curl("-X", "POST", base + f"/datasets/ds/dicomStores?dicomStoreId={s}", "-d", "{}")
        web = base + "/datasets/ds/dicomStores/st/dicomWeb"
        web2 = base + "/datasets/ds/dicomStores/st2/dicomWeb"
        webbe = base + "/datasets/ds/dicomStores/stbe/dicomWeb"
        st, b = stow(web, FILES)
        check(st == 200, f"STOW of the test files: 200 ({st} {b[:200]})")
        st, b = stow(webbe, [NATIVE_BE])
        check(st == 200, f"STOW of the big endian file: 200 ({st})")
        test_frames(web, webbe)
        test_rendered(web)
        test_bulkdata(web, webbe, tmp)
        test_accept(web)
        test_transfer_syntax(base, web)
        test_delete(base, web, web2, data)
        test_stow_body_failing(base)
        test_malformed_stored(base)
        log = "".join(srv.lines)
        uids = {u for f in FILES + [NATIVE_BE] for u in (lambda d: (d.StudyInstanceUID, d.SeriesInstanceUID,
                d.SOPInstanceUID, str(d.PatientName), d.PatientID))(pydicom.dcmread(f, stop_before_pixels=True))
                if len(u) >= 6}  # short IDs ("204") would match numbers of the log's own
        check(len(srv.lines) > 20 and not any(u in log for u in uids),
              "the server's log holds no UID or patient value of the test files")
        rc = srv.stop()
        check(rc == 0, f"the server exits 0 on SIGTERM (under ASan: no leak or error report) ({rc})")
        if rc != 0:
            print("".join(srv.lines[-60:]), file=sys.stderr)
        test_recorded_resume(tmp)
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print(f"{len(fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_web: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

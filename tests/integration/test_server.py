#!/usr/bin/env python3
"""`dicomveil serve` end to end (issue 7 items 1-4): the server is started here on a free loopback port with a
temporary data directory and driven two ways:

* with curl (the API's own guide uses curl for DICOMweb): datasets / DICOM stores, STOW-RS of corpus files
  (multipart/related, and a single application/dicom body), QIDO-RS matching, WADO-RS retrieve (each
  instance byte-identical to the file stored), metadata, metrics, errors (400/404/405/409/413) in the API's
  error JSON, path traversal, and a duplicate STOW;
* with Debian's python3-googleapi, a client nobody here wrote, built offline from the discovery document
  (build_from_document with rootUrl/baseUrl pointed at our server, an httplib2.Http() without credentials):
  datasets.create/get/list, dicomStores.create/list/getDICOMStoreMetrics, searchForInstances.

Then the security checks on their own servers: a token file (401 on every route without the right bearer
token), TLS with a certificate made here by the openssl CLI, the JSON and STOW body limits (413), the idle
timeout dropping a slowloris client, and SIGTERM stopping the server gracefully. The access log must hold no
UID and no query value. Everything started here is stopped here; the whole test runs in a few seconds.
"""
import hashlib
import hmac
import http.client
import io
import json
import os
import re
import urllib.parse
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, "/usr/lib/python3/dist-packages")  # Debian's pydicom / googleapiclient (not a pyenv's)
import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

BIN = os.environ["DV_BIN"]
SHARED = os.environ["DV_SHARED_DATA"]
SRC_DIR = os.environ["DV_SOURCE_DIR"]
DISCOVERY = os.path.join(SRC_DIR, "..", "shared", "api", "healthcare.v1beta1.json")
if not os.path.exists(DISCOVERY):
    DISCOVERY = os.path.join(os.path.dirname(SHARED), "api", "healthcare.v1beta1.json")

CORPUS = sorted(
    os.path.join(SHARED, "dicom", "dcm_qa_ts", f) for f in os.listdir(os.path.join(SHARED, "dicom", "dcm_qa_ts"))
) + [os.path.join(SHARED, "dicom", "dicognito", "CT_small_deflated.dcm"),
     os.path.join(SHARED, "dicom", "dicognito", "p01_s01_s01_i01.dcm")]

fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


class Server:
    """dicomveil serve on 127.0.0.1:0; the port is read from its 'listening' line; stderr is kept. wait_s bounds
    the start and the stop (test_console.py's browser runs want longer); wrapper: a command the server runs
    under (test_server_perf.py's strace)."""

    def __init__(self, data, *extra, wait_s=10, wrapper=()):
        self.wait_s = wait_s
        self.wrapper = wrapper
        # --min-free-disk 16M: the floor is checked on every request as in production, but a CI machine with less
        # than the 1G default free must not turn every STOW into 507 (test_server_strict.py tests the floor; a later
        # --min-free-disk in extra wins)
        self.proc = subprocess.Popen([*wrapper, BIN, "serve", "--data", data, "--listen", "127.0.0.1:0", "--workers", "2",
                                      "--min-free-disk", "16M", *extra], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.lines.append(line)
                if '"event":"listening"' in line:
                    self.port = json.loads(line)["port"]
                    ready.set()
            ready.set()

        self.pump = threading.Thread(target=pump, daemon=True)
        self.pump.start()
        if not ready.wait(wait_s) or self.port is None:
            self.stop()
            raise RuntimeError("server did not start: " + "".join(self.lines))
        self.url = "http://127.0.0.1:%d" % self.port

    def server_pid(self):
        """The server's own process: under a wrapper, the wrapper's child (a SIGTERM to strace would detach it
        and leave the server running)."""
        if self.wrapper:
            try:
                with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                    kids = f.read().split()
                if kids:
                    return int(kids[0])
            except OSError:
                pass
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.server_pid(), signal.SIGTERM)
            try:
                rc = self.proc.wait(self.wait_s)
                # the server's last lines ("stopped") may still be in the pipe: read to its end first (a loaded
                # machine made the SIGTERM check see rc 0 without them)
                self.pump.join(self.wait_s)
                return rc
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


def curl(*args, data_file=None):
    """(status, headers text, body bytes) of one curl call."""
    with tempfile.NamedTemporaryFile() as hdr, tempfile.NamedTemporaryFile() as body:
        cmd = ["curl", "-s", "-S", "--max-time", "20", "--path-as-is", "-D", hdr.name, "-o", body.name, *args]
        if data_file:
            cmd += ["--data-binary", "@" + data_file]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return None, r.stderr, b""
        h = open(hdr.name).read()
        m = re.findall(r"^HTTP/\S+ (\d+)", h, re.M)
        return int(m[-1]), h, open(body.name, "rb").read()


def json_call(method, url, body=None, timeout=30):
    """(status, JSON answer) of one API call over http.client (in-process: polling with a curl process per
    call would dominate a test's time; body: an object sent as JSON, or bytes sent as they are); walk-throughs
    use curl. The one home of this helper for the server
    tests (test_server_ops, test_server_op_races)."""
    m = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    c = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=timeout)
    data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
    c.request(method, m.group(3), body=data, headers={"Content-Type": "application/json"} if data else {})
    r = c.getresponse()
    b = r.read()
    c.close()
    try:
        return r.status, json.loads(b) if b else {}
    except ValueError:
        return r.status, {}


def api_error(body, code, status):
    try:
        e = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return e.get("code") == code and e.get("status") == status and isinstance(e.get("message"), str)


def multipart_related(files, boundary="dv-test-7f3a"):
    out = b""
    for f in files:
        out += b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + open(f, "rb").read() + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n", 'multipart/related; type="application/dicom"; boundary=' + boundary


def split_multipart(body, ctype):
    b = re.search(r'boundary="?([^";]+)"?', ctype).group(1).encode()
    parts = []
    for chunk in body.split(b"--" + b)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, rest = chunk.partition(b"\r\n\r\n")
        parts.append((head.decode(), rest[:-2]))  # the CRLF before the next delimiter
    return parts


def instance_name(key, store_id, sop_uid):
    """An instance file's name (src/store/dvs_blobs.h dvs_blob_name): hex HMAC-SHA-256(naming key,
    "<store id>/<SOPInstanceUID>") + ".dcm"."""
    return hmac.new(key, f"{store_id}/{sop_uid}".encode(), hashlib.sha256).hexdigest() + ".dcm"


def tiny_instance(root, n, study, series, patient_name, patient_id, **attrs):
    """The server tests' small instance as Part 10 bytes (Explicit VR LE): an 8x8 8-bit Secondary Capture,
    SOPInstanceUID root + "3.n", study and series UIDs root + "1.study" / root + "2.series", pixels that
    differ with n; attrs (keyword=value) are set on top, e.g. StudyDate or InstanceNumber."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = root + "3.%d" % n
    ds.StudyInstanceUID = root + "1.%d" % study
    ds.SeriesInstanceUID = root + "2.%d" % series
    ds.PatientName, ds.PatientID, ds.Modality = patient_name, patient_id, "OT"
    for k, v in attrs.items():
        setattr(ds, k, v)
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes((n + i) % 256 for i in range(64))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


def header(h, name):
    m = re.search(r"^" + name + r":\s*(.*?)\r?$", h, re.I | re.M)
    return m.group(1) if m else None


def main():
    tmp = tempfile.mkdtemp(prefix="dv-server-")
    servers = []
    try:
        run(tmp, servers)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print(f"test_server: {len(fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server: all checks passed")
    return 0


def run(tmp, servers):
    meta = {f: pydicom.dcmread(f, stop_before_pixels=True) for f in CORPUS}
    srv = Server(os.path.join(tmp, "data"))
    servers.append(srv)
    root = f"http://127.0.0.1:{srv.port}"
    base = root + "/v1beta1/projects/p/locations/us-central1"
    ds = base + "/datasets/ds1"
    store = ds + "/dicomStores/st1"
    web = store + "/dicomWeb"

    # ---- resources with curl ----
    st, _, b = curl("-X", "POST", base + "/datasets?datasetId=ds1", "-H", "Content-Type: application/json",
                    "-d", "{}")
    op = json.loads(b) if st == 200 else {}
    check(st == 200 and op.get("done") is True and op["response"]["name"].endswith("/datasets/ds1")
          and op["metadata"]["@type"].endswith("OperationMetadata"), f"datasets.create: {st} {b[:200]}")
    st, _, b = curl("-X", "POST", base + "/datasets?datasetId=ds1", "-d", "{}")
    check(st == 409 and api_error(b, 409, "ALREADY_EXISTS"), f"datasets.create twice: 409 ({st})")
    st, _, b = curl("-X", "POST", base + "/datasets?datasetId=bad%2Fid", "-d", "{}")
    check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"), f"datasetId with '/': 400 ({st})")
    st, _, b = curl("-X", "POST", base + "/datasets?datasetId=x", "-d", '{"bogus": 1}')
    check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT") and json.loads(b)["error"]["message"]
          == "bogus: unknown field", f"unknown body field: 400 naming its JSON path ({st} {b[:120]})")
    st, _, b = curl("-X", "POST", ds + "/dicomStores?dicomStoreId=st1", "-d", '{"labels": {"k": "v"}}')
    check(st == 200 and json.loads(b) == {"name": "projects/p/locations/us-central1/datasets/ds1/dicomStores/st1",
                                          "labels": {"k": "v"}}, f"dicomStores.create: {st} {b[:200]}")
    for labels in ['{"A B": "v"}', '{"Key": "v"}', '{"1k": "v"}', '{"k": "V"}', '{"k": "a b"}', '{"": "v"}',
                   '{"k": "' + "x" * 64 + '"}']:
        st, _, b = curl("-X", "POST", ds + "/dicomStores?dicomStoreId=lbl", "-d", '{"labels": %s}' % labels)
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"), f"labels follow the API's rule: {labels[:20]} 400 ({st})")
    for tz in ["Not/AZone", "../../etc/passwd", "Europe/../UTC"]:
        st, _, b = curl("-X", "POST", base + "/datasets?datasetId=tzx", "-d", json.dumps({"timeZone": tz}))
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"), f"timeZone must be a zone: {tz} 400 ({st})")
    if os.path.isdir("/usr/share/zoneinfo"):
        st, _, b = curl("-X", "POST", base + "/datasets?datasetId=tzok", "-d", '{"timeZone": "Europe/Paris"}')
        check(st == 200, f"timeZone must be a zone: Europe/Paris 200 ({st})")
        curl("-X", "DELETE", base + "/datasets/tzok")
    st, _, b = curl(ds + "/dicomStores")
    check(st == 200 and len(json.loads(b)["dicomStores"]) == 1, "dicomStores.list")
    st, _, b = curl(ds + "/dicomStores/nope")
    check(st == 404 and api_error(b, 404, "NOT_FOUND"), f"unknown store: 404 ({st})")
    st, h, b = curl("-X", "PUT", ds)
    check(st == 405 and api_error(b, 405, "UNIMPLEMENTED") and header(h, "Allow") == "GET, DELETE",
          f"405 with Allow ({st})")
    st, _, b = curl(base + "/nothing/here")
    check(st == 404 and api_error(b, 404, "NOT_FOUND"), f"unknown path: 404 ({st})")

    # ---- API responses carry no-store and nosniff (they may hold patient data; the console's files set their own)
    for url in [base + "/datasets", ds + "/dicomStores/nope", base + "/nothing/here"]:
        st, h, _ = curl(url)
        check(header(h, "Cache-Control") == "no-store" and header(h, "X-Content-Type-Options") == "nosniff"
              and "frame-ancestors 'none'" in (header(h, "Content-Security-Policy") or ""),
              f"API responses carry no-store and nosniff: {url[len(base):]} ({st})")

    # ---- an encoded NUL is refused, never a name cut short (DELETE .../keep%00x used to delete "keep") ----
    st, _, b = curl("-X", "POST", ds + "/dicomStores?dicomStoreId=keep", "-d", "{}")
    check(st == 200, f"encoded NUL: a store to aim at ({st})")
    for method, url in [("DELETE", ds + "/dicomStores/keep%00bogus"), ("DELETE", base + "/datasets/ds1%00evil"),
                        ("POST", base + "/datasets?datasetId=abc%00def"), ("GET", ds + "/dicomStores?pageSize=1%00"),
                        ("GET", ds + "/dicomStores/st1/dicomWeb/studies?PatientName=A%00*")]:
        st, _, b = curl("-X", method, url, *(["-d", "{}"] if method == "POST" else []))
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT") and b"encoded NUL" in b,
              f"encoded NUL: {method} {url[len(base):]}: 400 ({st})")
    st, _, _ = curl(ds + "/dicomStores/keep")
    check(st == 200, f"encoded NUL: the store named before the NUL is still there ({st})")
    st, _, _ = curl(base + "/datasets/abc")
    check(st == 404, f"encoded NUL: no dataset named after the part before the NUL ({st})")
    st, _, _ = curl(ds + "/dicomStores/keep%2500x")
    check(st == 400, f"encoded NUL: '%2500' decodes to the text '%00', refused as a name ({st})")
    st, _, _ = curl("-X", "DELETE", ds + "/dicomStores/keep")
    check(st == 200, f"encoded NUL: the store deleted by its own name ({st})")

    # ---- without a token: a foreign Host (DNS rebinding) or Origin (a cross-site request) is refused ----
    st, _, b = curl(base + "/datasets", "-H", f"Host: attacker.example:{srv.port}")
    check(st == 403 and api_error(b, 403, "PERMISSION_DENIED"), f"foreign Host: 403 ({st})")
    st, _, b = curl("-X", "POST", base + "/datasets?datasetId=csrf", "-H", "Content-Type: text/plain",
                    "-H", "Origin: http://attacker.example", "-d", "{}")
    check(st == 403 and api_error(b, 403, "PERMISSION_DENIED"), f"foreign Origin: a cross-site POST, 403 ({st})")
    st, _, _ = curl(base + "/datasets/csrf")
    check(st == 404, f"foreign Origin: nothing was created ({st})")
    for origin in ["null", f"http://127.0.0.1:{srv.port + 1}", f"ftp://127.0.0.1:{srv.port}"]:
        st, _, b = curl(base + "/datasets", "-H", "Origin: " + origin)
        check(st == 403, f"foreign Origin: {origin}, 403 ({st})")
    st, _, _ = curl(base + "/datasets", "-H", f"Host: localhost:{srv.port}", "-H", f"Origin: http://localhost:{srv.port}")
    check(st == 200, f"foreign Origin: the server's own origin, 200 ({st})")
    st, _, _ = curl(base + "/datasets", "-H", f"Origin: http://127.0.0.1:{srv.port}")
    check(st == 200, f"foreign Origin: its own origin by address, 200 ({st})")
    # A foreign page's <img src> / no-cors fetch() of a GET sends no Origin, only Fetch Metadata: it was answered
    # (a rendered frame shown on, and a study list fetched into, another site's page). What the user typed
    # ("none"), the server's own pages and a link followed to a page (a top-level navigation) still are.
    for fm, want in [(("cross-site", "no-cors", "image"), 403), (("same-site", "cors", "empty"), 403),
                     (("cross-site", "no-cors", "script"), 403), (("cross-site", "navigate", "embed"), 403),
                     (("same-origin", "cors", "empty"), 200), (("none", "navigate", "document"), 200),
                     (("cross-site", "navigate", "document"), 200)]:
        st, h, b = curl(base + "/datasets", "-H", "Sec-Fetch-Site: " + fm[0], "-H", "Sec-Fetch-Mode: " + fm[1],
                        "-H", "Sec-Fetch-Dest: " + fm[2])
        check(st == want and (want == 200 or api_error(b, 403, "PERMISSION_DENIED")),
              f"foreign page: Sec-Fetch-Site/Mode/Dest {fm}: {want} ({st})")
    st, h, _ = curl(base + "/datasets")
    check(header(h, "Cross-Origin-Resource-Policy") == "same-origin",
          f"API answers carry Cross-Origin-Resource-Policy: same-origin ({header(h, 'Cross-Origin-Resource-Policy')})")

    # ---- path traversal: every position, raw and encoded ----
    for path in ["/datasets/../../etc/passwd", "/datasets/..%2F..%2Fetc", "/datasets/%2e%2e/dicomStores",
                 "/datasets/ds1/dicomStores/..", "/datasets/ds1/dicomStores/st1/dicomWeb/studies/../../..",
                 "/datasets/ds1/dicomStores/st1/dicomWeb/studies/1.2/series/..%2f..%2f"]:
        st, _, b = curl(base + path)
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"), f"traversal {path}: 400 ({st})")
    st, _, b = curl("http://127.0.0.1:%d/v1beta1/projects/../locations/l/datasets" % srv.port)
    check(st == 400, f"traversal in the project: 400 ({st})")
    check(sorted(os.listdir(os.path.join(tmp, "data"))) in (["blob.lock", "index.sqlite", "index.sqlite-shm",
                                                             "index.sqlite-wal", "keys", "ops.lock"],
                                                            ["blob.lock", "index.sqlite", "keys", "ops.lock"]),
          "the data directory holds only the index, the two lock files and the keys before any STOW")

    # ---- STOW-RS asked for an answer in another media type (XML): 406 before anything is stored ----
    st, _, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: application/dicom", "-H",
                    "Accept: application/dicom+xml", data_file=CORPUS[0])
    st2, _, b2 = curl(web + "/instances")
    check(st == 406 and api_error(b, 406, "INVALID_ARGUMENT") and st2 == 200 and json.loads(b2) == [],
          f"STOW answering XML only: 406, nothing stored ({st} {b[:120]!r}; {st2} {b2[:80]!r})")

    # ---- STOW-RS: a single application/dicom body, then multipart/related with the rest ----
    st, h, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: application/dicom", data_file=CORPUS[0])
    r = json.loads(b) if st == 200 else {}
    ref = r.get("00081199", {}).get("Value", [{}])[0]
    check(st == 200 and header(h, "Content-Type") == "application/dicom+json"
          and ref.get("00081155", {}).get("Value") == [meta[CORPUS[0]].SOPInstanceUID]
          and ref.get("00081190", {}).get("Value", [""])[0].endswith("/instances/" + meta[CORPUS[0]].SOPInstanceUID)
          and r.get("00081190", {}).get("Value", [""])[0].endswith("/studies/" + meta[CORPUS[0]].StudyInstanceUID),
          f"STOW single body, with the study's RetrieveURL (Type 2, PS3.18 Table I.1-1): {st} {b[:300]}")
    body, ctype = multipart_related(CORPUS[1:])
    bf = os.path.join(tmp, "stow.bin")
    open(bf, "wb").write(body)
    st, h, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: " + ctype, data_file=bf)
    r = json.loads(b) if st == 200 else {}
    got = sorted(i["00081155"]["Value"][0] for i in r.get("00081199", {}).get("Value", []))
    studies = {meta[f].StudyInstanceUID for f in CORPUS[1:]}
    top = r.get("00081190", {})
    check(st == 200 and got == sorted(meta[f].SOPInstanceUID for f in CORPUS[1:]) and "00081198" not in r
          and top.get("vr") == "UR" and (top.get("Value", [""])[0].endswith("/studies/" + min(studies))
                                          if len(studies) == 1 else "Value" not in top),
          f"STOW multipart: {st}, {len(got)} referenced, RetrieveURL {top} for {len(studies)} studies")
    # Duplicate: the same instance again is not stored twice (FailureReason 0x0111), 409 when none stored.
    st, h, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: application/dicom", data_file=CORPUS[0])
    r = json.loads(b) if b else {}
    fl = r.get("00081198", {}).get("Value", [{}])[0]
    check(st == 409 and fl.get("00081197", {}).get("Value") == [0x0111] and "00081199" not in r
          and r.get("00081190") == {"vr": "UR"},
          f"STOW duplicate: 409 with reason 0x0111, an empty RetrieveURL ({st} {b[:200]})")
    # A part that is not DICOM fails on its own (0xC000) while the others are stored: 202.
    junk = os.path.join(tmp, "junk.bin")
    open(junk, "wb").write(b"not dicom at all" * 10)
    body, ctype = multipart_related([junk, CORPUS[0]], boundary="b2")
    open(bf, "wb").write(body)
    st, h, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: " + ctype, data_file=bf)
    r = json.loads(b) if b else {}
    reasons = sorted(i["00081197"]["Value"][0] for i in r.get("00081198", {}).get("Value", []))
    check(st == 409 and reasons == [0x0111, 0xC000], f"STOW junk + duplicate: 409, reasons {reasons} ({st})")
    # STOW failure items hold UIDs only: a part whose "UIDs" are other text (a name) is not echoed back.
    named = os.path.join(tmp, "named_uid.dcm")
    open(named, "wb").write(tiny_instance("1.2.826.0.1.3680043.9.7433.80.", 1, 1, 1, "Echo^Test", "ECHO",
                                          SOPInstanceUID="Zyx^Phisecret", SOPClassUID="Zyx^Phiclass"))
    st, _, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: application/dicom", data_file=named)
    r = json.loads(b) if b else {}
    fl = r.get("00081198", {}).get("Value", [{}])[0]
    check(st == 409 and fl.get("00081197") and b"Phisecret" not in b and b"Phiclass" not in b
          and "00081155" not in fl and "00081150" not in fl,
          f"STOW failure items hold UIDs only: the part's text is not echoed ({st} {b[:200]})")
    # STOW to a study URL with an instance of another study: 0xA900.
    other = meta[CORPUS[-1]].StudyInstanceUID
    st, _, b = curl("-X", "POST", web + "/studies/" + meta[CORPUS[0]].StudyInstanceUID, "-H",
                    "Content-Type: application/dicom", data_file=CORPUS[-1])
    r = json.loads(b) if b else {}
    check(st == 409 and r.get("00081198", {}).get("Value", [{}])[0].get("00081197", {}).get("Value") == [0xA900],
          f"STOW to the wrong study: 0xA900 ({st})")
    st, _, b = curl("-X", "POST", web + "/studies", "-H", "Content-Type: text/plain", "-d", "x")
    check(st == 415 and api_error(b, 415, "INVALID_ARGUMENT"), f"STOW text/plain: 415 ({st})")
    st, _, b = curl("-X", "POST", web + "/studies", "-H", 'Content-Type: multipart/related; boundary=zz',
                    "--data-binary", "--zz\r\n\r\nabc")
    check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"), f"STOW truncated multipart: 400 ({st})")
    # Files are named by the keyed hash of the store id and the SOPInstanceUID only (docs/decisions.md "Server
    # storage"): the names computed here from DATA/keys/naming.key (0600) are exactly the files present.
    names = []
    for dirpath, _, files in os.walk(os.path.join(tmp, "data", "stores")):
        names += [(os.path.basename(dirpath), n) for n in files]
    key_path = os.path.join(tmp, "data", "keys", "naming.key")
    key = open(key_path, "rb").read()
    sid = os.listdir(os.path.join(tmp, "data", "stores"))[0]  # the one store so far
    want = sorted((sid, instance_name(key, sid, meta[f].SOPInstanceUID)) for f in CORPUS)
    check(len(key) == 32 and os.stat(key_path).st_mode & 0o777 == 0o600 and sorted(names) == want
          and not any(meta[f].SOPInstanceUID in n for _, n in names for f in CORPUS),
          f"instance files named by the keyed hash of store id and SOPInstanceUID only ({len(names)} files)")

    # ---- QIDO-RS ----
    def qido(path):
        st, h, b = curl(web + path)
        return st, (json.loads(b) if st == 200 else None)

    qa_study = meta[CORPUS[0]].StudyInstanceUID
    st, r = qido("/studies")
    check(st == 200 and len(r) == 3, f"QIDO all studies: 3 ({st}, {r and len(r)})")
    st, r = qido("/studies?PatientID=crlab")
    check(st == 200 and len(r) == 1 and r[0]["0020000D"]["Value"] == [qa_study]
          and r[0]["00201208"]["Value"] == [9] and r[0]["00080061"]["Value"] == ["MR"]
          and r[0]["00080056"] == {"vr": "CS", "Value": ["ONLINE"]}
          and r[0].get("00080201", {}).get("vr") == "SH"
          and r[0]["00080201"].get("Value") == ([meta[CORPUS[0]].TimezoneOffsetFromUTC]
                                                if meta[CORPUS[0]].get("TimezoneOffsetFromUTC") else None),
          "QIDO PatientID exact, with counts, ModalitiesInStudy, InstanceAvailability, TimezoneOffsetFromUTC")
    st, r = qido("/studies?PatientName=stc*")
    check(st == 200 and len(r) == 1 and r[0]["00100010"]["Value"] == [{"Alphabetic": "stc_test"}],
          "QIDO wildcard on PatientName")
    # fuzzymatching=true folds case and accents (docs/decisions.md "Fuzzy PN matching folds case and accents"),
    # whatever the instance's character set: a Latin-1 name (decoded to UTF-8 when indexed) and a UTF-8 one, in a
    # store of their own.
    curl("-X", "POST", ds + "/dicomStores?dicomStoreId=fz", "-d", "{}")
    fz_web = ds + "/dicomStores/fz/dicomWeb"
    for n, (name, charset) in enumerate([("Buc^J\u00e9r\u00f4me", "ISO_IR 100"), ("M\u00dcLLER^HANS", "ISO_IR 192")]):
        one = os.path.join(tmp, "fuzzy%d.dcm" % n)
        open(one, "wb").write(tiny_instance("1.2.826.0.1.3680043.9.7433.81.", n, n, n, name, "FZ%d" % n,
                                            SpecificCharacterSet=charset))
        st, _, b = curl("-X", "POST", fz_web + "/studies", "-H", "Content-Type: application/dicom", data_file=one)
        check(st == 200, f"STOW of a {charset} name ({st} {b[:200]})")
    for query, want in [("PatientName=BUC%5EJEROME&fuzzymatching=true", ["FZ0"]),
                        ("PatientName=BUC%5EJEROME", []),
                        ("PatientName=m%C3%BCller*&fuzzymatching=true", ["FZ1"]),
                        ("PatientName=m%C3%BCller*&fuzzymatching=false", []),
                        ("PatientName=*%5Ej%C3%A9r%C3%B4me&fuzzymatching=true", ["FZ0"])]:
        st, _, b = curl(fz_web + "/studies?" + query)
        got = [x["00100020"]["Value"][0] for x in json.loads(b)] if st == 200 else None
        check(got == want, f"QIDO {query}: {want} ({st} {got})")
    # A value that is not UTF-8 is 400 on every backend (PostgreSQL refused it with a 500, SQLite matched nothing).
    for query in ("PatientName=%FF%C3%28&fuzzymatching=true", "PatientName=%FF%C3%28", "PatientID=ab%C3"):
        st, _, b = curl(fz_web + "/studies?" + query)
        check(st == 400 and b"not UTF-8" in b, f"QIDO {query}: 400 not UTF-8 ({st} {b[:200]})")
    st, _, _ = curl("-X", "DELETE", ds + "/dicomStores/fz")
    check(st == 200, f"the fuzzy matching store deleted ({st})")
    st, r = qido("/studies?StudyDate=20040101-20041231")
    check(st == 200 and len(r) == 2, f"QIDO date range: 2 ({r and len(r)})")
    st, r = qido("/studies?StudyDate=-20040110")
    check(st == 200 and len(r) == 1, "QIDO open date range")
    st, r = qido("/studies?StudyInstanceUID=%s,%s" % (qa_study, other))
    check(st == 200 and len(r) == 2, "QIDO UID list")
    st, r = qido("/studies?ModalitiesInStudy=CT")
    check(st == 200 and len(r) == 1, "QIDO ModalitiesInStudy")
    st, r = qido("/studies/%s/series" % qa_study)
    check(st == 200 and len(r) == 1 and r[0]["00201209"]["Value"] == [9], "QIDO series of a study")
    st, r = qido("/instances?limit=4&offset=2&includefield=all")
    check(st == 200 and len(r) == 4, "QIDO instances limit/offset")
    # PS3.18 Tables 10.6.3-3/-5: InstanceAvailability at the study and instance levels, not the series'
    check(all(x.get("00080056") == {"vr": "CS", "Value": ["ONLINE"]} for x in r)
          and "00080056" not in qido("/studies/%s/series" % qa_study)[1][0],
          "QIDO instances: InstanceAvailability ONLINE")
    # A page that leaves matches behind says so (PS3.18 8.3.4.4.1 Warning 299); the page that ends them does not.
    total = len(qido("/instances?limit=5000")[1] or [])
    st, h, b = curl(web + "/instances?limit=%d" % (total - 1))
    st2, h2, b2 = curl(web + "/instances?limit=%d" % total)
    st3, h3, _ = curl(web + "/instances?limit=2&offset=%d" % (total - 2))
    warn = re.findall(r"^Warning: (.*?)\r?$", h, re.M)
    check(total > 2 and st == 200 and len(json.loads(b)) == total - 1
          and warn == ['299 dicomveil: "There are additional results that can be requested"']
          and st2 == 200 and len(json.loads(b2)) == total and "Warning" not in h2
          and st3 == 200 and "Warning" not in h3,
          f"QIDO: a page leaving matches behind carries Warning 299, the last page none ({total}: {warn}, {h2!r})")
    st, r = qido("/studies/%s/instances?SOPInstanceUID=%s" % (qa_study, meta[CORPUS[3]].SOPInstanceUID))
    check(st == 200 and len(r) == 1 and r[0]["00080018"]["Value"] == [meta[CORPUS[3]].SOPInstanceUID]
          and r[0]["00280100"] == {"vr": "US", "Value": [meta[CORPUS[3]].BitsAllocated]},
          "QIDO one instance, with BitsAllocated (PS3.18 Table 10.6.3-5)")
    st, r = qido("/studies?PatientID=nobody")
    check(st == 200 and r == [], "QIDO without a match: []")
    st, _, b = curl(web + "/studies?Frobnicate=1")
    check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT"), "QIDO unknown key: 400")

    # ---- WADO-RS: byte-identical retrieve, metadata ----
    by_sop = {meta[f].SOPInstanceUID: f for f in CORPUS}
    st, h, b = curl(web + "/studies/" + qa_study)
    parts = split_multipart(b, header(h, "Content-Type") or "") if st == 200 else []
    check(st == 200 and len(parts) == 9, f"WADO study: 9 parts ({st}, {len(parts)})")
    same = 0
    for head, data in parts:
        sop = pydicom.dcmread(__import__("io").BytesIO(data), stop_before_pixels=True).SOPInstanceUID
        ts = re.search(r"transfer-syntax=([0-9.]+)", head)
        if data == open(by_sop[sop], "rb").read() and ts and ts.group(1) == str(meta[by_sop[sop]].file_meta.TransferSyntaxUID):
            same += 1
    check(same == 9, f"WADO study parts byte-identical with their transfer syntax ({same}/9)")
    f = CORPUS[-2]
    m = meta[f]
    inst = "/studies/%s/series/%s/instances/%s" % (m.StudyInstanceUID, m.SeriesInstanceUID, m.SOPInstanceUID)
    st, h, b = curl(web + inst, "-H", "Accept: application/dicom")
    check(st == 200 and b == open(f, "rb").read(), "WADO instance as application/dicom: byte-identical")
    st, h, b = curl(web + inst)
    parts = split_multipart(b, header(h, "Content-Type") or "") if st == 200 else []
    check(len(parts) == 1 and parts[0][1] == open(f, "rb").read(), "WADO instance multipart: byte-identical")
    st, _, b = curl(web + inst + "/metadata")
    md = json.loads(b) if st == 200 else [{}]
    check(st == 200 and md[0].get("00080018", {}).get("Value") == [m.SOPInstanceUID]
          and md[0].get("00100020", {}).get("Value") == [m.PatientID], "WADO metadata of an instance")
    st, _, b = curl(web + "/studies/" + qa_study + "/metadata")
    md = json.loads(b) if st == 200 else []
    px = [x.get("7FE00010", {}) for x in md]
    check(st == 200 and len(md) == 9 and all("BulkDataURI" in p for p in px), "WADO study metadata, PixelData as BulkDataURI")
    st, _, b = curl(web + "/studies/1.2.3.4")
    check(st == 404 and api_error(b, 404, "NOT_FOUND"), "WADO unknown study: 404")
    st, _, b = curl(web + inst, "-H", "Accept: image/png")
    check(st == 406, f"WADO unacceptable Accept: 406 ({st})")
    # QIDO answers DICOM JSON only: a client asking for XML or CSV gets 406, not JSON it cannot read
    for accept, want in (('multipart/related; type="application/dicom+xml"', 406), ("text/csv", 406),
                         ("application/json", 200), ("*/*", 200)):
        st, _, b = curl(web + "/studies", "-H", "Accept: " + accept)
        check(st == want, f"QIDO with Accept {accept}: {want} ({st})")
    st, h, b = curl(web + inst + "/rendered")
    check(st == 200 and b[:8] == b"\x89PNG\r\n\x1a\n", f"rendered: a PNG ({st}; test_server_web.py tests it)")

    # ---- a repeated query parameter is ambiguous: 400 naming it, never a value, whichever route reads it
    # (src/http/query_once.c; before, a handler's loop took the last and a lookup the first) ----
    for method, url, name, values in [
            ("GET", ds + "/dicomStores?pageSize=5&pageSize=500", "pageSize", ["500"]),
            ("GET", base + "/datasets?pageToken=&pageSize=1&pageSize=7", "pageSize", ["7"]),
            ("POST", base + "/datasets?datasetId=rep1&datasetId=rep2", "datasetId", ["rep1", "rep2"]),
            ("POST", ds + "/dicomStores?dicomStoreId=rep3&dicomStoreId=rep4", "dicomStoreId", ["rep3", "rep4"]),
            ("GET", web + inst + "/rendered?window=40,400&window=100,50", "window", ["40", "100"]),
            ("GET", web + "/studies?limit=1&limit=2", "limit", []),
            ("GET", base + "/datasets?alt=json&alt=media", "alt", ["json", "media"]),
            ("GET", web + "/studies?Zyx%5EPhi=1&Zyx%5EPhi=2", "query parameter 2", ["Zyx", "Phi"])]:
        st, _, b = curl("-X", method, url, *(["-d", "{}"] if method == "POST" else []))
        msg = json.loads(b).get("error", {}).get("message", "") if b.startswith(b"{") else ""
        check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT") and msg.startswith(name + ":")
              and not any(v in msg for v in values),
              f"repeated query parameter {url[len(base):][:60]}: 400 naming {name} ({st} {msg})")
    for gone in ["/datasets/rep1", "/datasets/rep2", "/datasets/ds1/dicomStores/rep3", "/datasets/ds1/dicomStores/rep4"]:
        st, _, _ = curl(base + gone)
        check(st == 404, f"repeated query parameter: nothing created ({gone}: {st})")
    st, _, b = curl(web + "/instances?includefield=PatientName&includefield=StudyDate&limit=1")
    check(st == 200 and len(json.loads(b)) == 1, f"repeated query parameter: includefield may repeat (PS3.18) ({st})")
    st, _, b = curl("-X", "POST", web + "/studies", "-H",
                    'Content-Type: multipart/related; type="application/dicom"; boundary=zq1; boundary=zq2',
                    "--data-binary", "--zq1\r\n\r\nabc\r\n--zq1--\r\n--zq2\r\n\r\nabc\r\n--zq2--\r\n")
    msg = json.loads(b).get("error", {}).get("message", "") if b.startswith(b"{") else ""
    check(st == 400 and api_error(b, 400, "INVALID_ARGUMENT") and "boundary" in msg and "zq" not in msg,
          f"repeated query parameter: a STOW Content-Type with two boundary= is 400 naming boundary ({st} {msg})")

    # ---- metrics ----
    st, _, b = curl(store + ":getDICOMStoreMetrics")
    mt = json.loads(b) if st == 200 else {}
    total = sum(os.path.getsize(f) for f in CORPUS)
    check(mt == {"name": "projects/p/locations/us-central1/datasets/ds1/dicomStores/st1", "studyCount": "3",
                 "seriesCount": "3", "instanceCount": str(len(CORPUS)), "structuredStorageSizeBytes": str(total),
                 "blobStorageSizeBytes": "0"}, f"metrics: {mt}")

    # ---- the googleapi client ----
    googleapi(root, meta)

    # ---- JSON body over 1 MiB: 413 ----
    big = os.path.join(tmp, "big.json")
    open(big, "w").write('{"timeZone": "' + "x" * (1 << 20) + '"}')
    st, _, b = curl("-X", "POST", base + "/datasets?datasetId=big", "-H", "Content-Type: application/json",
                    data_file=big)
    check(st == 413 and api_error(b, 413, "RESOURCE_EXHAUSTED"), f"JSON over 1 MiB: 413 ({st})")

    # ---- delete ----
    st, _, b = curl("-X", "DELETE", store)
    check(st == 200 and json.loads(b) == {}, "dicomStores.delete")
    # (the googleapi client's store, made above, is the one directory left)
    check(len(os.listdir(os.path.join(tmp, "data", "stores"))) == 1, "the deleted store's files are gone")

    # ---- the access log: routes and statuses, never a UID, a query value or a name ----
    log = "".join(srv.lines)
    check('"route":"dicomWeb.storeInstances"' in log and '"status":409' in log, "access log lines")
    for secret in [qa_study, other, "crlab", "stc", "20040101", "passwd", "ds1", "st1"]:
        check(secret not in log, f"the access log holds '{secret}'")
    rc = srv.stop()
    check(rc == 0 and '"event":"stopped"' in "".join(srv.lines), f"SIGTERM: graceful stop, exit 0 ({rc})")

    security(tmp, servers)
    private_data(tmp, servers)


def private_data(tmp, servers):
    # ---- private DATA files: a --data folder that already existed (mkdir: 0755) left index.sqlite, -wal and -shm
    # 0644, the index holding every stored instance's patient name and ID; now every file and folder the server
    # makes is its owner's alone (umask 077 at serve start), an older looser index is made 0600 when opened, and
    # a DATA open to other users gets a warning ----
    mode = lambda p: os.stat(p).st_mode & 0o777
    data = os.path.join(tmp, "data_shared")
    os.makedirs(data)
    os.chmod(data, 0o755)
    srv = Server(data)
    servers.append(srv)
    base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l"
    curl("-X", "POST", base + "/datasets?datasetId=pd", "-d", "{}")
    curl("-X", "POST", base + "/datasets/pd/dicomStores?dicomStoreId=s", "-d", "{}")
    st, _, _ = curl("-X", "POST", base + "/datasets/pd/dicomStores/s/dicomWeb/studies", "-H",
                    "Content-Type: application/dicom", data_file=CORPUS[0])
    ix = [os.path.join(data, f) for f in os.listdir(data) if f.startswith("index.sqlite")]
    check(st == 200 and len(ix) >= 2, f"private DATA files: the STOW stored ({st}, {len(ix)} index files)")
    made = [os.path.join(dp, n) for dp, ds, fs in os.walk(data) for n in ds + fs]
    loose = sorted("%s %o" % (os.path.relpath(p, data), mode(p)) for p in made if mode(p) & 0o077)
    check(not loose, f"private DATA files: made readable by others: {loose}")
    check(any("--data folder is open to other users (mode 0755)" in l for l in srv.lines),
          "private DATA files: no warning for a DATA open to other users")
    srv.stop()
    # An index an older server left 0644 (with its WAL files, when present) is made 0600 at the next start.
    ix = [os.path.join(data, f) for f in os.listdir(data) if f.startswith("index.sqlite")]
    for p in ix:
        os.chmod(p, 0o644)
    os.chmod(data, 0o700)
    srv = Server(data)
    servers.append(srv)
    check(all(mode(p) == 0o600 for p in ix), f"private DATA files: an older index stays {[mode(p) for p in ix]}")
    check(not any("open to other users" in l for l in srv.lines), "private DATA files: warned about a 0700 DATA")
    srv.stop()


def googleapi(root, meta):
    import httplib2
    from googleapiclient.discovery import build_from_document
    from googleapiclient.errors import HttpError

    doc = json.load(open(DISCOVERY))
    # build_from_document ignores base= when rootUrl is absolute (gcp-api.md 13): point the document at us.
    doc["rootUrl"] = root + "/"
    doc["baseUrl"] = root + "/"
    svc = build_from_document(doc, http=httplib2.Http(timeout=20))
    loc = "projects/g/locations/l"
    ds = svc.projects().locations().datasets()
    op = ds.create(parent=loc, datasetId="gds", body={}).execute()
    check(op.get("done") is True and op["response"]["name"] == loc + "/datasets/gds", f"googleapi datasets.create: {op}")
    check(ds.get(name=loc + "/datasets/gds").execute() == {"name": loc + "/datasets/gds"}, "googleapi datasets.get")
    for i in range(3):
        ds.create(parent=loc, datasetId="page%d" % i, body={}).execute()
    first = ds.list(parent=loc, pageSize=2).execute()
    second = ds.list(parent=loc, pageSize=2, pageToken=first.get("nextPageToken", "")).execute()
    names = [d["name"] for d in first["datasets"] + second.get("datasets", [])]
    check(len(first["datasets"]) == 2 and "nextPageToken" in first and len(names) == 4 and len(set(names)) == 4
          and "nextPageToken" not in second, f"googleapi datasets.list paging: {names}")
    for tok in ["99999999999999999999", "+5", " 5", "-1", "x"]:
        st, _, b = curl(root + "/v1beta1/" + loc + "/datasets?pageToken=" + urllib.parse.quote(tok))
        check(st == 400 and b"pageToken" in b, f"a pageToken this server never issued ({tok!r}): 400 ({st})")
    stores = ds.dicomStores()
    st = stores.create(parent=loc + "/datasets/gds", dicomStoreId="gst", body={}).execute()
    check(st == {"name": loc + "/datasets/gds/dicomStores/gst"}, f"googleapi dicomStores.create: {st}")
    name = loc + "/datasets/gds/dicomStores/gst"
    # The client can only send JSON to storeInstances, so STOW goes over plain HTTP (as the API guide does).
    body, ctype = multipart_related(CORPUS[-2:])
    c = http.client.HTTPConnection("127.0.0.1", int(root.rsplit(":", 1)[1]), timeout=20)
    c.request("POST", "/v1beta1/" + name + "/dicomWeb/studies", body=body, headers={"Content-Type": ctype})
    check(c.getresponse().status == 200, "STOW for the googleapi store")
    c.close()
    mt = stores.getDICOMStoreMetrics(name=name).execute()
    check(mt.get("instanceCount") == "2" and mt.get("studyCount") == "2", f"googleapi getDICOMStoreMetrics: {mt}")
    found = stores.searchForInstances(parent=name, dicomWebPath="instances").execute()
    sops = sorted(x["00080018"]["Value"][0] for x in found) if isinstance(found, list) else found
    check(sops == sorted(meta[f].SOPInstanceUID for f in CORPUS[-2:]), f"googleapi searchForInstances: {sops}")
    try:
        stores.get(name=loc + "/datasets/gds/dicomStores/missing").execute()
        check(False, "googleapi get of a missing store raises")
    except HttpError as e:
        check(e.resp.status == 404 and json.loads(e.content)["error"]["status"] == "NOT_FOUND",
              "googleapi sees 404 NOT_FOUND")
    try:
        ds.create(parent=loc, datasetId="gds", body={}).execute()
        check(False, "googleapi duplicate dataset raises")
    except HttpError as e:
        check(e.resp.status == 409, "googleapi sees 409 ALREADY_EXISTS")


def security(tmp, servers):
    # ---- token file: 401 on every route without the right token ----
    tok = os.path.join(tmp, "token")
    secret = "s3cr3t-token-0123456789abcdef"
    open(tok, "w").write(secret + "\n")
    srv = Server(os.path.join(tmp, "data2"), "--token-file", tok)
    servers.append(srv)
    base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l"
    routes = [("GET", "/datasets"), ("POST", "/datasets?datasetId=a"), ("GET", "/datasets/a"),
              ("DELETE", "/datasets/a"), ("GET", "/datasets/a/dicomStores/s:getDICOMStoreMetrics"),
              ("POST", "/datasets/a/dicomStores/s/dicomWeb/studies"), ("GET", "/datasets/a/dicomStores/s/dicomWeb/studies"),
              ("GET", "/no/such/route"), ("GET", "/datasets/../x")]
    # (http.client here: 36 requests, a curl process each would dominate the test's time)
    for method, path in routes:
        for auth in [None, "Bearer wrong-token-0123456789abcdef", secret, "Bearer " + secret[:-1],
                     "Bearer " + secret + "x", "bearer"]:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
            c.putrequest(method, "/v1beta1/projects/p/locations/l" + path, skip_accept_encoding=True)
            if auth is not None:
                c.putheader("Authorization", auth)
            c.putheader("Content-Length", "0")
            c.endheaders()
            r = c.getresponse()
            b = r.read()
            check(r.status == 401 and api_error(b, 401, "UNAUTHENTICATED") and r.getheader("WWW-Authenticate") == "Bearer",
                  f"{method} {path} {str(auth)[:22]}: 401 ({r.status})")
            c.close()
    st, _, b = curl(base + "/datasets", "-H", "Authorization: Bearer " + secret)
    check(st == 200 and json.loads(b) == {"datasets": []}, f"the right token: 200 ({st})")
    st, _, b = curl(base + "/datasets", "-H", "Authorization: Bearer " + secret, "-H", "Host: dicomveil.example:443",
                    "-H", "Origin: https://console.example")
    check(st == 200, f"foreign Host: with a token the Host and Origin are not checked, 200 ({st})")
    srv.stop()

    # ---- STOW over --max-body: 413, and the server stays small and answers ----
    srv = Server(os.path.join(tmp, "data3"), "--max-body", "100K", "--idle-timeout", "1")  # K, M, G as in --help
    servers.append(srv)
    base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l"
    curl("-X", "POST", base + "/datasets?datasetId=d", "-d", "{}")
    curl("-X", "POST", base + "/datasets/d/dicomStores?dicomStoreId=s", "-d", "{}")
    big = os.path.join(tmp, "big.bin")
    open(big, "wb").write(b"\0" * 3_000_000)
    st, _, b = curl("-X", "POST", base + "/datasets/d/dicomStores/s/dicomWeb/studies", "-H",
                    "Content-Type: application/dicom", data_file=big)
    check(st == 413 and api_error(b, 413, "RESOURCE_EXHAUSTED"), f"STOW over --max-body (Content-Length): 413 ({st})")
    # Chunked (no Content-Length): the cap is counted as bytes arrive.
    st, _, b = curl("-X", "POST", base + "/datasets/d/dicomStores/s/dicomWeb/studies", "-H",
                    "Content-Type: application/dicom", "-H", "Transfer-Encoding: chunked", data_file=big)
    check(st == 413 or st is None, f"chunked STOW over --max-body: 413 or dropped ({st})")
    # ---- multipart caps answered: a part header block over 8 KiB is refused once the body is in, so the
    #      client reads the 413 (queued mid-upload, libmicrohttpd sent nothing: an empty reply) ----
    hdr_body = os.path.join(tmp, "bighdr.bin")
    open(hdr_body, "wb").write(b"--dvcap\r\nContent-Type: application/dicom\r\nX-Pad: " + b"p" * 9000
                               + b"\r\n\r\nDICM\r\n--dvcap--\r\n")
    for chunked in ([], ["-H", "Transfer-Encoding: chunked"]):
        st, _, b = curl("-X", "POST", base + "/datasets/d/dicomStores/s/dicomWeb/studies", "-H",
                        'Content-Type: multipart/related; type="application/dicom"; boundary=dvcap', *chunked,
                        data_file=hdr_body)
        check(st == 413 and api_error(b, 413, "RESOURCE_EXHAUSTED") and b"part header" in b,
              f"multipart caps answered: part header over 8 KiB{' (chunked)' if chunked else ''}: 413 read ({st})")
    rss = int(open(f"/proc/{srv.proc.pid}/status").read().split("VmRSS:")[1].split()[0])
    print(f"server RSS after the refused uploads: {rss} kB")
    check(rss < 100_000, f"server RSS after the refused uploads: {rss} kB")
    st, _, _ = curl(base + "/datasets")
    check(st == 200, "the server still answers after 413s")
    # ---- header limit (32 KiB, below MHD's 256 KiB connection memory: the server checks it) ----
    st, _, b = curl(base + "/datasets", "-H", "X-Pad: " + "a" * 40_000)
    check(st == 431 and api_error(b, 431, "RESOURCE_EXHAUSTED"), f"header limit: 40 KB of headers, 431 ({st})")
    st, _, b = curl(base + "/datasets?pageSize=1&x=" + "b" * 40_000)
    check(st == 431, f"header limit: a 40 KB query string, 431 ({st})")
    st, _, _ = curl(base + "/datasets", "-H", "X-Pad: " + "a" * 20_000)
    check(st == 200, f"header limit: 20 KB of headers pass ({st})")

    # ---- slowloris: a client that never finishes its headers is dropped after the idle timeout ----
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET /v1beta1/projects/p/locations/l/datasets HTTP/1.1\r\nHost: x\r\n")
    t0 = time.time()
    try:
        data = s.recv(100)
    except (ConnectionResetError, socket.timeout):
        data = b""
    waited = time.time() - t0
    # (idle timeout 1 s; MHD checks timeouts on its poll cycle, and the CI machine is shared: generous bound)
    check(data == b"" and waited < 8, f"slowloris dropped after the idle timeout ({waited:.1f} s)")
    s.close()
    srv.stop()

    # ---- slow headers: a client sending a header byte now and then (never idle for --idle-timeout) is cut once
    #      its request line and headers took longer than --request-timeout (before, it kept the connection for
    #      as long as the connection memory lasted: days) ----
    srv = Server(os.path.join(tmp, "data5"), "--idle-timeout", "2", "--request-timeout", "3")
    servers.append(srv)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET /v1beta1/projects/p/locations/l/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    t0 = time.time()
    cut = None
    while time.time() - t0 < 20:
        try:
            s.sendall(b"X-Slow: 1\r\n")
            s.settimeout(1)
            if s.recv(100) == b"":
                cut = time.time() - t0
                break
        except socket.timeout:
            continue
        except OSError:
            cut = time.time() - t0
            break
    s.close()
    # Designed: 3-5 s (whole seconds compared, a sweep each second); 12 s for a loaded 2-core machine
    check(cut is not None and cut < 12, f"slow headers: cut after the request timeout (3 s): {cut}")
    st, _, _ = curl(f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets")
    check(st == 200, f"slow headers: the server still answers ({st})")
    srv.stop()

    # ---- TLS with a certificate made here ----
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       capture_output=True)
    check(r.returncode == 0, "openssl made a test certificate")
    srv = Server(os.path.join(tmp, "data4"), "--tls-cert", cert, "--tls-key", key)
    servers.append(srv)
    st, _, b = curl("--cacert", cert, f"https://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets")
    check(st == 200 and json.loads(b) == {"datasets": []}, f"TLS handshake and request: 200 ({st} {b[:100]})")
    st, _, _ = curl(f"https://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets")
    check(st is None, "TLS with an unknown CA is refused by the client (the certificate is really used)")
    srv.stop()


if __name__ == "__main__":
    sys.exit(main())

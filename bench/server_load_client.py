#!/usr/bin/env python3
"""Load client for bench/server_load.sh: a separate process that talks to `dicomveil serve` over loopback HTTP.

  stow-files URL DIR   STOW every file of DIR with --clients threads (multipart batches of --batch files);
  fill URL             STOW --count generated tiny instances (--clients threads, --batch per request) to fill
                       the index: one pydicom-made template (8x8 pixels, ~1 KB) whose fixed-length UIDs,
                       PatientID, PatientName and StudyDate are overwritten in place per instance, so making
                       100,000 of them costs nothing next to sending them;
  qido URL             for --seconds, --clients threads run QIDO queries (exact PatientID, StudyDate range,
                       PatientName wildcard, series of a study, instances of a series) while --load-clients
                       threads keep STOWing new generated instances; latency p50/p99 of the queries.

Every command prints one JSON line (counts, seconds, failures). Bounded: --count / --seconds and a --deadline on
the whole command; a request that fails or answers anything but 200 is counted in "failed" (never retried).
Instance numbers start at --first so several runs can add to the same store without duplicates.
"""
import argparse
import http.client
import io
import json
import os
import random
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, "/usr/lib/python3/dist-packages")

UID_ROOT = "1.2.826.0.1.3680043.9.7433.1."  # + 12 digits (10^11 + n: no leading zero)
PER_STUDY, PER_SERIES, PATIENTS = 20, 10, 5000


def template():
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian
    ph = lambda c: UID_ROOT + c * 12  # noqa: E731 - placeholders of the final length
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = ph("7"), ph("8"), ph("9")
    ds.PatientName, ds.PatientID, ds.StudyDate = "NAME^66666666", "PID55555555", "19000101"
    ds.StudyTime, ds.Modality, ds.AccessionNumber, ds.StudyID = "101010", "OT", "A1", "1"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes(range(64))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ph("6")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


TEMPLATE = None


def keys(n):
    study, series = n // PER_STUDY, n // PER_SERIES
    p = study % PATIENTS
    return {"sop": UID_ROOT + str(10**11 + n), "study": UID_ROOT + str(10**11 + study),
            "series": UID_ROOT + str(10**11 + series), "pid": "PID%08d" % p, "name": "NAME^%08d" % p,
            "date": "2020%02d%02d" % (1 + study % 12, 1 + study % 28)}


def instance(n):
    k = keys(n)
    b = TEMPLATE
    for ph, v in ((UID_ROOT + "7" * 12, k["sop"]), (UID_ROOT + "6" * 12, k["sop"]),
                  (UID_ROOT + "8" * 12, k["study"]), (UID_ROOT + "9" * 12, k["series"]),
                  ("PID55555555", k["pid"]), ("NAME^66666666", k["name"]), ("19000101", k["date"])):
        b = b.replace(ph.encode(), v.encode())
    return b


class Conn:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = u.hostname, u.port, u.path.rstrip("/")
        self.c = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):  # one reconnect when the server closed an idle keep-alive connection
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.host, self.port, timeout=120)
                self.c.request(method, self.path + path, body=body, headers=headers or {})
                r = self.c.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.c = None
                if attempt:
                    raise
        return None, b""


def stow_body(parts):
    bnd = "dvbench%016x" % random.getrandbits(64)
    out = bytearray()
    for p in parts:
        out += b"--" + bnd.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n"
    out += b"--" + bnd.encode() + b"--\r\n"
    return bytes(out), 'multipart/related; type="application/dicom"; boundary=' + bnd


class Stats:
    def __init__(self):
        self.mu = threading.Lock()
        self.sent = self.ok = self.failed = self.requests = 0
        self.lat = []


def stow_worker(url, batches, st, deadline):
    c = Conn(url)
    for batch in batches:
        if time.time() > deadline:
            break
        parts = batch()
        body, ctype = stow_body(parts)
        try:
            status, resp = c.request("POST", "/studies", body, {"Content-Type": ctype})
        except Exception:  # noqa: BLE001 - counted as a failure, never retried
            status, resp = None, b""
        with st.mu:
            st.requests += 1
            st.sent += len(parts)
            if status == 200:
                st.ok += len(parts)
            else:
                st.failed += len(parts)


def run_stow(url, batch_fns, clients, deadline):
    st = Stats()
    shards = [batch_fns[i::clients] for i in range(clients)]
    t0 = time.time()
    th = [threading.Thread(target=stow_worker, args=(url, s, st, deadline)) for s in shards]
    for t in th:
        t.start()
    for t in th:
        t.join()
    return st, time.time() - t0


def cmd_stow_files(a):
    files = sorted(os.path.join(a.dir, f) for f in os.listdir(a.dir))
    data = [open(f, "rb").read() for f in files]
    batches = [(lambda chunk=data[i:i + a.batch]: chunk) for i in range(0, len(data), a.batch)]
    st, sec = run_stow(a.url, batches, a.clients, time.time() + a.deadline)
    print(json.dumps({"cmd": "stow-files", "instances": st.sent, "ok": st.ok, "failed": st.failed,
                      "lost": len(data) - st.sent, "requests": st.requests, "seconds": round(sec, 3),
                      "bytes": sum(map(len, data))}))


def cmd_fill(a):
    global TEMPLATE
    TEMPLATE = template()
    rng = range(a.first, a.first + a.count)
    batches = [(lambda lo=lo: [instance(n) for n in range(lo, min(lo + a.batch, rng.stop))])
               for lo in range(rng.start, rng.stop, a.batch)]
    st, sec = run_stow(a.url, batches, a.clients, time.time() + a.deadline)
    print(json.dumps({"cmd": "fill", "instances": st.sent, "ok": st.ok, "failed": st.failed,
                      "lost": a.count - st.sent, "requests": st.requests, "seconds": round(sec, 3)}))


def query_for(rnd, indexed):
    n = rnd.randrange(indexed)
    k = keys(n)
    q = rnd.randrange(5)
    if q == 0:
        return "/studies?PatientID=" + k["pid"], "studies by PatientID"
    if q == 1:
        m = 1 + rnd.randrange(12)
        return "/studies?StudyDate=2020%02d01-2020%02d28&limit=100" % (m, m), "studies by StudyDate range"
    if q == 2:
        return "/studies?PatientName=" + urllib.parse.quote(k["name"][:11] + "*") + "&limit=50", "PatientName wildcard"
    if q == 3:
        return "/studies/%s/series" % k["study"], "series of a study"
    return "/studies/%s/series/%s/instances" % (k["study"], k["series"]), "instances of a series"


def cmd_qido(a):
    global TEMPLATE
    TEMPLATE = template()
    deadline = time.time() + min(a.seconds, a.deadline)
    st = Stats()
    load = Stats()
    nxt = [a.first]
    mu = threading.Lock()

    def loader():
        c = Conn(a.url)
        while time.time() < deadline:
            with mu:
                lo = nxt[0]
                nxt[0] += a.batch
            body, ctype = stow_body([instance(n) for n in range(lo, lo + a.batch)])
            try:
                status, _ = c.request("POST", "/studies", body, {"Content-Type": ctype})
            except Exception:  # noqa: BLE001
                status = None
            with load.mu:
                load.requests += 1
                load.sent += a.batch
                load.ok += a.batch if status == 200 else 0
                load.failed += 0 if status == 200 else a.batch

    def querier(seed):
        rnd = random.Random(seed)
        c = Conn(a.url)
        while time.time() < deadline:
            path, _ = query_for(rnd, a.indexed)
            t = time.perf_counter()
            try:
                status, body = c.request("GET", path, None, {"Accept": "application/dicom+json"})
                ok = status == 200 or status == 204
                if ok and status == 200:
                    json.loads(body)
            except Exception:  # noqa: BLE001
                ok = False
            dt = time.perf_counter() - t
            with st.mu:
                st.requests += 1
                if ok:
                    st.ok += 1
                    st.lat.append(dt)
                else:
                    st.failed += 1

    th = [threading.Thread(target=loader) for _ in range(a.load_clients)]
    th += [threading.Thread(target=querier, args=(i,)) for i in range(a.clients)]
    t0 = time.time()
    for t in th:
        t.start()
    for t in th:
        t.join()
    sec = time.time() - t0
    lat = sorted(st.lat)
    pct = lambda p: round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None  # noqa: E731
    print(json.dumps({"cmd": "qido", "queries": st.requests, "ok": st.ok, "failed": st.failed,
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0), "seconds": round(sec, 3),
                      "stow_under_load": {"instances": load.sent, "ok": load.ok, "failed": load.failed,
                                          "per_s": round(load.ok / sec, 1) if sec else 0},
                      "next_first": nxt[0]}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["stow-files", "fill", "qido"])
    ap.add_argument("url", help="the store's dicomWeb URL")
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--load-clients", type=int, default=8)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--indexed", type=int, default=1000, help="instances 0..N-1 are in the store (qido)")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--deadline", type=float, default=900)
    a = ap.parse_args()
    {"stow-files": cmd_stow_files, "fill": cmd_fill, "qido": cmd_qido}[a.cmd](a)


if __name__ == "__main__":
    main()

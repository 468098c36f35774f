#!/usr/bin/python3
"""Orthanc's de-identification as a benchmark peer (issue 8 item 3; run by bench/peers.py).

    /usr/bin/python3 bench/orthanc_anon.py SRC_DIR DST_DIR [--connections N]

Starts Debian's Orthanc on loopback from a temporary configuration (tools/orthanc_local.py), uploads every
file of SRC_DIR over the REST API (POST /instances; not timed; files Orthanc rejects are counted), resets the
server's peak RSS (writing 5 to /proc/PID/clear_refs resets VmHWM), then times only the de-identification:
POST /instances/{id}/anonymize with body {} (Orthanc's default: its Basic profile, private tags removed, new
UIDs) for every stored instance, from N client threads (default: the number of CPUs), each with its own
keep-alive HTTP connection. Each answer (the anonymized DICOM file) is written to DST_DIR/<n>.dcm, as the other
tools write their outputs. Orthanc does not store these answers (only /studies/.../anonymize would).
Prints one JSON line on stdout: seconds (the timed phase, wall), instances, failed, rejected uploads,
upload_seconds, vmhwm_kb (Orthanc's peak RSS during the timed phase), client_maxrss_kb. Exit 0 when every
stored instance was anonymized.
"""
import argparse
import http.client
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import orthanc_local  # noqa: E402


def proc_status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def parallel(items, n, fn):
    """Run fn(conn, item) over items on n threads, each with its own connection; returns the results."""
    it = iter(enumerate(items))
    lock = threading.Lock()
    out = [None] * len(items)

    def worker():
        conn = None
        while True:
            with lock:
                nxt = next(it, None)
            if nxt is None:
                break
            i, item = nxt
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
            try:
                out[i] = fn(conn, item)
            except (OSError, http.client.HTTPException) as e:
                out[i] = ("error", type(e).__name__)
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def upload(conn, path):
    with open(path, "rb") as f:
        body = f.read()
    conn.request("POST", "/instances", body, {"Content-Type": "application/dicom"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        return ("rejected", r.status)
    return ("ok", json.loads(data).get("ID"))


def anonymize(conn, job):
    oid, dst = job
    conn.request("POST", f"/instances/{oid}/anonymize", b"{}", {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        return ("failed", r.status)
    with open(dst, "wb") as f:
        f.write(data)
    return ("ok", len(data))


def main():
    global PORT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--connections", type=int, default=os.cpu_count())
    a = ap.parse_args()
    if not os.path.exists(orthanc_local.ORTHANC):
        print("orthanc_anon: Orthanc is not installed (make deps installs orthanc)", file=sys.stderr)
        return 2
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.src) for f in fs)
    tmp = tempfile.mkdtemp(prefix="dv-bench-orthanc-")
    proc = None
    try:
        PORT = orthanc_local.free_port()
        # threads: enough for the client's connections; MaximumStorageCacheSize etc. left at their defaults
        proc = orthanc_local.start(tmp, PORT, "dicomveil-bench", {"HttpThreadsCount": max(4, a.connections * 2),
                                                                   "KeepAlive": True,
                                                                   "SyncStorageArea": False})
        st, _ = orthanc_local.call(PORT, "GET", "/system")
        if st != 200:
            print("orthanc_anon: Orthanc did not start; its log:\n" +
                  open(os.path.join(tmp, "orthanc.log")).read()[-2000:], file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        up = parallel(files, a.connections, upload)
        t_up = time.perf_counter() - t0
        ids = sorted({r[1] for r in up if r and r[0] == "ok"})  # duplicates (same SOP UID) stored once
        rejected = sum(1 for r in up if not r or r[0] != "ok")
        os.makedirs(a.dst, exist_ok=True)
        jobs = [(oid, os.path.join(a.dst, f"{i:06d}.dcm")) for i, oid in enumerate(ids)]
        with open(f"/proc/{proc.pid}/clear_refs", "w") as f:
            f.write("5")
        t0 = time.perf_counter()
        res = parallel(jobs, a.connections, anonymize)
        secs = time.perf_counter() - t0
        hwm = proc_status(proc.pid, "VmHWM")
        ok = sum(1 for r in res if r and r[0] == "ok")
        print(json.dumps({"seconds": round(secs, 6), "instances": ok, "failed": len(res) - ok,
                          "rejected": rejected, "files": len(files), "upload_seconds": round(t_up, 3),
                          "vmhwm_kb": hwm, "connections": a.connections,
                          "client_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        return 0 if ok == len(res) else 1
    finally:
        orthanc_local.stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


PORT = 0
if __name__ == "__main__":
    sys.exit(main())

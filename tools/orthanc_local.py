"""A throwaway Orthanc on loopback: one home for how the tests and the benchmarks start Debian's `orthanc`.

Used by tests/integration/test_orthanc_interop.py (with the DicomWeb plugin) and bench/orthanc_anon.py
(plain REST API). The server runs as whatever user calls it (root is fine: Orthanc needs no privilege), from
a temporary JSON configuration written into TMP: HTTP on a free 127.0.0.1 port with RemoteAccessAllowed false,
its DICOM server disabled (no DICOM port at all), storage and index inside TMP, no authentication. The caller
removes TMP. PR_SET_PDEATHSIG makes Orthanc die with its parent even if the parent is killed (a ctest
timeout, an interrupted benchmark).
"""
import ctypes
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ORTHANC = "/usr/sbin/Orthanc"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, ctype="application/json", timeout=30):
    """(status, body bytes) of one call to Orthanc's REST API; status None when the server is unreachable."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": ctype} if data is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return None, str(e).encode()


def start(tmp, port, name="dicomveil-local", extra=None):
    """Start Orthanc with the configuration above plus EXTRA (dict, merged last); returns the Popen once
    GET /system answers 200 or the process has exited (the caller checks). Log: TMP/orthanc.log."""
    cfg = {
        "Name": name,
        "StorageDirectory": os.path.join(tmp, "orthanc-storage"),
        "IndexDirectory": os.path.join(tmp, "orthanc-index"),
        "HttpPort": port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": False,
        "HttpServerEnabled": True,
        "OrthancExplorerEnabled": False,
        "StorageCompression": False,
        "OverwriteInstances": True,
    }
    cfg.update(extra or {})
    path = os.path.join(tmp, "orthanc.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    log = open(os.path.join(tmp, "orthanc.log"), "w")
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    proc = subprocess.Popen([ORTHANC, path], stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
                            preexec_fn=lambda: libc.prctl(1, signal.SIGKILL))
    for _ in range(300):
        st, _ = call(port, "GET", "/system", timeout=2)
        if st == 200 or proc.poll() is not None:
            break
        time.sleep(0.1)
    return proc


def stop(proc):
    """SIGTERM, then SIGKILL if Orthanc has not exited within 15 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

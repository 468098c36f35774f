#!/usr/bin/python3
"""--min-free-disk while operations run and while a STOW body arrives (src/http/op_floor.c, disk_floor.c,
stow.c). The server's DATA is a 112 MiB tmpfs mounted here, so the free space is exact; a ballast file beside
DATA (on the same tmpfs) sets the room left above the floor. Needs root (mount): not root is a FAILURE, not a
skip (CI runs as root).

* "deidentify waits": a datasets.deidentify of N instances started with room for a few of its outputs crosses
  the floor with them part-way; it waits (one "operation waiting for free disk space" line, its counter stands
  still with failures 0, the floor holds); SIGTERM while it waits stops the server promptly and checkpoints it;
  restarted, still without room, it waits again; once the ballast is removed it completes with every instance
  once and no failure;
* "import waits": the same for an :import of N files from an allowed root;
* "cancel while waiting": a waiting datasets.deidentify is cancelled: done with CANCELLED within a second or
  two, failures 0;
* "STOW mid-body": one instance body over the 8 MiB re-check (stow.c DISK_RECHECK) that crosses the floor
  part-way, chunked (taking the room with its own bytes) and with a Content-Length (the room taken by a
  ballast grown while the body arrives): 507 RESOURCE_EXHAUSTED and nothing stored (the rest of the body
  would fit on the tmpfs: without the re-check it is stored); with room again the same body is stored;
* "PostgreSQL": two servers sharing DATA and a PostgreSQL index (tests/support/pg_cluster.sh): a waiting
  datasets.deidentify of server A cancelled through server B (seen in the index at A's next re-check) is
  CANCELLED within a few seconds, failures 0; another one waits, then completes with each instance once;
* "log": the waiting line names the operation and the floor only; no path, UID or name is in the server's log.
About 20 s; the servers, the PostgreSQL cluster and the mount made here are removed here.
"""
import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, "/usr/lib/python3/dist-packages")

import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

import test_server as ts  # noqa: E402  (its Server helper and checks)
from test_server import api_error, check, fails, json_call  # noqa: E402
from test_server_postgresql import pg_state  # noqa: E402  (pg_cluster.sh's state file: one reader)

PG_CLUSTER = os.path.join(ts.SRC_DIR, "tests", "support", "pg_cluster.sh")

N = 64                 # instances per operation: two chunks (DVH_OP_CHUNK 32)
ROWS = 400             # 160,000 bytes of pixels: ~160 KiB an instance
FLOOR = 8 << 20        # --min-free-disk
ROOM = 3 << 20         # room above the floor when an operation starts: ~19 of its outputs
TMPFS = "112m"
UID = "1.2.826.0.1.3680043.10.1187.77."
PATIENT = "Floorwait^Patient"
LOC = "projects/p/locations/l"


def instance(sop, rows, n, patient=PATIENT):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = UID + "1"
    ds.SeriesInstanceUID = UID + "2"
    ds.PatientName, ds.PatientID, ds.Modality = patient, "FW-1", "OT"
    ds.Rows = ds.Columns = rows
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = (bytes(range(256)) * (rows * rows // 256 + 1))[n % 256:n % 256 + rows * rows]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


class Room:
    """The room above FLOOR on the tmpfs, set with a ballast file beside DATA (fallocate grows it, truncate
    shrinks it)."""

    def __init__(self, mnt):
        self.mnt = mnt
        self.path = os.path.join(mnt, "ballast")
        open(self.path, "wb").close()

    def free(self):
        v = os.statvfs(self.mnt)
        return v.f_bavail * v.f_frsize

    def set(self, room):
        size = os.path.getsize(self.path) + self.free() - FLOOR - room
        if size < 0:
            size = 0
        if size > os.path.getsize(self.path):
            fd = os.open(self.path, os.O_WRONLY)
            try:
                os.posix_fallocate(fd, 0, size)
            finally:
                os.close(fd)
        else:
            os.truncate(self.path, size)

    def remove(self):
        os.truncate(self.path, 0)


def counter(op):
    c = op.get("metadata", {}).get("counter", {})
    return int(c.get("success", "0")), int(c.get("failure", "0")), int(c.get("pending", "0"))


def op_id(name):
    return int(name.rsplit("/", 1)[1])


def pipeline_lines(srv, name):
    """The operation's "operation pipeline" lines in srv's log (op_timing.c)."""
    lines = [json.loads(ln) for ln in srv.lines if '"event":"operation pipeline"' in ln]
    return [p for p in lines if p.get("operation") == op_id(name)]


def waiting_lines(srv, oid):
    return [ln for ln in srv.lines if '"event":"operation waiting for free disk space"' in ln
            and json.loads(ln).get("operation") == oid]


def poll(srv, name, timeout=60):
    t0, op = time.time(), {}
    while time.time() - t0 < timeout:
        st, op = json_call("GET", srv.url + "/v1beta1/" + name)
        if st == 200 and op.get("done"):
            return op
        time.sleep(0.05)
    return op


def wait_waiting(srv, name, what, room, min_done, total=N):
    """The operation is waiting: its line is logged, its counter stops moving with failures 0 and items
    pending, min_done or more done, and the floor held (free space not below it by more than two outputs)."""
    oid = op_id(name)
    t0 = time.time()
    while time.time() - t0 < 30 and not waiting_lines(srv, oid):
        st, op = json_call("GET", srv.url + "/v1beta1/" + name)
        if op.get("done"):
            break
        time.sleep(0.05)
    lines = waiting_lines(srv, oid)
    if not check(len(lines) == 1, f"{what}: one 'waiting for free disk space' line for operation {oid} "
                                  f"({len(lines)}; {''.join(srv.lines)[-600:]})"):
        return None
    line = json.loads(lines[0])
    check(line == {"event": "operation waiting for free disk space", "operation": oid, "min_free_disk": FLOOR},
          f"{what}: the line names the operation and the floor only ({lines[0].strip()})")
    last, since = None, time.time()
    while time.time() - t0 < 40:
        st, op = json_call("GET", srv.url + "/v1beta1/" + name)
        c = counter(op)
        if c != last:
            last, since = c, time.time()
        elif time.time() - since >= 1.2:
            break
        time.sleep(0.1)
    ok, failed, pending = last
    check(not op.get("done") and failed == 0 and pending > 0 and ok >= min_done and ok + pending == total,
          f"{what}: waits with its counter still at {last} (done {op.get('done')}, at least {min_done} done)")
    check(room.free() > FLOOR - (1 << 20), f"{what}: the floor held ({room.free()} bytes free, floor {FLOOR})")
    return last


def stow_chunked(srv, web, body):
    """One application/dicom body sent chunked (no Content-Length: only the mid-body re-check applies)."""
    def gen():
        for i in range(0, len(body), 1 << 20):
            yield body[i:i + (1 << 20)]
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        c.request("POST", web, body=gen(), headers={"Content-Type": "application/dicom"}, encode_chunked=True)
        r = c.getresponse()
        return r.status, r.read()
    except (BrokenPipeError, ConnectionResetError) as e:
        return None, str(e).encode()
    finally:
        c.close()


def stow_sized(srv, web, body, room, after, then_room):
    """One application/dicom body with its Content-Length (the check before the body passes); after `after`
    bytes, the room is set to then_room (another writer took the disk), then the rest is sent."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/dicom\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (web, srv.port, len(body))).encode()
    data = b""
    try:
        s.sendall(head + body[:after])
        time.sleep(0.3)  # the server has written what it read
        room.set(then_room)
        try:
            s.sendall(body[after:])
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (and closed) before the end of the body
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    finally:
        s.close()
    top, _, rest = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d+)", top)
    return (int(m.group(1)) if m else None), rest


def dcm_files(data):
    return sorted(os.path.join(d, f) for d, _, names in os.walk(data) for f in names if f.endswith(".dcm"))


def store_sops(srv, store):
    st, rows = json_call("GET", srv.url + "/v1beta1/" + LOC + "/datasets/" + store + "/dicomWeb/instances?limit=5000")
    return [r["00080018"]["Value"][0] for r in rows] if st == 200 and isinstance(rows, list) else []


def run(tmp, mnt, servers):
    data = os.path.join(mnt, "data")
    os.makedirs(data, mode=0o700)
    room = Room(mnt)
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "in"))
    args = ("--min-free-disk", str(FLOOR), "--allow-root", root, "--op-workers", "2")
    srv = ts.Server(data, *args)
    servers.append(srv)
    base = srv.url + "/v1beta1/" + LOC
    for path in ("/datasets?datasetId=ds", "/datasets/ds/dicomStores?dicomStoreId=src",
                 "/datasets/ds/dicomStores?dicomStoreId=imp", "/datasets/ds/dicomStores?dicomStoreId=big"):
        st, _ = json_call("POST", base + path, {})
        check(st == 200, f"POST {path} ({st})")
    files = []
    for i in range(N):
        f = os.path.join(tmp, "src-%02d.dcm" % i)
        open(f, "wb").write(instance(UID + "3.%d" % i, ROWS, i))
        files.append(f)
        open(os.path.join(root, "in", "i%02d.dcm" % i), "wb").write(instance(UID + "4.%d" % i, ROWS, i + 1))
    body, ctype = ts.multipart_related(files)
    bf = os.path.join(tmp, "stow.bin")
    open(bf, "wb").write(body)
    st, _, _ = ts.curl("-X", "POST", base + "/datasets/ds/dicomStores/src/dicomWeb/studies", "-H",
                       "Content-Type: " + ctype, data_file=bf)
    check(st == 200 and len(store_sops(srv, "ds/dicomStores/src")) == N, f"STOW of the {N} sources ({st})")

    # ---- deidentify waits, survives a restart while waiting, completes once there is room ----
    t0 = time.time()
    room.set(ROOM)
    st, op = json_call("POST", base + "/datasets/ds:deidentify", {"destinationDataset": LOC + "/datasets/out",
                                                                  "config": {}})
    name = op.get("name", "")
    if not check(st == 200 and name, f"deidentify waits: started ({st} {op})"):
        return
    wait_waiting(srv, name, "deidentify waits", room, 1)
    ts0 = time.time()
    rc = srv.stop()
    took = time.time() - ts0
    log = "".join(srv.lines)
    # Designed: at once (a tmpfs DATA's syncfs is cheap); 10 s leaves room for an ASan build's exit on 2 loaded cores
    check(rc == 0 and took < 10 and '"event":"operation checkpointed"' in log,
          f"deidentify waits: SIGTERM while waiting stops the server in {took:.1f} s (exit {rc}), checkpointed")
    srv = ts.Server(data, *args)
    servers.append(srv)
    base = srv.url + "/v1beta1/" + LOC
    check('"event":"operation resumed"' in "".join(srv.lines), "deidentify waits: the restarted server resumes it")
    wait_waiting(srv, name, "deidentify waits (restarted)", room, 1)
    room.remove()
    op = poll(srv, name)
    sops = store_sops(srv, "out/dicomStores/src")
    check(op.get("done") and "response" in op and counter(op) == (N, 0, 0),
          f"deidentify waits: completes once the ballast is gone, counter {counter(op)} ({op.get('error')})")
    check(len(sops) == N and len(set(sops)) == N and not set(sops) & {UID + "3.%d" % i for i in range(N)},
          f"deidentify waits: the destination holds each instance once ({len(sops)}, {len(set(sops))} distinct)")
    pipe = pipeline_lines(srv, name)
    check(len(pipe) == 1 and pipe[0].get("disk_wait_ms", 0) >= 400,
          f"deidentify waits: its pipeline line has the wait in disk_wait_ms ({pipe})")
    print(f"deidentify waits: {time.time() - t0:.1f} s")

    # ---- import waits ----
    t0 = time.time()
    room.set(ROOM)
    st, op = json_call("POST", base + "/datasets/ds/dicomStores/imp:import",
                       {"gcsSource": {"uri": "file://" + root + "/in/**"}})
    name = op.get("name", "")
    if check(st == 200 and name, f"import waits: started ({st} {op})"):
        wait_waiting(srv, name, "import waits", room, 1)
        room.remove()
        op = poll(srv, name)
        sops = store_sops(srv, "ds/dicomStores/imp")
        check(op.get("done") and "response" in op and counter(op) == (N, 0, 0),
              f"import waits: completes once the ballast is gone, counter {counter(op)} ({op.get('error')})")
        check(sorted(sops) == sorted(UID + "4.%d" % i for i in range(N)),
              f"import waits: the store holds each file's instance once ({len(sops)}, {len(set(sops))} distinct)")
        # Its pipeline line counts each of its 2 chunks once, a parked chunk queued again included (stop 42: 3-4)
        pipe = pipeline_lines(srv, name)
        check(len(pipe) == 1 and pipe[0].get("chunks") == N // 32 and pipe[0].get("disk_wait_ms", 0) >= 400,
              f"import waits: its pipeline line has {N // 32} chunks and the wait ({pipe})")
    print(f"import waits: {time.time() - t0:.1f} s")

    # ---- cancel while waiting ----
    t0 = time.time()
    room.set(ROOM)
    st, op = json_call("POST", base + "/datasets/ds:deidentify", {"destinationDataset": LOC + "/datasets/c1",
                                                                  "config": {}})
    name = op.get("name", "")
    if check(st == 200 and name, f"cancel while waiting: started ({st} {op})"):
        # the dataset's two stores now: src and imp
        if wait_waiting(srv, name, "cancel while waiting", room, 0, 2 * N):
            tc = time.time()
            st, r = json_call("POST", srv.url + "/v1beta1/" + name + ":cancel", {})
            op = poll(srv, name, timeout=20)
            took = time.time() - tc
            ok, failed, pending = counter(op)
            check(st == 200 and op.get("done") and op.get("error", {}).get("code") == 1 and failed == 0
                  and pending > 0 and took < 3,
                  f"cancel while waiting: CANCELLED in {took:.1f} s, counter {(ok, failed, pending)}")
    room.remove()
    print(f"cancel while waiting: {time.time() - t0:.1f} s")

    # ---- STOW mid-body: one 8.6 MiB instance, just over the 8 MiB re-check; its rest always fits on the tmpfs,
    # so only the re-check can refuse it (not ENOSPC) ----
    t0 = time.time()
    big = instance(UID + "5.1", 3000, 5)
    web = "/v1beta1/" + LOC + "/datasets/ds/dicomStores/big/dicomWeb/studies"
    before = set(dcm_files(data))
    room.set(6 << 20)  # the check before the body passes (no length); its own bytes cross the floor
    st, b = stow_chunked(srv, web, big)
    check(st == 507 and api_error(b, 507, "RESOURCE_EXHAUSTED") and b"--min-free-disk" in b,
          f"STOW mid-body: a chunked body crossing the floor is 507 ({st} {b[:200]})")
    room.set(len(big) + (2 << 20))  # room for the declared length: the check before the body passes
    big2 = instance(UID + "5.2", 3000, 6)  # another instance: a duplicate would be 409 without the re-check
    st, b = stow_sized(srv, web, big2, room, 1 << 20, 2 << 20)
    check(st == 507 and api_error(b, 507, "RESOURCE_EXHAUSTED"),
          f"STOW mid-body: a body with a Content-Length whose room went meanwhile is 507 ({st} {b[:200]})")
    room.remove()
    check(store_sops(srv, "ds/dicomStores/big") == [] and set(dcm_files(data)) == before,
          f"STOW mid-body: nothing stored ({store_sops(srv, 'ds/dicomStores/big')}, "
          f"{len(set(dcm_files(data)) - before)} new files)")
    bigf = os.path.join(tmp, "big.dcm")
    open(bigf, "wb").write(big)
    st, _, _ = ts.curl("-X", "POST", srv.url + web, "-H", "Content-Type: application/dicom", data_file=bigf)
    check(st == 200 and store_sops(srv, "ds/dicomStores/big") == [UID + "5.1"],
          f"STOW mid-body: with room again the same body is stored ({st})")
    print(f"STOW mid-body: {time.time() - t0:.1f} s")



def log_clean(tmp, mnt, servers):
    """The operation ids and the floor, no path, UID or name, in every server's log."""
    root = os.path.join(tmp, "root")
    for s in servers:
        log = "".join(s.lines)
        for secret in (UID, "1.2.826.0.1.3680043", PATIENT, "Floorwait", tmp, mnt, root):
            check(secret not in log, f"log: the server's log holds no {secret!r}")
        bad = [ln for ln in s.lines if "Sanitizer" in ln or "runtime error" in ln]
        check(not bad, f"log: nothing from the sanitizers ({''.join(bad)[:300]})")


def run_pg(tmp, mnt, servers, state):
    """The wait with a PostgreSQL index, and a cancel through another server sharing it."""
    r = subprocess.run(["/bin/bash", PG_CLUSTER, "start", state], capture_output=True, text=True, timeout=180)
    if not check(r.returncode == 0, "PostgreSQL: the cluster starts (pg_cluster.sh):\n" + r.stdout + r.stderr):
        return
    url = pg_state(state)["URL"]
    data = os.path.join(mnt, "data-pg")
    os.makedirs(data, mode=0o700)
    room = Room(mnt)
    a = ts.Server(data, "--index", url, "--min-free-disk", str(FLOOR), "--op-workers", "2")
    servers.append(a)
    b = ts.Server(data, "--index", url, "--min-free-disk", str(FLOOR))
    servers.append(b)
    base = a.url + "/v1beta1/" + LOC
    for path in ("/datasets?datasetId=pg", "/datasets/pg/dicomStores?dicomStoreId=src"):
        st, _ = json_call("POST", base + path, {})
        check(st == 200, f"PostgreSQL: POST {path} ({st})")
    body, ctype = ts.multipart_related([os.path.join(tmp, "src-%02d.dcm" % i) for i in range(N)])  # run()'s
    bf = os.path.join(tmp, "stow.bin")
    open(bf, "wb").write(body)
    st, _, _ = ts.curl("-X", "POST", base + "/datasets/pg/dicomStores/src/dicomWeb/studies", "-H",
                       "Content-Type: " + ctype, data_file=bf)
    check(st == 200 and len(store_sops(a, "pg/dicomStores/src")) == N, f"PostgreSQL: STOW of the {N} sources ({st})")

    room.set(ROOM)
    st, op = json_call("POST", base + "/datasets/pg:deidentify", {"destinationDataset": LOC + "/datasets/pgc",
                                                                  "config": {}})
    name = op.get("name", "")
    if check(st == 200 and name, f"PostgreSQL: cancel through B: started ({st} {op})") and \
            wait_waiting(a, name, "PostgreSQL: cancel through B", room, 1):
        tc = time.time()
        st, _ = json_call("POST", b.url + "/v1beta1/" + name + ":cancel", {})
        op = poll(a, name, timeout=20)
        took = time.time() - tc
        ok, failed, pending = counter(op)
        # Designed: seen at A's next re-check, at most 2 s away (op_floor.c RECHECK_MAX_MS), then the poll
        check(st == 200 and op.get("done") and op.get("error", {}).get("code") == 1 and failed == 0 and pending > 0
              and took < 10, f"PostgreSQL: cancel through B: CANCELLED in {took:.1f} s, counter {(ok, failed, pending)}")

    room.set(ROOM)
    st, op = json_call("POST", base + "/datasets/pg:deidentify", {"destinationDataset": LOC + "/datasets/pgout",
                                                                  "config": {}})
    name = op.get("name", "")
    if check(st == 200 and name, f"PostgreSQL: deidentify waits: started ({st} {op})"):
        wait_waiting(a, name, "PostgreSQL: deidentify waits", room, 1)
        room.remove()
        op = poll(a, name)
        sops = store_sops(a, "pgout/dicomStores/src")
        check(op.get("done") and "response" in op and counter(op) == (N, 0, 0) and len(set(sops)) == N == len(sops),
              f"PostgreSQL: deidentify waits: completes once the ballast is gone, counter {counter(op)}, "
              f"{len(sops)} instances ({len(set(sops))} distinct)")
    room.remove()


def main():
    if os.geteuid() != 0:
        print("FAIL: test_server_disk_wait needs root: it mounts a tmpfs as the server's DATA to control its free "
              "space (CI runs as root; run it with sudo)", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="dv-diskwait-")
    mnt = os.path.join(tmp, "mnt")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + TMPFS + ",mode=0700", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL: mount -t tmpfs refused (%s): this test needs it" % r.stderr.strip(), file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
        return 1
    servers = []
    state = os.path.join(tmp, "pg.env")
    try:
        t0 = time.time()
        run(tmp, mnt, servers)
        run_pg(tmp, mnt, servers, state)
        print(f"PostgreSQL: {time.time() - t0:.1f} s (with the SQLite parts)")
        log_clean(tmp, mnt, servers)
    finally:
        for s in servers:
            rc = s.stop()
            check(rc == 0, f"the server stopped cleanly (exit {rc})")
        subprocess.run(["/bin/bash", PG_CLUSTER, "stop", state], timeout=120)
        subprocess.run(["umount", mnt])
        shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print(f"test_server_disk_wait: {len(fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_disk_wait: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

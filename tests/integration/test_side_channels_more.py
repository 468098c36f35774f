#!/usr/bin/python3
"""Side channels carry no PHI, continued (test_side_channels.py's canary corpus, search and allow-list, imported
from it): the channels of `deidentify --mpi` and of `serve` with a PostgreSQL index. A file of its own so that
each half stays within the time a test may take on a two-core CI machine.

* MPI (docs/decisions.md "MPI batch mode"): `mpirun -np 2 --oversubscribe dicomveil deidentify --mpi` over the
  corpus under two configs (BASIC, cleanImage REDACT_ALL_TEXT); captured: mpirun's stdout and stderr (every
  rank's forwarded) and each rank's own stdout and stderr (mpirun --output-filename), rank 0's --report and
  the files beside it, DST's file names. Then a --resume job over the corpus and 300 fillers SIGKILLed as a
  whole (mpirun and both ranks) once the journal holds lines: its streams, the journal and lock, DST's names
  (temp names too); then resumed to the end. Scanned as the CLI's channels (the same kinds, so ALLOWED (a), the
  report's "source" path, applies the same way). A missing mpirun fails the test (as test_cli_mpi.sh does).
* PostgreSQL (docs/server.md "PostgreSQL"): a throw-away cluster (tests/support/pg_cluster.sh), `serve --index
  <URL>` through test_side_channels.run_server (the SQLite run's sequence: STOW, two datasets.deidentify,
  :import, operation get/list/errors, failing requests, the source store's delete), then the tables operations
  (api_method, request, result) and op_items (every text column) read with psql and scanned as the SQLite
  ones. Missing PostgreSQL binaries fail the test (pg_cluster.sh).

Env (set by ctest): DV_BIN, DV_SHARED_DATA, DV_SOURCE_DIR, DV_BUILD_DIR. Run with /usr/bin/python3.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_side_channels as sc  # noqa: E402  (the corpus, the search, ALLOWED, run_server: one home)
from test_side_channels import check, scan, looked  # noqa: E402
from test_server_postgresql import pg_state  # noqa: E402  (pg_cluster.sh's state file: one reader)

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PG_CLUSTER = os.path.join(SRC_DIR, "tests", "support", "pg_cluster.sh")


# ---------------------------------------------------------------- MPI

def mpi_env():
    """test_cli_mpi.sh's environment for Open MPI in a container (root allowed, shared memory and self
    transports only, one node, no CMA) and under ASan (Open MPI's own leaks suppressed, dicomveil's not); small
    chunks, so the job is dealt in many pieces and a kill lands between them."""
    env = dict(os.environ)
    env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader",
                "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_plm": "isolated",
                "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_MCA_btl_base_warn_component_unused": "0",
                "OMPI_MCA_mpi_warn_on_fork": "0", "DICOMVEIL_MPI_CHUNK": "4"})
    supp = os.path.join(SRC_DIR, "tests", "integration", "openmpi-lsan.supp")
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "fast_unwind_on_malloc=0"]))
    env["LSAN_OPTIONS"] = ":".join(filter(None, [env.get("LSAN_OPTIONS"), "suppressions=" + supp,
                                                 "print_suppressions=0"]))
    return env


def mpirun(outdir, args):
    """The argv of a two-rank job whose ranks' own stdout and stderr also go to files under outdir."""
    argv = ["mpirun", "-np", "2", "--oversubscribe", "--output-filename", outdir]
    if os.geteuid() == 0:
        argv.append("--allow-run-as-root")
    return argv + [sc.BIN, "deidentify", "--mpi", *args]


def scan_ranks(label, outdir, want_ranks=True):
    """Each rank's stdout and stderr as mpirun --output-filename wrote them (<outdir>/1/rank.<r>/std{out,err})."""
    seen = set()
    for dirpath, _, files in os.walk(outdir):
        for f in files:
            rank = os.path.basename(dirpath)
            data = open(os.path.join(dirpath, f), "rb").read()
            sc.no_sanitizer("%s %s" % (label, rank), data)
            scan("%s: %s %s" % (label, rank, f), "cli-stdout" if f == "stdout" else "cli-stderr", data)
            seen.add(rank)
    if want_ranks:
        check({"rank.0", "rank.1"} <= seen, "%s: each rank's own streams were captured (%s)" % (label, sorted(seen)))


def kill_job(p):
    """SIGKILL to mpirun and its children (the ranks) at once: Open MPI starts each rank in a process group of
    its own, so the job is mpirun and what it started."""
    kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
    for pid in [p.pid] + [int(k) for k in kids]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_mpi(tmp, src, made, key):
    if not check(shutil.which("mpirun") is not None, "mpi: mpirun is required (Debian openmpi-bin; make deps)"):
        return
    env = mpi_env()
    before = dict(looked)
    for name in ("basic", "redact"):
        cf = os.path.join(tmp, "cfg-%s.json" % name)
        side = os.path.join(tmp, "side-mpi-%s" % name)
        os.makedirs(side)
        rep = os.path.join(side, "report.json")
        dst = os.path.join(tmp, "dst-mpi-%s" % name)
        outdir = os.path.join(tmp, "ranks-mpi-%s" % name)
        label = "mpi %s" % name
        r = subprocess.run(mpirun(outdir, ["--config", cf, "--key-file", key, "--jobs", "1", "--report", rep,
                                           src, dst]), capture_output=True, timeout=300, env=env)
        check(r.returncode == 1, "%s: exit 1 (some inputs fail) (%d: %s)" % (label, r.returncode, r.stderr[-400:]))
        sc.no_sanitizer(label, r.stderr)
        scan(label + ": mpirun stdout", "cli-stdout", r.stdout)
        scan(label + ": mpirun stderr", "cli-stderr", r.stderr)
        check(b"mpi: 2 ranks" in r.stderr, "%s: ran on 2 ranks (%s)" % (label, r.stderr[-300:]))
        check(r.stderr.count(b"instance #") >= len(made["broken"]) - 1,
              "%s: stderr has a line per failed instance (%d)" % (label, r.stderr.count(b"instance #")))
        scan_ranks(label, outdir)
        sc.scan_side(label, side, rep)
        scan(label + ": DST file names", "cli-dst-names", sc.tree_names(dst))
    run_mpi_resume(tmp, src, made, key, env)
    for kind in ("cli-stdout", "cli-stderr", "cli-report", "cli-side-file", "cli-dst-names", "allowed cli-report"):
        check(looked.get(kind, 0) > before.get(kind, 0), "mpi: looked at no %s: the check proves nothing" % kind)


def run_mpi_resume(tmp, src, made, key, env):
    """--resume under mpirun: the whole job SIGKILLed once rank 0's journal holds lines, its streams, journal
    and lock scanned, then resumed to the end (test_side_channels.run_cli_resume for the local run)."""
    rsrc = os.path.join(tmp, "rsrc-mpi")
    shutil.copytree(src, os.path.join(rsrc, "main"))
    sc.fillers(os.path.join(rsrc, "fill"), 300, made["n"] + 1)
    side, rep, dst, jr, args = sc.resume_run(tmp, "mpi-resume", key, rsrc)
    # --fsync makes the job last seconds (each output and journal line on disk one by one): the kill lands
    # midway on a loaded machine too; the resumed job goes without it (not part of the run's id)
    outdir = os.path.join(tmp, "ranks-mpi-killed")
    p = subprocess.Popen(mpirun(outdir, ["--fsync", *args]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    midway = sc.kill_when_journaled(p, jr, 120, lambda: kill_job(p))
    out, err = p.communicate(timeout=60)
    time.sleep(0.2)  # the ranks, orphaned by mpirun's kill, are gone by now (SIGKILLed with it)
    midway = midway and p.returncode == -signal.SIGKILL and not os.path.exists(rep)
    check(midway, "mpi resume: the job was SIGKILLed midway (rc %s)" % p.returncode)
    scan("mpi resume killed: mpirun stdout", "cli-stdout", out)
    scan("mpi resume killed: mpirun stderr", "cli-stderr", err)
    scan_ranks("mpi resume killed", outdir, want_ranks=False)  # a rank killed before it wrote has no file
    files = sc.side_files(side)
    check(jr in files and files[jr].count(b"\nD ") >= 5, "mpi resume killed: a journal with lines beside the report")
    for path, data in files.items():
        scan("mpi resume killed: %s" % os.path.basename(path), "cli-side-file", data)
    scan("mpi resume killed: DST file names (temp names too)", "cli-dst-names", sc.tree_names(dst))
    outdir = os.path.join(tmp, "ranks-mpi-resumed")
    r = subprocess.run(mpirun(outdir, args), capture_output=True, timeout=300, env=env)
    check(r.returncode == 1, "mpi resume: the resumed job ends, some inputs failing (%d: %s)"
          % (r.returncode, r.stderr[-300:]))
    sc.no_sanitizer("mpi resume resumed", r.stderr)
    check(b"resume: " in r.stderr and b"inputs restored" in r.stderr,
          "mpi resume: the resumed job used the journal (%s)" % r.stderr[-300:])
    scan("mpi resume resumed: mpirun stdout", "cli-stdout", r.stdout)
    scan("mpi resume resumed: mpirun stderr", "cli-stderr", r.stderr)
    scan_ranks("mpi resume resumed", outdir)
    sc.scan_side("mpi resume resumed", side, rep)
    scan("mpi resume resumed: DST file names", "cli-dst-names", sc.tree_names(dst))


# ---------------------------------------------------------------- PostgreSQL

def run_pg(tmp, src, made):
    state = os.path.join(tmp, "pg.env")
    before = dict(looked)
    try:
        r = subprocess.run(["/bin/bash", PG_CLUSTER, "start", state], capture_output=True, text=True, timeout=180)
        if not check(r.returncode == 0, "pg: could not start PostgreSQL:\n" + r.stdout + r.stderr):
            return
        sc.run_server(tmp, src, made, pg=pg_state(state))
    finally:
        subprocess.run(["/bin/bash", PG_CLUSTER, "stop", state], timeout=120)
    for kind in ("srv-error", "srv-op", "srv-stow", "op-errors", "srv-log", "srv-data-file", "srv-db",
                 "srv-db-path", "srv-db-gone-uid", "allowed op-errors"):
        check(looked.get(kind, 0) > before.get(kind, 0), "pg: looked at no %s: the check proves nothing" % kind)


def main():
    sc.self_test()
    tmp = tempfile.mkdtemp(prefix="dv-side-more-")
    try:
        src = os.path.join(tmp, "src")
        made = sc.make_corpus(src)
        key = os.path.join(tmp, "key")
        open(key, "wb").write(os.urandom(32))
        os.chmod(key, 0o600)
        for name, cfg in (("basic", {"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}),
                          ("redact", {"dicomTagConfig": {"options": {"cleanImage": {
                              "textRedactionMode": "REDACT_ALL_TEXT"}}}})):
            open(os.path.join(tmp, "cfg-%s.json" % name), "w").write(json.dumps(cfg))
        # the processes' TMPDIR (OCR, decoders, Open MPI's session files, libraries): a side channel too
        tmpdir = os.path.join(tmp, "tmpdir")
        os.makedirs(tmpdir)
        os.environ["TMPDIR"] = tmpdir
        t0 = time.time()
        run_mpi(tmp, src, made, key)
        t1 = time.time()
        run_pg(tmp, src, made)
        print("seconds: mpi %.1f, pg %.1f" % (t1 - t0, time.time() - t1))
        scan("TMPDIR file names", "tmpdir", sc.tree_names(tmpdir))
        for p, _, fs in os.walk(tmpdir):
            for f in fs:
                # only regular files: opening a FIFO Open MPI left there would wait for a writer forever
                if os.path.isfile(os.path.join(p, f)) and not os.path.islink(os.path.join(p, f)):
                    scan("TMPDIR file " + f, "tmpdir", open(os.path.join(p, f), "rb").read())
    finally:
        if os.environ.get("DV_SIDE_KEEP"):
            print("kept:", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    check(looked.get("tmpdir", 0) > 0, "looked at no TMPDIR: the check proves nothing")
    print("looked at:", json.dumps(looked, sort_keys=True))
    if sc.fails:
        print("test_side_channels_more: %d check(s) failed" % len(sc.fails), file=sys.stderr)
        return 1
    print("test_side_channels_more: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

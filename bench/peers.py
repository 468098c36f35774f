#!/usr/bin/python3
"""The performance record against every peer (issue 8 item 3), run by bench/peers.sh (`make bench`).

    /usr/bin/python3 bench/peers.py [--size small|full] [--runs N] [--keep]

One run, the same generated corpora for every tool, side by side:
  ct     CT-like 512x512 16-bit uncompressed (bench/gen_ct_corpus.py), at three corpus sizes (size sweep);
  mr     MR-like Enhanced MR multi-frame, functional groups per frame (bench/gen_peer_corpora.py mr);
  us     US-like JPEG Baseline with burned-in text (bench/gen_peer_corpora.py us, tools/gen_burned_in.py);
  shared ../shared/data/dicom (minus the one file that crashes DCMTK, GDCM and Orthanc: see RESULTS.md).
Tools: cp -r (the physical limit); dicomveil --jobs 1 / --jobs NPROC / mpirun -np 2 --mpi --jobs 1 (and -np 1 on
the CT corpus, for the ranks plot); dcmodify (1 process, and xargs -P NPROC) erasing the Basic-profile tags
(bench/basic_args.py); gdcmanon in its own Basic-profile mode (-e, a throwaway RSA certificate) and in --dumb
mode with the table's tags; bench/pydicom_basic.py (1 and NPROC processes); Orthanc /instances/{id}/anonymize
(bench/orthanc_anon.py: upload first, only the anonymize calls timed, NPROC client connections).
Each measurement: page cache warmed, RUNS runs, median wall time of the whole command (Orthanc: of the timed
phase), peak RSS from GNU time %M (largest process of the tree; Orthanc: the server's VmHWM during the timed
phase). The load average is recorded before and after each corpus.
Writes build/bench/peers/results.tsv and meta.json, then bench/peers_report.py writes the section of
bench/RESULTS.md between its markers and the plots bench/img/peers_*.png.

Sizes (BENCH_SIZE or --size): small (~3 min on an idle machine: CT 20/50/100, MR 8, US 24, RUNS 1, the
second variant of each peer (dcmodify -P, gdcmanon --dumb, pydicom pool) on the CT corpus only) or full (CT 100/300/1000,
MR 50, US 200, RUNS 3). Env: DV_BIN (build/dicomveil), DV_SHARED_DATA (../shared/data), RUNS.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import percore  # bench/percore.py, beside this file
from percore import files_of, loadavg, log  # one home for the bench helpers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
NPROC = os.cpu_count() or 1
SIZES = {
    "small": {"ct": [20, 50, 100], "mr": 8, "us": 24, "runs": 1},
    "full": {"ct": [100, 300, 1000], "mr": 50, "us": 200, "runs": 3},
}
MR_FRAMES = 24
# Crashes dcmodify and gdcmanon (stack overflow on pathological nesting) and takes Orthanc down with it;
# dicomveil rejects it cleanly (error class "limit"). Left out for every tool so every tool sees the same files.
SHARED_EXCLUDE = "orthanc-tests/2026-05-06-Deeply-Nested-Sequence.dcm"
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_plm": "isolated",
           "OMPI_MCA_rmaps_base_oversubscribe": "1"}  # as bench/mpi.sh and tests/integration/test_cli_mpi.sh


def rmtree(p):
    if os.path.lexists(p):
        subprocess.run(["chmod", "-R", "u+rwX", p], check=False)
        shutil.rmtree(p)


def cached_corpus(cache, name, gen_cmd):
    """A generated corpus under CACHE/NAME, made once (a .done marker beside it, not inside)."""
    d = os.path.join(cache, name)
    if not os.path.exists(d + ".done"):
        rmtree(d)
        log(f"   generating {name}")
        subprocess.run(gen_cmd + [d], check=True)
        open(d + ".done", "w").close()
    return d


def subset(src, dst, n):
    os.makedirs(dst)
    for f in files_of(src)[:n]:
        try:
            os.link(f, os.path.join(dst, os.path.basename(f)))
        except OSError:
            shutil.copy(f, dst)
    return dst


class Bench:
    def __init__(self, size, runs, work):
        self.size, self.runs, self.w = size, runs, work
        self.bin = os.environ.get("DV_BIN", os.path.join(REPO, "build", "dicomveil"))
        self.shared = os.environ.get("DV_SHARED_DATA", os.path.join(REPO, "..", "shared", "data"))
        self.table = os.path.join(self.shared, "ps315", "bsc_2025c_dicom_part15_table_E1-1.csv")
        self.rows = []
        self.loads = {}
        self.key = os.path.join(work, "key")
        with open(self.key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(self.key, 0o600)
        self.cfg = os.path.join(work, "config.json")
        with open(self.cfg, "w") as f:
            f.write("{}")  # the Basic profile: what every peer is asked to do
        # gdcmanon's Basic-profile mode (-e) encrypts the original attributes for its certificate (PS3.15 E.1.1
        # Encrypted Attributes Sequence) and refuses to run without one: a throwaway self-signed RSA certificate.
        self.cert = os.path.join(work, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(work, "certkey.pem"), "-out", self.cert, "-days", "2", "-subj", "/CN=bench"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ba = os.path.join(REPO, "bench", "basic_args.py")
        self.dcmodify_args = ["-nb", "-q", "-imt", "-ie", "-ep", "-gst", "-gse", "-gin"] + subprocess.run(
            [PY, ba, "dcmodify", self.table], check=True, capture_output=True, text=True).stdout.split("\n")[:-1]
        probe = os.path.join(work, "probe")
        subprocess.run([PY, os.path.join(REPO, "bench", "gen_ct_corpus.py"), probe, "-n", "1"], check=True,
                       stderr=subprocess.DEVNULL)
        self.gdcm_args = subprocess.run([PY, ba, "gdcm", self.table, "--probe", os.path.join(probe, "ct_00000.dcm"),
                                         "--cache", os.path.join(REPO, "build", "bench", "cache")],
                                        check=True, capture_output=True, text=True).stdout.split("\n")[:-1]
        self.out = os.path.join(work, "out")
        self.per_file = False
        self.wk = os.path.join(work, "work")

    # ---- tools: each returns (argv, env extra, prep) ---------------------------------------------------------
    def dv(self, src, jobs, ranks=0):
        argv = [self.bin, "deidentify", "--config", self.cfg, "--key-file", self.key, "--jobs", str(jobs), "--quiet",
                "--report", os.path.join(self.w, "report.json"), src, self.out]
        if ranks:
            argv = ["mpirun", "-np", str(ranks), "--oversubscribe", argv[0], argv[1], "--mpi"] + argv[2:]
        return argv

    def tools(self, corpus, sweep):
        n = NPROC
        self.per_file = corpus == "shared"
        gd = f"1 process per file, -P {n}" if self.per_file else "-r"
        t = [
            ("cp", "cp -r (the limit)", lambda s: ["cp", "-r", s, self.out], None),
            ("dv1", "dicomveil --jobs 1", lambda s: self.dv(s, 1), None),
            ("dvN", f"dicomveil --jobs {n}", lambda s: self.dv(s, n), None),
            ("mpi2", "dicomveil mpirun -np 2 --mpi --jobs 1", lambda s: self.dv(s, 1, 2), None),
        ]
        if corpus.startswith("ct") and not sweep:
            t.append(("mpi1", "dicomveil mpirun -np 1 --mpi --jobs 1", lambda s: self.dv(s, 1, 1), None))
        t += [
            ("dcmodify", "dcmodify, 1 process (in place on a copy)", self.dcmodify1, "copy"),
            ("gdcm_e", f"gdcmanon -e (its Basic profile, RSA cert) {gd}", self.gdcm_e, None),
            ("py1", "pydicom_basic.py --jobs 1", lambda s: self.py(s, 1), None),
            ("orthanc", f"Orthanc /anonymize, {n} connections", self.orthanc, None),
        ]
        if not sweep and (self.size == "full" or corpus.startswith("ct")):
            # the second variant of each peer; in the small size only on the CT corpus (one process per file
            # of gdcmanon on the shared corpus alone takes minutes on a loaded machine)
            t += [
                ("dcmodifyP", f"dcmodify, xargs -P {n}", self.dcmodifyP, "copy"),
                ("gdcm_dumb", f"gdcmanon --dumb (table tags) {gd}", self.gdcm_dumb, None),
                ("pyN", f"pydicom_basic.py --jobs {n}", lambda s: self.py(s, n), None),
            ]
        return t

    def dcmodify_list(self):
        lst = os.path.join(self.w, "dcmodify.list")
        with open(lst, "w") as f:
            f.write("".join(x + "\n" for x in files_of(self.wk)))
        return lst

    def dcmodify1(self, s):
        return ["xargs", "-a", self.dcmodify_list(), "-d", "\n", "dcmodify"] + self.dcmodify_args

    def dcmodifyP(self, s):
        lst = self.dcmodify_list()
        per = max(1, -(-len(files_of(self.wk)) // NPROC))
        return ["xargs", "-a", lst, "-d", "\n", "-P", str(NPROC), "-n", str(per), "dcmodify"] + self.dcmodify_args

    def gdcm(self, s, mode_args, per_file):
        if not per_file:
            return ["gdcmanon"] + mode_args + ["-r", "--continue", "-i", s, "-o", self.out]
        # gdcmanon -r stops at the first file it cannot write (--continue only skips non-DICOM input): on the
        # shared corpus one gdcmanon per file (xargs -P NPROC, plus one sh + mkdir per file), so every file is
        # attempted, as in bench/run.sh.
        script = ('S=$1; D=$2; shift 2; export S D; find "$S" -type f | sort | xargs -d "\\n" -P %d -I{} '
                  'sh -c \'o="$D/${1#"$S"/}"; mkdir -p "${o%%/*}"; shift; exec gdcmanon "$@" -i "$0" -o "$o"\' '
                  '{} {} "$@"' % NPROC)
        return ["sh", "-c", script, "sh", s, self.out] + mode_args

    def gdcm_e(self, s):
        return self.gdcm(s, ["-e", "-c", self.cert], self.per_file)

    def gdcm_dumb(self, s):
        return self.gdcm(s, ["--dumb"] + self.gdcm_args, self.per_file)

    def py(self, s, jobs):
        return [PY, os.path.join(REPO, "bench", "pydicom_basic.py"), "--table", self.table, "--key-file", self.key,
                "--jobs", str(jobs), s, self.out]

    def orthanc(self, s):
        return [PY, os.path.join(REPO, "bench", "orthanc_anon.py"), "--connections", str(NPROC), s, self.out]

    # ---- measuring ---------------------------------------------------------------------------------------------
    def measure(self, corpus, src, tid, label, argv_of, prep, nfiles, nbytes):
        times, rsss, elapsed, notes, rc = [], [], [], "", 0
        report = os.path.join(self.w, "report.json")
        for _ in range(self.runs):
            rmtree(self.out)
            rmtree(self.wk)
            if os.path.exists(report):
                os.remove(report)
            if prep == "copy":
                subprocess.run(["cp", "-r", src, self.wk], check=True)
                subprocess.run(["chmod", "-R", "u+rwX", self.wk], check=True)
            argv = argv_of(src)
            env = dict(os.environ, **(MPI_ENV if argv[0] == "mpirun" else {}))
            tf = os.path.join(self.w, "time.out")
            subprocess.run(["sync"], check=False)
            t0 = time.perf_counter()
            p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf] + argv, env=env, stdout=subprocess.PIPE,
                               stderr=open(os.path.join(self.w, f"{tid}.err"), "w"))
            dt = time.perf_counter() - t0
            rc = rc or p.returncode
            rss = int(open(tf).read().split()[-1]) if os.path.exists(tf) else 0
            if tid == "orthanc":
                try:
                    j = json.loads(p.stdout.decode().strip().splitlines()[-1])
                    dt, rss = j["seconds"], j["vmhwm_kb"]
                    notes = (f"upload not timed ({j['upload_seconds']:.1f} s); {j['rejected']} files rejected by the "
                             f"upload; {j['instances']} anonymized")
                except (ValueError, IndexError, KeyError):
                    rc = rc or 99
            elif tid.startswith(("dv", "mpi")):
                try:  # the run's own clock: without process (and MPI) start-up
                    elapsed.append(json.load(open(report))["elapsed_seconds"])
                except (OSError, ValueError, KeyError):
                    pass
            times.append(dt)
            rsss.append(rss)
        outs = "in place" if prep == "copy" else str(len(files_of(self.out))) if os.path.isdir(self.out) else "0"
        med = statistics.median(times)
        row = {"corpus": corpus, "tool": tid, "label": label, "files": nfiles, "bytes": nbytes, "seconds": med,
               "runs": [round(x, 4) for x in times], "rss_kb": max(rsss), "rc": rc, "outputs": outs, "note": notes,
               "elapsed": round(statistics.median(elapsed), 4) if elapsed else ""}
        self.rows.append(row)
        log(f"   {label:44s} {med:8.3f} s  {nfiles / med:9.1f} inst/s  RSS {max(rsss) / 1024:7.1f} MB  rc {rc}"
            f"  outputs {outs}")

    def corpus(self, name, src, sweep=False):
        fs = files_of(src)
        nbytes = sum(os.path.getsize(f) for f in fs)
        log(f"== corpus {name}: {len(fs)} files, {nbytes / 1e6:.1f} MB, load {loadavg()}")
        l0 = loadavg()
        subprocess.run(["sh", "-c", 'find "$0" -type f -exec cat {} + >/dev/null', src], check=False)
        for tid, label, argv_of, prep in self.tools(name, sweep):
            self.measure(name, src, tid, label, argv_of, prep, len(fs), nbytes)
        self.loads[name] = [l0, loadavg()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default=os.environ.get("BENCH_SIZE", "full"), choices=sorted(SIZES))
    ap.add_argument("--runs", type=int, default=int(os.environ["RUNS"]) if os.environ.get("RUNS") else None)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--no-report", action="store_true", help="only the TSV/JSON, RESULTS.md and plots untouched")
    a = ap.parse_args()
    sz = SIZES[a.size]
    runs = a.runs or sz["runs"]
    for t in ("dcmodify", "gdcmanon", "mpirun", "openssl", "/usr/bin/time", "/usr/sbin/Orthanc"):
        if not shutil.which(t):
            sys.exit(f"peers.py: missing {t} (make deps)")
    cache = os.path.join(REPO, "build", "bench", "cache")
    os.makedirs(cache, exist_ok=True)
    res_dir = os.path.join(REPO, "build", "bench", "peers")
    os.makedirs(res_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="run.", dir=res_dir)
    t_start = time.time()
    try:
        b = Bench(a.size, runs, work)
        if not os.access(b.bin, os.X_OK):
            sys.exit(f"peers.py: no dicomveil binary at {b.bin} (make build, or set DV_BIN)")
        ver = lambda argv: subprocess.run(argv, capture_output=True, text=True).stdout.strip().splitlines()[:1]  # noqa
        meta = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "size": a.size, "runs": runs,
            "nproc": NPROC, "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                                         if line.startswith("model name")), "?"),
            "kernel": platform.release(),
            "commit": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip(),
            "dirty": subprocess.run(["git", "-C", REPO, "diff", "--quiet"]).returncode != 0,
            "dicomveil": (ver([b.bin, "--version"]) or ["?"])[0],
            "dcmtk": (ver(["dpkg-query", "-W", "-f=${Version}", "dcmtk"]) or ["?"])[0],
            "gdcm": (ver(["dpkg-query", "-W", "-f=${Version}", "libgdcm-tools"]) or ["?"])[0],
            "orthanc": (ver(["dpkg-query", "-W", "-f=${Version}", "orthanc"]) or ["?"])[0],
            "pydicom": (ver([PY, "-c", "import pydicom; print(pydicom.__version__)"]) or ["?"])[0],
            "openmpi": (ver(["dpkg-query", "-W", "-f=${Version}", "openmpi-bin"]) or ["?"])[0],
            "dcmodify_args": len(b.dcmodify_args), "gdcm_tags": len(b.gdcm_args) // 2,
            "ct_sizes": sz["ct"], "mr_frames": MR_FRAMES,
        }
        log(f"== peers benchmark {meta['date']}, size {a.size}, {runs} run(s) per measurement, load {loadavg()}")
        gen_ct = os.path.join(REPO, "bench", "gen_ct_corpus.py")
        gen_pc = os.path.join(REPO, "bench", "gen_peer_corpora.py")
        corpora = []
        big_n = max(sz["ct"])
        big = cached_corpus(cache, f"peers_ct_{big_n}", [PY, gen_ct, "-n", str(big_n)])
        for n in sz["ct"]:
            # the smaller sizes are the first N files of the largest (hard links): generated once
            corpora.append((f"ct-{n}", big if n == big_n else subset(big, os.path.join(work, f"ct_{n}"), n),
                            n != big_n))
        corpora.append(("mr", cached_corpus(cache, f"peers_mr_{sz['mr']}_f{MR_FRAMES}",
                                            [PY, gen_pc, "mr", "-n", str(sz["mr"]), "--frames", str(MR_FRAMES), ]),
                        False))
        corpora.append(("us", cached_corpus(cache, f"peers_us_{sz['us']}", [PY, gen_pc, "us", "-n", str(sz["us"])]),
                        False))
        sh = os.path.join(work, "shared_in")
        shutil.copytree(os.path.join(b.shared, "dicom"), sh)
        subprocess.run(["chmod", "-R", "u+rwX", sh], check=True)
        if os.path.exists(os.path.join(sh, SHARED_EXCLUDE)):
            os.remove(os.path.join(sh, SHARED_EXCLUDE))
        corpora.append(("shared", sh, False))
        # gen_cmd puts OUT last: gen_ct_corpus.py / gen_peer_corpora.py take it as a positional argument
        for name, src, sweep in corpora:
            b.corpus(name, src, sweep)
        # The targets rows' per-core figures: bench/percore.py (the one home of the method, shared with
        # bench/mpi.sh): a fresh ext4 per run, interleaved rounds, CPU and wall, median and spread. The wall
        # times above write to build/bench, whose history (recently deleted inodes) moves cp and dicomveil 3-4x.
        pc_runs = int(os.environ.get("PERCORE_RUNS") or 5)
        log(f"== per-core targets (bench/percore.py, {pc_runs} rounds, a fresh file system per run), load {loadavg()}")
        res = percore.measure([(n, s) for n, s, sweep in corpora if not sweep], pc_runs, b.bin,
                              os.path.join(REPO, "build", "bench"))
        with open(os.path.join(res_dir, "percore.json"), "w") as f:
            json.dump(res, f, indent=1)
        meta["loads"] = b.loads
        meta["seconds"] = round(time.time() - t_start, 1)
        with open(os.path.join(res_dir, "results.tsv"), "w") as f:
            cols = ["corpus", "tool", "label", "files", "bytes", "seconds", "rss_kb", "rc", "outputs", "note", "runs",
                    "elapsed"]
            f.write("\t".join(cols) + "\n")
            for r in b.rows:
                f.write("\t".join(str(r[c]) if c != "runs" else " ".join(map(str, r[c])) for c in cols) + "\n")
        with open(os.path.join(res_dir, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        log(f"== done in {meta['seconds']} s; results in {res_dir}")
    finally:
        if a.keep:
            log(f"kept {work}")
        else:
            rmtree(work)
    if not a.no_report:
        subprocess.run([PY, os.path.join(REPO, "bench", "peers_report.py"), "--results", res_dir,
                        "--markdown", os.path.join(REPO, "bench", "RESULTS.md"),
                        "--img", os.path.join(REPO, "bench", "img")], check=True)


if __name__ == "__main__":
    main()

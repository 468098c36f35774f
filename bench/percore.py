#!/usr/bin/python3
"""Per-core metadata rates on a fresh file system per run: the one home of the method (issue 8 target "the
per-core metadata rate stays >= 10x dcmodify and >= cp"; docs/decisions.md "Per-core rates are measured on a
fresh file system per run"). bench/mpi.sh's per-core table and bench/peers.py's targets rows both call it.

    /usr/bin/python3 bench/percore.py --corpus NAME=DIR [--corpus NAME=DIR ...] [--runs 5] [--json OUT]
                                      [--markdown OUT] [--dv-bin build/dicomveil] [--scratch build/bench]

Tools, one process on one core each, the same source files:
  cp         `cp -r SRC DST`: creating and filling the output files, nothing else (the I/O limit of one core);
  dicomveil  `deidentify --jobs 1 -q --config {}` (the Basic profile, metadata only) into DST;
  dcmodify   DCMTK doing the Basic profile's edits (bench/basic_args.py, the one home of its arguments), one
             process over every file (xargs), in place on an untimed copy made on the same fresh file system;
  start-up   dicomveil on one small file (../shared/data/dicom/pydicom/CT_small.dcm, as bench/startup.sh), so the
             rate of a long run can be given without the once-per-process cost.
Why a fresh file system: on a journal-less ext4 (this machine's /) creating an inode first probes the inodes
deleted in the last 60-300 s (ext4 `recently_deleted`), so cp's and dicomveil's cost per file moved 3-4x from one
run to the next with what had been deleted before (bench/RESULTS.md "Integrated re-run", 12:10), while dcmodify,
which creates no inode per file, did not move. Each run here writes into an ext4 made for that run alone
(`truncate` a sparse image under --scratch, `mkfs.ext4` with its default journal and feature set, inode tables
and journal zeroed at mkfs time so no lazy-init thread runs during the measurement, `mount -o loop`); after the
run `sync -f` and umount (not timed). cp and dicomveil run in two layouts (--layouts): "cross", the source on the
usual disk with a warm page cache (copy_file_range cannot cross file systems: both copy through user space, and
coreutils cp then maps and unmaps a copy buffer per file), and "same", the source copied untimed onto the run's
fresh file system (cp copies in the kernel with copy_file_range, its best case; dicomveil through its buffer,
docs/decisions.md "Pixel data are copied through the worker's buffer"). Runs are interleaved (round i: start-up,
then per corpus cp, dicomveil, cp and dicomveil in the second layout, dcmodify), so load that drifts hits every
tool. Every timed run but the start-up one first touches and frees twice its corpus plus 512 MiB (prefault):
on a virtual machine that backs memory lazily the first touch of a page is paid inside the next tool's memcpy.
CPU = user + sys of the tool and its children (the difference of getrusage(RUSAGE_CHILDREN) around the one
command); wall = perf_counter around it. Each figure: median over the runs and the spread (min-max); the ratios
are medians of the per-round ratios (same minute), with their spread; "start-up excluded" subtracts the median
start-up run (on small corpora under load the wall figure without start-up is a few ms and not meaningful).
Where loop mounts are refused (not root, no loop device, a container), a printed warning and a fresh directory per
run on --scratch's file system instead, deleted only after the series (no run pays for the previous run's
deletions, but the file system's older history still shows): the result says which method ran ("method").
"""
import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
# cp and dicomveil in each layout ("cross": the source on the usual disk, as an archive read from one volume and
# written to another; "same": the source copied untimed onto the run's fresh file system first), dcmodify once
LAYOUTS = ("cross", "same")
# floor: bench/io_floor.c, dicomveil's own system calls per file without the DICOM work, with the output named
# atomically as dicomveil names it (O_TMPFILE + linkat) and, for comparison, created under its final name
TOOL_IDS = ("cp", "dicomveil", "cp@same", "dicomveil@same", "floor@same", "floor_plain@same", "dcmodify")
GIB = 1 << 30


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def files_of(d):
    return sorted(os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs)


# The hypervisor's lazily backed memory kept out of the figures: bench/vm_memory.py, the one home of the method.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm_memory import free_page_reporting_paused, prefault  # noqa: E402


def timed(argv, warm=0):
    """Run argv (output discarded) after prefault(warm); (CPU seconds of it and its children, wall seconds,
    exit code)."""
    prefault(warm)
    def cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime
    c0, t0 = cpu(), time.perf_counter()
    rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return cpu() - c0, time.perf_counter() - t0, rc


class Scratch:
    """Fresh file systems (or, as the fallback, fresh directories) under BASE, one per run."""

    def __init__(self, base, loop=True, min_size=GIB):
        self.min_size = min_size  # >= 512 MiB: mkfs.ext4's "default" type (4 KiB blocks), as an archive disk
        os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="percore.", dir=base)
        self.n = 0
        self.method = "fresh-ext4" if loop and self._loop_works() else "fresh-directory"
        if self.method != "fresh-ext4":
            log("percore: WARNING: loop mounts are refused here (or disabled): every run writes into a fresh "
                f"directory on {base}'s file system instead; its history (recently deleted inodes) still shows "
                "in the cp and dicomveil figures")

    def _mkfs_mount(self, size, mnt):
        img = mnt + ".img"
        with open(img, "wb") as f:
            f.truncate(size)  # sparse: only what is written takes space
        os.makedirs(mnt)
        # mkfs.ext4's defaults (journal, 4 KiB blocks at >= 512 MiB); tables and journal zeroed now, so no
        # ext4lazyinit thread writes during the measurement
        subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        subprocess.run(["mount", "-o", "loop", img, mnt], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        return img

    def _unmount(self, mnt, img):
        subprocess.run(["sync", "-f", mnt], check=False)
        if subprocess.run(["umount", mnt], check=False, stderr=subprocess.DEVNULL).returncode:
            subprocess.run(["umount", "-l", mnt], check=False)  # still busy (a straggler): detach it now
        with contextlib.suppress(OSError):
            os.remove(img)
            os.rmdir(mnt)

    def _loop_works(self):
        if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
            return False
        mnt = os.path.join(self.dir, "probe")
        try:
            img = self._mkfs_mount(16 << 20, mnt)
        except (subprocess.CalledProcessError, OSError):
            shutil.rmtree(mnt, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.remove(mnt + ".img")
            return False
        self._unmount(mnt, img)
        return True

    @contextlib.contextmanager
    def fresh(self, nbytes):
        """A directory that does not exist yet (the tool creates it), on a file system no earlier run touched."""
        self.n += 1
        mnt = os.path.join(self.dir, f"run{self.n}")
        if self.method == "fresh-directory":
            os.makedirs(mnt)
            yield os.path.join(mnt, "out")
            return  # deleted with the series (close)
        img = self._mkfs_mount(max(self.min_size, 2 * nbytes + (256 << 20)), mnt)
        try:
            yield os.path.join(mnt, "out")
        finally:
            self._unmount(mnt, img)

    def close(self):
        for m in os.listdir(self.dir):
            p = os.path.join(self.dir, m)
            if os.path.ismount(p):
                subprocess.run(["umount", p], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def dcmodify_args():
    table = os.path.join(os.environ.get("DV_SHARED_DATA", os.path.join(REPO, "..", "shared", "data")), "ps315",
                         "bsc_2025c_dicom_part15_table_E1-1.csv")
    args = subprocess.run([PY, os.path.join(REPO, "bench", "basic_args.py"), "dcmodify", table], check=True,
                          capture_output=True, text=True).stdout.split("\n")[:-1]
    if len(args) < 100:
        sys.exit(f"percore: basic_args.py gave {len(args)} dcmodify arguments")
    return ["-nb", "-q", "-imt", "-ie", "-ep", "-gst", "-gse", "-gin"] + args


def med_spread(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": [round(x, 5) for x in xs]}


def measure(corpora, runs, dv_bin, scratch_base, loop=True, layouts=LAYOUTS):
    """corpora: [(name, dir)]. Returns the result dict (see summarize); prints progress to stderr."""
    for t in ("cp", "dcmodify", "xargs"):
        if not shutil.which(t):
            sys.exit(f"percore: {t} is required (make deps)")
    work = tempfile.mkdtemp(prefix="percore-work.")
    sc = Scratch(scratch_base, loop)
    pause = free_page_reporting_paused()
    memnote = pause.__enter__()
    try:
        key, cfg = os.path.join(work, "key"), os.path.join(work, "config.json")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key, 0o600)
        with open(cfg, "w") as f:
            f.write("{}")  # the Basic profile, as every peer is asked
        dcm = dcmodify_args()
        one = os.path.join(work, "one")
        os.makedirs(one)
        shutil.copy(os.path.join(os.environ.get("DV_SHARED_DATA", os.path.join(REPO, "..", "shared", "data")),
                                 "dicom", "pydicom", "CT_small.dcm"), one)

        def dv(src, dst):
            return [dv_bin, "deidentify", "-q", "--jobs", "1", "--config", cfg, "--key-file", key, src, dst]

        floor = os.path.join(work, "io_floor")
        if subprocess.run(["gcc", "-O2", "-o", floor, os.path.join(REPO, "bench", "io_floor.c")]).returncode:
            log("percore: warning: bench/io_floor.c did not build (gcc): no I/O floor rows")
            floor = None

        def copy_in(src, dst):  # untimed: SRC onto the fresh file system, flushed, its pages still cached
            subprocess.run(["cp", "-r", src, dst], check=True)
            subprocess.run(["sync", "-f", dst], check=False)
        info = {}
        for name, src in corpora:
            fs = files_of(src)
            info[name] = {"files": len(fs), "bytes": sum(os.path.getsize(f) for f in fs)}
            for f in fs:  # a warm page cache for the sources
                with open(f, "rb") as fh:
                    while fh.read(1 << 20):
                        pass
        tools = [t for t in TOOL_IDS if (t == "dcmodify" or (t.partition("@")[2] or "cross") in layouts)
                 and (floor or not t.startswith("floor"))]
        raw = {(n, t): [] for n, _ in corpora for t in tools}
        raw["startup"] = []
        rcs = {}
        loads = [loadavg()]
        for i in range(runs):
            with sc.fresh(0) as dst:
                raw["startup"].append(timed(dv(one, dst))[:2])
            for name, src in corpora:
                nb = info[name]["bytes"]
                for tool in tools:
                    base, _, layout = tool.partition("@")
                    with sc.fresh(2 * nb if layout == "same" or base == "dcmodify" else nb) as dst:
                        s = src
                        if layout == "same":  # the source on the same fresh file system
                            s = os.path.join(os.path.dirname(dst), "src")
                            copy_in(src, s)
                        warm = 2 * nb + (512 << 20)  # the outputs' page cache and the loop image's
                        if base == "cp":
                            c, w, rc = timed(["cp", "-r", s, dst], warm)
                        elif base == "dicomveil":
                            c, w, rc = timed(dv(s, dst), warm)
                        elif base.startswith("floor"):
                            c, w, rc = timed([floor, s, dst, "plain" if base == "floor_plain" else "atomic"], warm)
                        else:  # in place on a copy on the fresh file system, made and flushed untimed
                            copy_in(src, dst)
                            lst = os.path.join(work, "list")
                            with open(lst, "w") as f:
                                f.write("".join(x + "\n" for x in files_of(dst)))
                            c, w, rc = timed(["xargs", "-a", lst, "-d", "\n", "dcmodify"] + dcm, warm)
                        if base in ("cp", "dicomveil") and i == 0:
                            info[name][f"{tool}_outputs"] = len(files_of(dst)) if os.path.isdir(dst) else 0
                    raw[name, tool].append((c, w))
                    rcs[name, tool] = rcs.get((name, tool)) or rc
                log(f"percore: round {i + 1}/{runs} {name}: " + ", ".join(
                    f"{t} {raw[name, t][-1][0]:.3f} CPU-s / {raw[name, t][-1][1]:.3f} s" for t in tools)
                    + f" (load {loadavg()})")
            loads.append(loadavg())
        res = summarize(corpora, info, raw, rcs, runs, sc.method, loads)
        res["memory"] = memnote
        return res
    finally:
        pause.__exit__(None, None, None)
        sc.close()
        shutil.rmtree(work, ignore_errors=True)


def summarize(corpora, info, raw, rcs, runs, method, loads):
    """Medians, spreads and per-round ratios. dicomveil "net" = dicomveil minus the median start-up run (one
    round's start-up under load moves more than a short run: the median is the steadier estimate)."""
    su = raw["startup"]
    su_c, su_w = statistics.median(c for c, _ in su), statistics.median(w for _, w in su)
    out = {"method": method, "runs": runs, "loads": loads, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "startup": {"cpu": med_spread([c for c, _ in su]), "wall": med_spread([w for _, w in su])}, "corpora": {}}
    for name, _ in corpora:
        n = info[name]["files"]
        d = dict(info[name], tools={}, ratios={}, layouts=[])
        net_same = None
        tools = [t for t in TOOL_IDS if (name, t) in raw]
        for t in tools:
            xs = raw[name, t]
            d["tools"][t] = {"cpu": med_spread([c for c, _ in xs]), "wall": med_spread([w for _, w in xs]),
                             "rc": rcs[name, t]}
        for lay in LAYOUTS:
            at = "" if lay == "cross" else "@" + lay
            if (name, "dicomveil" + at) not in raw:
                continue
            d["layouts"].append(lay)
            dvx = raw[name, "dicomveil" + at]
            net = [(max(c - su_c, 1e-3), max(w - su_w, 1e-3)) for c, w in dvx]
            d["tools"]["dicomveil_net" + at] = {"cpu": med_spread([c for c, _ in net]),
                                                "wall": med_spread([w for _, w in net])}
            if lay == "same":
                net_same = net
            # ratio of rates = the tool's seconds / dicomveil's, per round (the same minute)
            for t in ("cp" + at, "dcmodify"):
                for k, j in (("cpu", 0), ("wall", 1)):
                    for label, series in (("net", net), ("whole", dvx)):
                        d["ratios"][f"{t.split('@')[0]}{at}_{k}_{label}"] = med_spread(
                            [raw[name, t][i][j] / max(series[i][j], 1e-3) for i in range(len(series))])
        if (name, "floor@same") in raw and (name, "cp@same") in raw:
            # per file, µs of CPU: what one file system leaves a tool that writes atomically (cp -r minus the
            # atomic floor, per round), and dicomveil's work above its own floor
            us = lambda xs: [1e6 * c / n for c, _ in xs]  # noqa: E731
            cp_us, fl_us = us(raw[name, "cp@same"]), us(raw[name, "floor@same"])
            dv_us = us(net_same) if net_same else []
            d["floor"] = {"cp_us": med_spread(cp_us), "atomic_us": med_spread(fl_us),
                          "left_us": med_spread([a - b for a, b in zip(cp_us, fl_us)])}
            if (name, "floor_plain@same") in raw:
                d["floor"]["plain_us"] = med_spread(us(raw[name, "floor_plain@same"]))
            if dv_us:
                d["floor"]["dicomveil_us"] = med_spread(dv_us)
                d["floor"]["work_us"] = med_spread([a - b for a, b in zip(dv_us, fl_us)])
        d["rates"] = {t: n / d["tools"][t]["cpu"]["median"] for t in d["tools"]}
        out["corpora"][name] = d
    return out


def fmt_r(r):
    return f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})"


TARGETS = (("dcmodify", 10, "per-core metadata rate >= 10x dcmodify (1 process)"),
           ("cp", 1, "per-core metadata rate >= cp -r (1 process)"))
LAYOUT_TEXT = {"cross": "source on /, output on a fresh ext4",
               "same": "source and output on one fresh ext4"}


def targets(res):
    """[(corpus, target text, goal, CPU ratio, wall ratio)] of the two per-core targets per layout, start-up
    excluded: medians of the per-round ratios with their spread (dicts of med_spread)."""
    out = []
    for name, d in res["corpora"].items():
        for lay in d.get("layouts", ["cross"]):
            at = "" if lay == "cross" else "@" + lay
            for t, goal, what in TARGETS:
                out.append((name, f"{what}; {LAYOUT_TEXT[lay]}", goal, d["ratios"][f"{t}{at}_cpu_net"],
                            d["ratios"][f"{t}{at}_wall_net"]))
    return out


def verdict(x, goal, yes="**MET**", no="**NOT MET**"):
    return yes if x["median"] >= goal else no


def targets_rows(res, label=lambda name: name):
    """Markdown rows `| corpus | target | measured | verdict |` (bench/peers_report.py's targets table)."""
    return [f"| {label(name)} | {what}; start-up excluded | CPU {fmt_r(c)}; wall {fmt_r(w)} | "
            f"CPU {verdict(c, goal)}, wall {verdict(w, goal)} |" for name, what, goal, c, w in targets(res)]


def floor_lines(res):
    """What one fresh file system leaves a tool that writes atomically: cp -r's CPU a file against the I/O floor
    (bench/io_floor.c), and dicomveil's work above that floor."""
    L = []
    f_us = lambda m: f"{m['median']:.1f} µs ({m['min']:.1f}-{m['max']:.1f})"  # noqa: E731
    for name, d in res["corpora"].items():
        f = d.get("floor")
        if not f:
            continue
        line = (f"- {name}, source and output on one fresh ext4, CPU a file: cp -r {f_us(f['cp_us'])}; dicomveil's "
                f"system calls alone, output named atomically (bench/io_floor.c) {f_us(f['atomic_us'])}")
        if "plain_us" in f:
            line += f", or {f_us(f['plain_us'])} created under its final name"
        line += (f". **Left for parsing, de-identifying and re-encoding an instance at cp's rate: "
                 f"{f_us(f['left_us'])}**")
        if "work_us" in f:
            line += (f"; dicomveil spends {f_us(f['work_us'])} above its floor "
                     f"({f_us(f['dicomveil_us'])} in all, start-up excluded)")
        L.append(line + ".")
    return [""] + L if L else []


def markdown(res):
    """The per-core section body: method line, targets rows, per-tool table."""
    su = res["startup"]
    method = ("a fresh ext4 (mkfs.ext4 defaults, journal) per run, loop-mounted under build/bench"
              if res["method"] == "fresh-ext4" else
              "**a fresh directory per run on build/bench's file system (loop mounts refused here: the file "
              "system's history still shows)**")
    L = [f"Method (bench/percore.py, {res['date']}): every run writes into {method}; the source on / (page cache "
         f"warm; copy_file_range cannot cross file systems, so both cp and dicomveil copy through user space) or "
         f"copied untimed onto the same fresh ext4 (cp copies in the kernel with copy_file_range, dicomveil "
         f"through its buffer); {res.get('memory', 'free page reporting not looked at')}, and before every timed "
         f"run twice the corpus plus 512 MiB of memory touched and freed (the first touch of lazily backed memory is "
         f"not billed to whichever tool comes next); "
         f"{res['runs']} interleaved rounds (start-up, then per corpus each tool); CPU = user + sys of the tool and "
         f"its children; median (min-max) of the per-round ratios. Load average at the start and after each "
         f"round: {' -> '.join(res['loads'])}. dicomveil start-up (one small file): {1000 * su['cpu']['median']:.0f} "
         f"ms CPU ({1000 * su['cpu']['min']:.0f}-{1000 * su['cpu']['max']:.0f}), {1000 * su['wall']['median']:.0f} "
         f"ms wall, subtracted (median) for \"start-up excluded\".", "",
         "| corpus | target | measured (median, spread) | verdict |", "|---|---|---|---|"]
    L += targets_rows(res)
    L += floor_lines(res)
    L += ["", "| corpus | tool | CPU seconds | wall seconds | instances per CPU second | rc |",
          "|---|---|---:|---:|---:|---:|"]
    names = {"cp": "cp -r", "dicomveil": "dicomveil --jobs 1, start-up included",
             "dicomveil_net": "dicomveil --jobs 1, start-up excluded", "dcmodify": "dcmodify, 1 process (Basic profile)",
             "floor": "dicomveil's system calls alone, output named atomically (bench/io_floor.c)",
             "floor_plain": "the same, output created under its final name (not atomic)"}
    for name, d in res["corpora"].items():
        for t in TOOL_IDS[:2] + ("dicomveil_net",) + TOOL_IDS[2:4] + ("dicomveil_net@same",) + TOOL_IDS[4:]:
            if t not in d["tools"]:
                continue
            x = d["tools"][t]
            base, _, lay = t.partition("@")
            sp = lambda m: f"{m['median']:.3f} ({m['min']:.3f}-{m['max']:.3f})"  # noqa: E731
            where = "" if base == "dcmodify" else f" ({LAYOUT_TEXT[lay or 'cross']})"
            L.append(f"| {name} ({d['files']} files, {d['bytes'] / 1e6:.1f} MB) | {names[base]}{where} | "
                     f"{sp(x['cpu'])} | {sp(x['wall'])} | {d['files'] / x['cpu']['median']:.0f} | {x.get('rc', '')} |")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", required=True, help="NAME=DIR (repeatable)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dv-bin", default=os.environ.get("DV_BIN", os.path.join(REPO, "build", "dicomveil")))
    ap.add_argument("--scratch", default=os.path.join(REPO, "build", "bench"))
    ap.add_argument("--no-loop", action="store_true", help="the fallback method (a fresh directory per run)")
    ap.add_argument("--layouts", default=",".join(LAYOUTS), help="cross,same (default both)")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    corpora = [tuple(c.split("=", 1)) for c in a.corpus]
    res = measure(corpora, a.runs, a.dv_bin, a.scratch, loop=not a.no_loop, layouts=a.layouts.split(","))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    md = markdown(res)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)
    sys.stdout.write(md)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""No core file copies the PHI a crashing dicomveil holds (src/cli/no_core.c; stop 53's red team: a SIGSEGV of
`serve` wrote a 91 MB core, of `deidentify` a 22 MB one, both naming the patient).

1. A running `serve` has a core size limit of 0, soft and hard (/proc/PID/limits), whatever its parent allowed;
   with DV_CORE_DUMPS=1 it keeps its parent's limit (the opt-out for debugging on data without PHI; under ASan,
   which sets the soft limit to 0 by itself, the hard one).
2. Run as user nobody, its /proc/PID files belong to root: the kernel does that for a process that is not
   dumpable (PR_SET_DUMPABLE 0: no core even where core_pattern pipes to a collector that ignores the limit, no
   ptrace by another process of that user); with DV_CORE_DUMPS=1 they are nobody's.
3. Where core_pattern writes a plain file and the build has no ASan (which turns core dumps off by itself): a
   SIGSEGV of `serve` leaves no core in its working directory; with DV_CORE_DUMPS=1 it leaves one (so this check
   can fail). Elsewhere this part says why it did not run.
4. MPI ranks that are not dumpable lose the ptrace rights Open MPI's single-copy mechanism (CMA) needs over each
   other when they are not root: `mpirun -np 2 ... deidentify --mpi` as nobody, with the eager limit at 1 KB and
   input paths of ~420 bytes so that batches go over it, prints no failed read ("Read -1 ... errno = 1", one a
   batch, before the MPI module turned CMA off) and writes what one process writes. Not under ASan (test_cli_mpi
   runs MPI there, with the suppressions Open MPI needs) nor without mpirun or the MPI module.
5. ("crash report" and "worker stack overflow") A crash report names the signal and the call stack: a SIGSEGV
   sent to serve's main thread; and a worker thread that overflows its stack (zlib's inflate, replaced through
   LD_PRELOAD by a recursion without end, on a deflated instance under `deidentify --jobs 1`) still prints it,
   from the thread's own alternate stack (src/util/thread_altstack.c; before stop 55 only the main thread had one
   and such a worker died by SIGSEGV without a word); so does a connection thread of `serve` (libmicrohttpd's,
   given its stack on its first request): jansson's json_loadb, replaced so that a body holding `dv-overflow`
   recurses without end, under a create-dataset request. Not under ASan, nor without a C compiler for the shims.
"""
import ctypes
import filecmp
import http.client
import json
import os
import pwd
import re
import shutil
import resource
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ["DV_BIN"]
SHARED = os.environ["DV_SHARED_DATA"]
fails = []
SYS_TGKILL = {"x86_64": 234, "aarch64": 131}.get(os.uname().machine)  # os has no tgkill


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


def sanitized():
    r = subprocess.run(["ldd", BIN], capture_output=True, text=True)
    return "libasan" in r.stdout


def start_serve(data, cwd, allow, as_nobody=False):
    """`serve` on an ephemeral loopback port; returns (Popen, pid of dicomveil itself) once it listens."""
    env = dict(os.environ)
    env.pop("DV_CORE_DUMPS", None)
    if allow:
        env["DV_CORE_DUMPS"] = "1"
    cmd = [BIN, "serve", "--data", data, "--listen", "127.0.0.1:0", "--workers", "1", "--min-free-disk", "1M"]
    if as_nobody:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + cmd

    def unlimited_core():  # the parent's limit the child starts with: as high as it goes
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))

    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         preexec_fn=unlimited_core)
    deadline = time.time() + 15
    said = []
    for line in p.stderr:
        if '"event":"listening"' in line:
            p.listening = json.loads(line)
            return p
        said.append(line)
        if time.time() > deadline:
            break
    p.kill()
    p.wait()
    raise RuntimeError("serve did not start: " + "".join(said))


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def core_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    return None


def same_tree(a, b):
    """The files of a and b (relative names and bytes) are the same."""
    def files(root):
        return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
    fa, fb = files(a), files(b)
    return fa == fb and all(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False) for f in fa)


# The two shims' recursion: 1 KiB a frame, without end, so the calling thread's stack overflows.
DOWN = r"""
static volatile int sink;
__attribute__((noinline)) static int down(int n)
{
    volatile char frame[1024];
    frame[n & 1023] = (char)n;
    return down(n + 1) + frame[(n * 7) & 1023] + sink;
}
"""
INFLATE_SHIM = DOWN + r"""
int inflate(void *strm, int flush) /* zlib's, declared here: no zlib headers needed to build the shim */
{
    (void)strm;
    (void)flush;
    return down(0);
}
"""
JSON_SHIM = "#define _GNU_SOURCE\n#include <dlfcn.h>\n#include <string.h>\n" + DOWN + r"""
typedef void *(*loadb_fn)(const char *, size_t, size_t, void *);
/* jansson's json_loadb: a body holding the mark overflows the calling thread's stack; any other goes on */
void *json_loadb(const char *buf, size_t len, size_t flags, void *error)
{
    if (memmem(buf, len, "dv-overflow", 11))
        sink = down(0);
    loadb_fn real = (loadb_fn)dlsym(RTLD_NEXT, "json_loadb");
    return real(buf, len, flags, error);
}
"""


def build_shim(d, part, source, asan):
    """The shim built in d (its path), or None where this part cannot run (said why)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if asan or not cc:
        print("test_no_core: %s part not run: %s" % (part, "ASan build" if asan else "no C compiler"))
        return None
    os.makedirs(d)
    with open(os.path.join(d, "shim.c"), "w") as f:
        f.write(source)
    shim = os.path.join(d, "shim.so")
    subprocess.run([cc, "-O0", "-shared", "-fPIC", "-o", shim, os.path.join(d, "shim.c"), "-ldl"], check=True)
    return shim


def check_overflow_report(what, rc, said):
    check(rc == -signal.SIGSEGV, "%s's stack overflow: exit %s, want death by SIGSEGV" % (what, rc))
    check("dicomveil: fatal signal SIGSEGV in dicomveil " in said,
          "%s's stack overflow said no crash report: %r" % (what, said[-400:]))
    check(re.search(r"^\S*shim\.so\(\+0x[0-9a-f]+\)\[0x[0-9a-f]+\]$", said, re.M) is not None,
          "%s's report does not show the overflowing frames: %r" % (what, said[:600]))


def worker_stack_overflow(tmp, asan):
    d = os.path.join(tmp, "overflow")
    shim = build_shim(d, "worker stack overflow", INFLATE_SHIM, asan)
    if shim is None:
        return
    os.makedirs(os.path.join(d, "src"))
    shutil.copy(os.path.join(SHARED, "dicom", "dicognito", "CT_small_deflated.dcm"), os.path.join(d, "src"))
    with open(os.path.join(d, "c.json"), "w") as f:
        f.write("{}")
    with open(os.path.join(d, "key"), "wb") as f:
        f.write(bytes(range(32)))
    os.chmod(os.path.join(d, "key"), 0o600)
    r = subprocess.run([BIN, "deidentify", "--jobs", "1", "--config", os.path.join(d, "c.json"), "--key-file",
                        os.path.join(d, "key"), os.path.join(d, "src"), os.path.join(d, "out")],
                       cwd=d, env=dict(os.environ, LD_PRELOAD=shim), capture_output=True, text=True, timeout=60)
    check_overflow_report("a worker", r.returncode, r.stderr)


def connection_stack_overflow(tmp, asan):
    d = os.path.join(tmp, "conn-overflow")
    shim = build_shim(d, "connection stack overflow", JSON_SHIM, asan)
    if shim is None:
        return
    os.environ["LD_PRELOAD"] = shim
    try:
        p = start_serve(os.path.join(d, "data"), d, False)
    finally:
        del os.environ["LD_PRELOAD"]
    port = p.listening.get("port")
    if not check(isinstance(port, int) and port > 0, "serve's listening line names no port: %r" % p.listening):
        p.kill()
        p.wait()
        return
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("POST", "/v1/projects/p/locations/l/datasets?datasetId=d1", b'{"labels": {"a": "dv-overflow"}}',
                     {"Content-Type": "application/json"})
        conn.getresponse()
    except (OSError, http.client.HTTPException):
        pass  # the server died mid-request, as it should
    said = p.stderr.read()
    check_overflow_report("a connection thread", p.wait(30), said)


def mpi_not_dumpable(tmp, asan):
    module = os.path.join(os.path.dirname(BIN), "lib", "dicomveil", "mpi.so")
    if asan or not shutil.which("mpirun") or not os.path.exists(module):
        print("test_no_core: MPI part not run: %s" % ("ASan build" if asan else "no mpirun or no MPI module"))
        return
    root = os.path.join(tmp, "mpi")
    long = "x" * 200
    src = os.path.join(root, "src")
    qa = os.path.join(SHARED, "dicom", "dcm_qa_ts")
    for k in range(12):
        d = os.path.join(src, "%02d%s" % (k, long), long)
        os.makedirs(d)
        for f in sorted(os.listdir(qa)):
            shutil.copy(os.path.join(qa, f), d)
    with open(os.path.join(root, "key"), "wb") as f:
        f.write(b"k" * 32)
    os.chmod(os.path.join(root, "key"), 0o600)
    with open(os.path.join(root, "cfg.json"), "w") as f:
        f.write("{}")
    nobody = pwd.getpwnam("nobody")
    for d, dirs, fs in os.walk(root):
        for n in [d] + [os.path.join(d, x) for x in fs]:
            os.chown(n, nobody.pw_uid, nobody.pw_gid)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMPI_")}
    env.pop("DV_CORE_DUMPS", None)
    env.update(HOME=root, OMPI_MCA_btl_vader_eager_limit="1024", OMPI_MCA_btl="self,vader", OMPI_MCA_plm="isolated",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_base_warn_component_unused="0")
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    args = ["deidentify", "-q", "--config", "cfg.json", "--key-file", "key", "src"]
    one = subprocess.run(as_nobody + [BIN] + args + ["one"], cwd=root, env=env, capture_output=True, text=True,
                         timeout=120)
    mpi = subprocess.run(as_nobody + ["mpirun", "-np", "2", BIN] + args[:1] + ["--mpi"] + args[1:] + ["mpi"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=300)
    check(one.returncode == 0, "one process as nobody: exit %d: %s" % (one.returncode, one.stderr[-300:]))
    check(mpi.returncode == 0, "mpirun as nobody: exit %d: %s" % (mpi.returncode, mpi.stderr[-300:]))
    check("Read -1" not in mpi.stderr, "mpirun as nobody: failed single-copy reads between ranks: %s"
          % mpi.stderr[:300])
    check(mpi.returncode == 0 and same_tree(os.path.join(root, "one"), os.path.join(root, "mpi")),
          "mpirun as nobody: DST differs from one process's")


def crash_report(tmp, asan):
    """5 ("crash report"): without a core, a crash still says where it happened: the signal, the version and the
    call stack as module(+offset) addresses on stderr (src/cli/crash_report.c), then death by that signal."""
    if asan:
        print("test_no_core: crash report part not run: ASan and UBSan print their own reports")
        return
    cwd = os.path.join(tmp, "report")
    os.mkdir(cwd)
    p = start_serve(os.path.join(cwd, "data"), cwd, False)
    # To the main thread (waiting in cmd_serve's sigwait), not to the process: the kernel may hand a process-wide
    # signal to any thread, and CI once saw it land in a thread at its very start (start_thread, no frame of ours
    # below it), a one-frame report that says nothing of the unwinding this part checks.
    if SYS_TGKILL is None:
        os.kill(p.pid, signal.SIGSEGV)
    else:
        libc = ctypes.CDLL(None, use_errno=True)
        check(libc.syscall(SYS_TGKILL, p.pid, p.pid, signal.SIGSEGV) == 0, "tgkill: errno %d" % ctypes.get_errno())
    said = p.stderr.read()
    rc = p.wait(30)
    check(rc == -signal.SIGSEGV, "a SIGSEGV of serve: exit %s, want death by SIGSEGV" % rc)
    check("dicomveil: fatal signal SIGSEGV in dicomveil " in said, "a SIGSEGV of serve said no crash report: %r"
          % said[-400:])
    frames = re.findall(r"^\S*dicomveil\S*\(\S*\+0x[0-9a-f]+\)\[0x[0-9a-f]+\]$", said, re.M)
    check(len(frames) >= 2, "the crash report holds %d frames of dicomveil's own code: %r" % (len(frames), said[-400:]))


def main():
    asan = sanitized()
    parent_hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    parent = "unlimited" if parent_hard == resource.RLIM_INFINITY else str(parent_hard)
    with tempfile.TemporaryDirectory() as tmp:
        for allow in (False, True):
            data = os.path.join(tmp, "data-%d" % allow)
            p = start_serve(data, tmp, allow)
            try:
                lim = core_limit(p.pid)
                if allow:  # the hard limit: ASan sets the soft one to 0 by itself
                    check(lim is not None and lim[1] == parent and (asan or lim[0] == parent),
                          "DV_CORE_DUMPS=1: core limit %s, want the parent's %s" % (lim, parent))
                else:
                    check(lim == ["0", "0"], "serve's core limit %s, want 0 soft and hard" % (lim,))
            finally:
                stop(p)

        # 2: dumpable, seen as user nobody (as root every /proc file is root's either way)
        nobody = pwd.getpwnam("nobody")
        os.chmod(tmp, 0o711)  # nobody passes through to its own folder
        for allow in (False, True):
            data = os.path.join(tmp, "nobody-%d" % allow)
            os.mkdir(data)
            os.chown(data, nobody.pw_uid, nobody.pw_gid)
            p = start_serve(data, data, allow, as_nobody=True)
            try:
                owner = os.stat("/proc/%d/environ" % p.pid).st_uid
                if allow:
                    check(owner == nobody.pw_uid, "DV_CORE_DUMPS=1: /proc/PID owned by uid %d, want nobody's" % owner)
                else:
                    check(owner == 0, "serve as nobody is dumpable: /proc/PID owned by uid %d, want root" % owner)
            finally:
                stop(p)

        # 3: a crash
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        if pattern.startswith("|") or "/" in pattern:
            print("test_no_core: crash part not run: core_pattern %r is not a file in the working directory" % pattern)
        elif asan:
            print("test_no_core: crash part not run: ASan turns core dumps off by itself")
        else:
            for allow in (False, True):
                cwd = os.path.join(tmp, "crash-%d" % allow)
                os.mkdir(cwd)
                p = start_serve(os.path.join(cwd, "data"), cwd, allow)
                os.kill(p.pid, signal.SIGSEGV)
                p.wait(30)
                cores = [n for n in os.listdir(cwd) if n.startswith(pattern.split("%")[0] or "core")]
                if allow:
                    check(cores != [], "DV_CORE_DUMPS=1: a SIGSEGV left no core (pattern %r): this check cannot fail"
                          % pattern)
                else:
                    check(cores == [], "a SIGSEGV of serve left a core file: %s" % cores)
        crash_report(tmp, asan)
        worker_stack_overflow(tmp, asan)
        connection_stack_overflow(tmp, asan)
        mpi_not_dumpable(tmp, asan)
    if fails:
        print("test_no_core: %d failure(s)" % len(fails), file=sys.stderr)
        return 1
    print("test_no_core: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

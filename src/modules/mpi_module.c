/* mpi.so: the MPI calls of `deidentify --mpi` as an internal module (src/modules/dv_module.h), so that only
 * --mpi maps Open MPI (libmpi, libopen-pal, hwloc, libevent, PMIx...). The message loop, chunk dealing and
 * report stay in src/cli/mpi_run.c, which calls MPI only through this table; this is the only file of dicomveil
 * that includes mpi.h. [test_cli_mpi.sh "mpi"] */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "dicomveil/dicomveil.h"
#include "modules/dv_module.h"

/* MPI's handles travel in dv_mpi_handle's opaque slots (memcpy: their types differ between MPI libraries). */
_Static_assert(sizeof(MPI_Request) <= sizeof(dv_mpi_handle), "MPI_Request does not fit a dv_mpi_handle");
_Static_assert(sizeof(MPI_Message) <= sizeof(dv_mpi_handle), "MPI_Message does not fit a dv_mpi_handle");

/* Open MPI settings the product relies on, set before MPI_Init unless the user set them (docs/SCALING.md "Open
 * MPI settings"): batches between ranks are a few KB to ~30 KB, and one over the shared-memory eager limit (4 KB by
 * default) arrives in fragments that need both ranks' progress, i.e. several turns of the main threads; 32 KB
 * lets nearly every batch arrive whole (bench/MPI.md). Blocking calls (MPI_Allreduce at start-up while rank 0
 * lists for --resume, MPI_Gather and MPI_Finalize at the end) busy-poll; yield_when_idle lets a waiting rank give
 * its core to the workers of another. Both the vader (Open MPI 4) and sm (Open MPI 5) names; an unknown one is
 * ignored. */
static void mca_defaults(void)
{
    setenv("OMPI_MCA_btl_vader_eager_limit", "32768", 0);
    setenv("OMPI_MCA_btl_sm_eager_limit", "32768", 0);
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    /* No single-copy kernel mechanism: CMA (process_vm_readv of the peer rank) needs ptrace rights over it, and
     * every rank makes itself not dumpable (src/cli/no_core.c: no core holds PHI), which takes them away from a
     * rank that is not root. A batch over the eager limit then failed its read ("Read -1, expected N, errno =
     * 1" on stderr, one line a batch) before Open MPI fell back. The batches are small: copied through the
     * shared segment, they cost nothing measurable (test_no_core.py). */
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    setenv("OMPI_MCA_btl_sm_single_copy_mechanism", "none", 0);
}

/* Open MPI applies yield_when_idle to every call that finds nothing to do, so each empty MPI_Improbe or MPI_Test
 * of the run's non-blocking loop was a sched_yield: a system call per turn or more, on a VM where system calls
 * are most of a main thread's CPU (bench/RESULTS.md "MPI coordinator, third pass": 531 on rank 0 and 1431 on
 * rank 1 in 20 000 small files). So it is on only around the blocking calls. Open MPI's own switch, looked up
 * without linking to it (an MPI without it keeps the MCA setting for the whole run). */
static void yield_when_idle(bool on)
{
#ifdef OPEN_MPI
    const char *env = getenv("OMPI_MCA_mpi_yield_when_idle");
    if (!env || strcmp(env, "1") != 0)
        return; /* the user's own setting (mca_defaults leaves it alone): kept for the whole run */
    /* looked up at each of the run's ~6 switches (no state kept): NOLOAD, libmpi has it mapped */
    void *pal = dlopen("libopen-pal.so.40", RTLD_LAZY | RTLD_NOLOAD); /* Open MPI 4; 5 names it .so.80 */
    if (!pal)
        pal = dlopen("libopen-pal.so.80", RTLD_LAZY | RTLD_NOLOAD);
    void *f = pal ? dlsym(pal, "opal_progress_set_yield_when_idle") : NULL;
    if (f) {
        bool (*set)(bool);
        memcpy(&set, &f, sizeof set);
        set(on);
    }
    if (pal)
        dlclose(pal);
#else
    (void)on;
#endif
}

static int init(int *rank, int *size)
{
    mca_defaults();
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return DV_MPI_INIT_FAILED;
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        return DV_MPI_INIT_NO_FUNNELED;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    yield_when_idle(false); /* on only for the blocking calls below */
    return DV_MPI_INIT_OK;
}

static void finalize(void)
{
    yield_when_idle(true);
    MPI_Finalize();
}

static void abort_job(int code)
{
    MPI_Abort(MPI_COMM_WORLD, code);
}

static int rank(void)
{
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

static int size(void)
{
    int s = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

static int node_size(void)
{
    MPI_Comm node;
    int n = 1;
    yield_when_idle(true);
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        if (MPI_Comm_size(node, &n) != MPI_SUCCESS || n < 1)
            n = 1;
        MPI_Comm_free(&node);
    }
    yield_when_idle(false);
    return n;
}

static int allreduce_min(int v)
{
    int all = 0;
    yield_when_idle(true);
    MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    yield_when_idle(false);
    return all;
}

static void gather_doubles(const double *mine, int n, double *all)
{
    yield_when_idle(true);
    MPI_Gather(mine, n, MPI_DOUBLE, all, n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    yield_when_idle(false);
}

static int isend(const void *buf, int len, int to, int tag, dv_mpi_handle *req)
{
    MPI_Request r;
    if (MPI_Isend(buf, len, MPI_BYTE, to, tag, MPI_COMM_WORLD, &r) != MPI_SUCCESS)
        return -1;
    memcpy(req->opaque, &r, sizeof r);
    return 0;
}

static int test(dv_mpi_handle *req)
{
    MPI_Request r;
    memcpy(&r, req->opaque, sizeof r);
    int flag = 0;
    MPI_Test(&r, &flag, MPI_STATUS_IGNORE);
    memcpy(req->opaque, &r, sizeof r); /* MPI_Test sets a completed request to MPI_REQUEST_NULL */
    return flag;
}

static int improbe(int src, int tag, int *from, int *len, dv_mpi_handle *msg)
{
    int flag = 0;
    MPI_Message m;
    MPI_Status st;
    MPI_Improbe(src == DV_MPI_ANY_SOURCE ? MPI_ANY_SOURCE : src, tag, MPI_COMM_WORLD, &flag, &m, &st);
    if (!flag)
        return 0;
    MPI_Get_count(&st, MPI_BYTE, len);
    *from = st.MPI_SOURCE;
    memcpy(msg->opaque, &m, sizeof m);
    return 1;
}

static void imrecv(void *buf, int len, dv_mpi_handle *msg, dv_mpi_handle *req)
{
    MPI_Message m;
    MPI_Request r;
    memcpy(&m, msg->opaque, sizeof m);
    MPI_Imrecv(buf, len, MPI_BYTE, &m, &r);
    memcpy(req->opaque, &r, sizeof r);
}

static const dv_mpi_module table = {
    .head = {.abi = DV_MODULE_ABI, .version = DICOMVEIL_VERSION, .table_size = sizeof(dv_mpi_module)},
    .init = init,
    .finalize = finalize,
    .abort = abort_job,
    .rank = rank,
    .size = size,
    .allreduce_min = allreduce_min,
    .gather_doubles = gather_doubles,
    .isend = isend,
    .test = test,
    .improbe = improbe,
    .imrecv = imrecv,
    .node_size = node_size,
};

__attribute__((visibility("default"))) const dv_mpi_module *dv_module_mpi(void)
{
    return &table;
}

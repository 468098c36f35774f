/* dicomveil's internal modules (docs/decisions.md "Heavy libraries loaded on demand"): shared objects installed
 * next to the binary (<bin>/../lib/dicomveil/, the build tree's lib/dicomveil/) that hold the code needing the
 * heavy libraries only `serve` and `deidentify --mpi` use, so that no other command maps them at start-up.
 * The binary loads one with dvc_module_load (src/cli/module.c) and calls it only through the table its single
 * exported entry point returns; a module calls nothing of the binary (it is linked -Wl,--no-undefined), so the
 * binary exports nothing.
 *
 *   server.so  src/modules/server_module.c: the HTTP service (src/http, src/store, src/jobs and its own copy of
 *              the engine library) with libmicrohttpd (GnuTLS), SQLite and libpq. Entry dv_module_server.
 *   mpi.so     src/modules/mpi_module.c: the MPI calls of deidentify --mpi (the message loop itself stays in
 *              src/cli/mpi_run.c), with Open MPI; loaded RTLD_GLOBAL (Open MPI's components resolve its symbols
 *              from the global scope). Entry dv_module_mpi. Built only when CMake found MPI.
 *
 * A table starts with the module ABI and the version it was built from; the loader refuses a module of another
 * build (a stale file from an older package), since the tables and the structs they pass carry no ABI promise
 * of their own. Bump DV_MODULE_ABI when a table or a struct passed through one changes. */
#ifndef DV_MODULE_H
#define DV_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"
#include "http/dv_server.h"

#define DV_MODULE_ABI 2

/* Every table starts with this. */
typedef struct dv_module_head {
    int abi;             /* DV_MODULE_ABI of the module's build */
    const char *version; /* DICOMVEIL_VERSION of the module's build */
    size_t table_size;   /* sizeof the module's table */
} dv_module_head;

/* server.so: dvh_server_start/port/stop (src/http/dv_server.h), and the run-time versions of its libraries
 * (--version). */
typedef struct dv_server_module {
    dv_module_head head;
    size_t config_size; /* sizeof(dvh_server_config) */
    dvh_server *(*start)(const dvh_server_config *cfg, dv_error *err);
    unsigned (*port)(const dvh_server *s);
    void (*stop)(dvh_server *s);
    const char *(*mhd_version)(void);
    const char *(*sqlite_version)(void);
    int (*pq_version)(void); /* PQlibVersion: major * 10000 + minor */
} dv_server_module;
const dv_server_module *dv_module_server(void);

/* mpi.so: the MPI operations src/cli/mpi_run.c uses, without MPI's types (its handles are kept in these
 * opaque slots, large enough for Open MPI's and MPICH's). Communicator: MPI_COMM_WORLD; messages are bytes. */
typedef struct dv_mpi_handle {
    uint64_t opaque[2];
} dv_mpi_handle;
#define DV_MPI_ANY_SOURCE (-1)
enum { DV_MPI_INIT_OK = 0, DV_MPI_INIT_FAILED, DV_MPI_INIT_NO_FUNNELED };
typedef struct dv_mpi_module {
    dv_module_head head;
    /* MPI_Init_thread(MPI_THREAD_FUNNELED) and the rank and size in MPI_COMM_WORLD: DV_MPI_INIT_OK, or _FAILED,
     * or _NO_FUNNELED (MPI was finalized again). */
    int (*init)(int *rank, int *size);
    void (*finalize)(void);
    void (*abort)(int code);
    int (*rank)(void);
    int (*size)(void);
    /* MPI_Allreduce of one int with MPI_MIN. */
    int (*allreduce_min)(int v);
    /* MPI_Gather of n doubles to rank 0 (all: n * size doubles on rank 0, ignored elsewhere). */
    void (*gather_doubles)(const double *mine, int n, double *all);
    /* MPI_Isend of len bytes (buf stays the caller's until test says complete). 0, or -1. */
    int (*isend)(const void *buf, int len, int to, int tag, dv_mpi_handle *req);
    /* MPI_Test: 1 when the request is complete. */
    int (*test)(dv_mpi_handle *req);
    /* MPI_Improbe from src (or DV_MPI_ANY_SOURCE) with tag: 1 with *from, *len (bytes) and *msg when a message
     * is waiting, else 0. */
    int (*improbe)(int src, int tag, int *from, int *len, dv_mpi_handle *msg);
    /* MPI_Imrecv of a probed message into buf (len bytes). */
    void (*imrecv)(void *buf, int len, dv_mpi_handle *msg, dv_mpi_handle *req);
    /* The ranks on this rank's node (MPI_Comm_split_type MPI_COMM_TYPE_SHARED): they share its memory. Collective:
     * every rank calls it. 1 when MPI cannot say. */
    int (*node_size)(void);
} dv_mpi_module;
const dv_mpi_module *dv_module_mpi(void);

#endif

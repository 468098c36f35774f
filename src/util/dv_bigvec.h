/* Arrays that grow with a run's number of inputs (deidentify --mpi rank 0's records of every input, its table of
 * output names and their bytes): dv_grow's contract (dv_grow.h: capacities double from first, -1 with ENOMEM
 * leaves the array as it was), but each array is its own anonymous mapping, 2 MiB aligned, with transparent huge
 * pages asked for (MADV_HUGEPAGE; nothing changes where the kernel has them off), moved by mremap when it grows
 * instead of copied.
 *
 * Why: such an array is written front to back, and every 4 KiB page of it costs one page fault on first touch.
 * On the paravirtualised VMs bench/MPI.md runs on a fault costs ~11 us (bench/RESULTS.md "MPI coordinator, fifth
 * pass"), and 50,000 inputs took rank 0's coordinator ~3,800 of them: most of its CPU. A 2 MiB page is one fault
 * for 512. The price is up to 2 MiB of memory per array beyond what it holds. Free with dv_big_free, never free().
 * [test_bigvec] */
#ifndef DV_BIGVEC_H
#define DV_BIGVEC_H

#include <stddef.h>

/* As dv_grow (dv_grow.h); *arrayp is NULL or an array of this module. New elements read as zero bytes. */
int dv_big_grow(void *arrayp, size_t *cap, size_t need, size_t elem, size_t first);

/* Unmap an array of this module (NULL: nothing), given the capacity and element size it was grown with. */
void dv_big_free(void *array, size_t cap, size_t elem);

/* Strings kept for a whole run (rank 0's input paths), packed one after another into 2 MiB blocks of the same
 * kind, which never move: a copy's address stays valid until dv_big_pool_free. Zero-initialise. */
typedef struct dv_big_pool {
    struct dv_big_block {
        char *bytes;
        size_t size; /* its capacity */
    } *blocks;
    size_t nblocks, capblocks, used; /* used: bytes taken in the last block */
} dv_big_pool;

/* A NUL-terminated copy of s in the pool; NULL with errno ENOMEM. */
char *dv_big_pool_dup(dv_big_pool *p, const char *s);

/* Unmap every block (the pool is empty and reusable after). */
void dv_big_pool_free(dv_big_pool *p);

#endif

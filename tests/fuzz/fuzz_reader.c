/* libFuzzer target: the DICOM reader and writer.
 *
 * For every input: parse it from memory with small limits; if it parsed, visit every element (touching every
 * inline value byte, so a view pointing outside its buffer is caught by ASan), write it to a capped memory
 * sink, re-read what was written, visit that, and write it again.
 *
 * Besides memory errors, undefined behaviour and leaks, two invariants of the writer are checked (abort, so
 * libFuzzer keeps the input as a crash):
 *   1. what dv_instance_write produced reads back (unless a resource limit stops the re-read), and
 *   2. writing is idempotent: write(read(write(x))) == write(x), byte for byte.
 * Set DV_FUZZ_NO_INVARIANTS=1 in the environment to check memory safety only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dv_error.h"
#include "dicomveil/dv_frames.h"
#include "dicomveil/dv_instance.h"
#include "dicomveil/dv_io.h"

#define FUZZ_SINK_CAP (8u << 20) /* the writer's output is capped at 8 MiB */

static int g_check_invariants = -1;

static void fuzz_fail(const char *what, const dv_error *err)
{
    fprintf(stderr, "fuzz_reader: invariant violated: %s (%s: %s)\n", what,
            err ? dv_code_name(err->code) : "-", err ? err->message : "-");
    abort();
}

static void check_error(const dv_error *err)
{
    /* The message must be a NUL-terminated string inside its buffer. */
    if (memchr(err->message, '\0', sizeof err->message) == NULL)
        fuzz_fail("dv_error.message is not NUL-terminated", NULL);
}

static int visit_cb(const dv_element_view *e, void *user)
{
    uint64_t *acc = user;
    *acc += e->tag ^ e->depth ^ (uint64_t)(unsigned char)e->vr[0];
    if (e->value != NULL && e->length != 0xFFFFFFFFu) {
        const volatile uint8_t *v = e->value;
        for (uint64_t i = 0; i < e->length; i++)
            *acc += v[i];
    }
    return 0;
}

/* Stop after a few elements: exercises the early-exit path of the visitor. */
static int visit_stop_cb(const dv_element_view *e, void *user)
{
    unsigned *n = user;
    (void)e;
    return ++*n >= 3;
}

static void poke_getters(const dv_instance *inst)
{
    static const uint32_t tags[] = {0x00020010u, 0x00020003u, 0x00080016u, 0x00080018u, 0x00080005u,
                                    0x00100010u, 0x0020000Du, 0x7FE00010u};
    char buf[96];
    const char *ts = dv_instance_transfer_syntax(inst);
    if (ts == NULL)
        fuzz_fail("dv_instance_transfer_syntax returned NULL", NULL);
    (void)strlen(ts);
    (void)dv_instance_is_directory(inst);
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        int n = dv_instance_get_string(inst, tags[i], buf, sizeof buf);
        if (n >= (int)sizeof buf)
            fuzz_fail("dv_instance_get_string returned more than the buffer holds", NULL);
        if (n >= 0 && strlen(buf) > (size_t)n)
            fuzz_fail("dv_instance_get_string length disagrees with the string", NULL);
    }
    char tiny[1];
    (void)dv_instance_get_string(inst, 0x00080018u, tiny, sizeof tiny);
}

/* The frame index over hostile pixel data: when it builds, every frame it promises reads (the source is memory,
 * so a read can only fail if the index points outside the element). Bounded: 64 frames of at most 1 MiB. */
static void poke_frames(const dv_instance *inst)
{
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_frames *f = dv_frames_index(inst, &err);
    check_error(&err);
    if (!f)
        return;
    uint32_t n = dv_frames_count(f);
    for (uint32_t i = 0; i < n && i < 64; i++) {
        uint64_t size = dv_frames_size(f, i);
        if (size > (1u << 20))
            continue;
        uint8_t *buf = malloc(size ? (size_t)size : 1);
        if (buf && dv_frames_read(inst, f, i, buf, size, &err) != 0 && g_check_invariants &&
            err.code != DV_ERR_NOMEM)
            fuzz_fail("an indexed frame cannot be read", &err);
        free(buf);
    }
    dv_frames_free(f);
}

static int write_instance(const dv_instance *inst, dv_mem_sink *ms, dv_error *err)
{
    memset(ms, 0, sizeof *ms);
    ms->max_len = FUZZ_SINK_CAP;
    dv_sink sink = dv_sink_memory(ms);
    int rc = dv_instance_write(inst, &sink, err);
    check_error(err);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_check_invariants < 0) {
        const char *e = getenv("DV_FUZZ_NO_INVARIANTS");
        g_check_invariants = !(e != NULL && e[0] == '1');
    }

    dv_limits lim;
    dv_limits_default(&lim);
    lim.max_depth = 16;
    lim.max_metadata_bytes = 1u << 20;
    lim.max_inflated_bytes = 4u << 20;
    lim.inline_threshold = 1024; /* small, so bulk (streamed) values are exercised on small inputs */

    dv_error err;
    memset(&err, 0, sizeof err);
    dv_mem_source msrc;
    dv_source src = dv_source_memory(&msrc, data, size);
    dv_instance *inst = dv_instance_read(&src, &lim, &err);
    check_error(&err);
    if (inst == NULL)
        return 0;

    uint64_t acc = 0;
    unsigned stop_count = 0;
    (void)dv_instance_visit(inst, visit_cb, &acc);
    (void)dv_instance_visit(inst, visit_stop_cb, &stop_count);
    poke_getters(inst);
    poke_frames(inst);

    dv_mem_sink out1;
    if (write_instance(inst, &out1, &err) == 0) {
        dv_mem_source msrc2;
        dv_source src2 = dv_source_memory(&msrc2, out1.data, out1.len);
        dv_error err2;
        memset(&err2, 0, sizeof err2);
        dv_instance *again = dv_instance_read(&src2, &lim, &err2);
        check_error(&err2);
        if (again == NULL) {
            if (g_check_invariants && err2.code != DV_ERR_LIMIT && err2.code != DV_ERR_NOMEM)
                fuzz_fail("the writer's output does not read back", &err2);
        } else {
            (void)dv_instance_visit(again, visit_cb, &acc);
            poke_getters(again);
            dv_mem_sink out2;
            if (write_instance(again, &out2, &err2) == 0) {
                if (g_check_invariants && (out2.len != out1.len || memcmp(out1.data, out2.data, out1.len) != 0))
                    fuzz_fail("writing is not idempotent: write(read(write(x))) != write(x)", NULL);
            } else if (g_check_invariants && err2.code != DV_ERR_LIMIT && err2.code != DV_ERR_NOMEM &&
                       err2.code != DV_ERR_IO) {
                fuzz_fail("the writer's re-read output cannot be written again", &err2);
            }
            dv_mem_sink_free(&out2);
            dv_instance_free(again);
        }
    }
    dv_mem_sink_free(&out1);
    dv_instance_free(inst);
    return 0;
}

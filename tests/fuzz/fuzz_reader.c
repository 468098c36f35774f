/* libFuzzer target: the DICOM reader and writer.
 *
 * For every input: parse it from memory with small limits; if it parsed, visit every element (touching every
 * inline value byte, so a view pointing outside its buffer is caught by ASan) and poke the getters, write it to
 * a capped memory sink, re-read what was written, visit that, and write it again.
 *
 * Besides memory errors, undefined behaviour and leaks, the reader/writer promises of
 * tests/support/dv_invariants.h (dvi_check_round_trip) are checked (abort, so libFuzzer keeps the input):
 *   1. every refusal has an expected class and a non-empty message;
 *   2. what dv_instance_write produced reads back (unless a resource limit stops the re-read), and
 *   3. writing is idempotent: write(read(write(x))) == write(x), byte for byte.
 * The unit test tests/unit/test_fuzz_regressions.c replays tests/fuzz/regressions/reader/ through the same
 * check. Every frame the frame index (dv_frames.h) promises must read. Set DV_FUZZ_NO_INVARIANTS=1 in the environment to check memory safety only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dv_invariants.h"

static int g_check_invariants = -1;

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_reader: invariant violated: %s\n", what);
    abort();
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
        fuzz_fail("dv_instance_transfer_syntax returned NULL");
    (void)strlen(ts);
    (void)dv_instance_is_directory(inst);
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        int n = dv_instance_get_string(inst, tags[i], buf, sizeof buf);
        if (n >= (int)sizeof buf)
            fuzz_fail("dv_instance_get_string returned more than the buffer holds");
        if (n >= 0 && strlen(buf) > (size_t)n)
            fuzz_fail("dv_instance_get_string length disagrees with the string");
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
            fuzz_fail("an indexed frame cannot be read");
        free(buf);
    }
    dv_frames_free(f);
}

/* Every parsed instance (the input and the re-read output): visit it twice and poke the getters. */
static void inspect(const dv_instance *inst, void *user)
{
    (void)user;
    uint64_t acc = 0;
    unsigned stop_count = 0;
    (void)dv_instance_visit(inst, visit_cb, &acc);
    (void)dv_instance_visit(inst, visit_stop_cb, &stop_count);
    poke_getters(inst);
    poke_frames(inst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_check_invariants < 0) {
        const char *e = getenv("DV_FUZZ_NO_INVARIANTS");
        g_check_invariants = !(e != NULL && e[0] == '1');
    }
    dv_limits lim;
    dvi_fuzz_limits(&lim);
    dvi_outcome o;
    if (dvi_check_round_trip(data, size, &lim, DVI_FUZZ_SINK_CAP, inspect, NULL, &o) != 0 && g_check_invariants) {
        fprintf(stderr, "fuzz_reader: invariant violated (%s): %s\n", dvi_stage_name(o.stage), o.violation);
        abort();
    }
    return 0;
}

/* The run object and the one orchestration path (issue 5 items 1, 2, 7, 12): dv_run_instance with an output
 * opened once the new UIDs are known; two runs at once in one process with separate counters and outputs; the
 * run-wide memory budget (waits, never fails, never deadlocks); size-versioned dv_limits / dv_result. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dicomveil/dicomveil.h"
#include "dv_build.h"
#include "engine/dv_pixel_stage.h" /* dv_run_pixel_decode_calls */

#define STUDY "1.2.826.0.1.3680043.2.1125.50.1"
#define SERIES "1.2.826.0.1.3680043.2.1125.50.2"

static uint8_t *make_instance(const char *sop, const char *patient_id, size_t *len)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", sop);
    dvb_str(b, 0x00100010, "PN", "Doe^Jane");
    dvb_str(b, 0x00100020, "LO", patient_id);
    dvb_str(b, 0x0020000D, "UI", STUDY);
    dvb_str(b, 0x0020000E, "UI", SERIES);
    return dvb_finish(b, len);
}

static dv_plan *plan(const char *json)
{
    dv_error err;
    dv_plan *p = dv_plan_from_json(json, strlen(json), &err);
    assert_non_null(p);
    return p;
}

static dv_key *key(uint8_t fill)
{
    uint8_t k[32];
    memset(k, fill, sizeof k);
    dv_error err;
    dv_key *key = dv_key_new(k, sizeof k, &err);
    assert_non_null(key);
    return key;
}

/* ---- a memory output: one slot per distinct new SOPInstanceUID, duplicates refused ---- */

#define MEMOUT_MAX 128
typedef struct memout {
    pthread_mutex_t lock;
    size_t n;
    char sop[MEMOUT_MAX][DV_UID_MAX + 1];
    dv_mem_sink data[MEMOUT_MAX];
    int again_once; /* commit asks to write again once (then counts the extra open) */
    int opens;
    dv_pixel_budget *watch;   /* when set, its bytes in use when the last output was opened: */
    uint64_t pixel_at_open;   /* what the instance still holds while it is written */
} memout;

typedef struct memput {
    memout *o;
    dv_mem_sink ms;
} memput;

static int mem_has(memout *o, const char *sop)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->sop[i], sop) == 0)
            return 1;
    return 0;
}

static int mem_open(void *arg, const dv_result *res, dv_sink *sink, dv_error *err)
{
    (void)err;
    memput *p = arg;
    pthread_mutex_lock(&p->o->lock);
    int dup = mem_has(p->o, res->sop_uid);
    p->o->opens++;
    if (p->o->watch)
        p->o->pixel_at_open = dv_pixel_budget_in_use(p->o->watch);
    pthread_mutex_unlock(&p->o->lock);
    if (dup)
        return DV_OPEN_DUPLICATE;
    memset(&p->ms, 0, sizeof p->ms);
    *sink = dv_sink_memory(&p->ms);
    return DV_OPEN_WRITE;
}

static int mem_commit(void *arg, const dv_result *res, dv_error *err)
{
    memput *p = arg;
    pthread_mutex_lock(&p->o->lock);
    int rc = DV_COMMIT_WRITTEN;
    if (p->o->again_once) {
        p->o->again_once = 0;
        dv_mem_sink_free(&p->ms);
        rc = DV_COMMIT_AGAIN;
    } else if (mem_has(p->o, res->sop_uid)) {
        dv_mem_sink_free(&p->ms);
        rc = DV_COMMIT_DUPLICATE;
    } else if (p->o->n == MEMOUT_MAX) {
        dv_mem_sink_free(&p->ms);
        rc = dv_fail(err, DV_ERR_IO, "memout full");
    } else {
        snprintf(p->o->sop[p->o->n], DV_UID_MAX + 1, "%s", res->sop_uid);
        p->o->data[p->o->n++] = p->ms;
    }
    pthread_mutex_unlock(&p->o->lock);
    return rc;
}

static void mem_abort(void *arg)
{
    dv_mem_sink_free(&((memput *)arg)->ms);
}

static const dv_output MEM_OUTPUT = {mem_open, mem_commit, mem_abort};

static void memout_init(memout *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
}

static void memout_free(memout *o)
{
    for (size_t i = 0; i < o->n; i++)
        dv_mem_sink_free(&o->data[i]);
    pthread_mutex_destroy(&o->lock);
}

/* ---- inputs of one run ---- */

typedef struct input {
    uint8_t *data;
    size_t len;
    int owned;
} input;

typedef struct job {
    dv_run *run;
    memout *out;
    input *in;
    size_t n;
    size_t next; /* under lock */
    pthread_mutex_t lock;
    size_t progress_calls; /* under lock */
} job;

static void on_progress(const dv_run *run, dv_outcome o, void *user)
{
    (void)run;
    (void)o;
    job *j = user;
    pthread_mutex_lock(&j->lock);
    j->progress_calls++;
    pthread_mutex_unlock(&j->lock);
}

static void *job_worker(void *arg)
{
    job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->n)
            break;
        dv_mem_source ms;
        dv_source src = dv_source_memory(&ms, j->in[i].data, j->in[i].len);
        memput put = {.o = j->out};
        dv_error err;
        (void)dv_run_instance(j->run, &src, &MEM_OUTPUT, &put, NULL, &err);
    }
    return NULL;
}

/* n unique instances, dups copies of the first ones, notdicom text files, truncated broken ones. */
static input *make_inputs(const char *prefix, size_t uniq, size_t dups, size_t notdicom, size_t truncated,
                          size_t *n)
{
    *n = uniq + dups + notdicom + truncated;
    input *in = calloc(*n, sizeof *in);
    assert_non_null(in);
    size_t k = 0;
    char sop[80];
    for (size_t i = 0; i < uniq; i++, k++) {
        snprintf(sop, sizeof sop, "%s.%zu", prefix, i + 1);
        in[k].data = make_instance(sop, "PID-12345", &in[k].len);
        in[k].owned = 1;
    }
    for (size_t i = 0; i < dups; i++, k++)
        in[k] = (input){in[i].data, in[i].len, 0};
    static const char text[] = "clinic notes, not DICOM at all, long enough to be sniffed";
    for (size_t i = 0; i < notdicom; i++, k++)
        in[k] = (input){(uint8_t *)(uintptr_t)text, sizeof text - 1, 0};
    for (size_t i = 0; i < truncated; i++, k++)
        in[k] = (input){in[i].data, in[i].len - 7, 0}; /* cut inside the last element's value */
    return in;
}

static void free_inputs(input *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (in[i].owned)
            free(in[i].data);
    free(in);
}

/* The acceptance test of issue 5 item 2: two de-identification runs in one process at the same time (two
 * threads each), different configs and keys, one shared memory budget small enough that workers wait; each
 * run's counters and outputs are its own. */
static void test_two_runs_at_once(void **state)
{
    (void)state;
    dv_error err;
    dv_limits lim;
    dv_limits_default(&lim);
    /* Room for three slices and one large grant: workers of both runs wait for each other. */
    dv_budget *budget = dv_budget_new(dv_limits_memory_max(&lim) + 3 * DV_BUDGET_SLICE,
                                      dv_limits_memory_max(&lim), &err);
    assert_non_null(budget);
    lim.budget = budget;

    dv_plan *pa = plan("{}"), *pb = plan("{\"dicomTagConfig\":{\"profileType\":\"KEEP_ALL_PROFILE\"}}");
    dv_key *ka = key(0xA1), *kb = key(0xB2);
    dv_run *ra = dv_run_new(pa, ka, &lim, &err), *rb = dv_run_new(pb, kb, &lim, &err);
    assert_non_null(ra);
    assert_non_null(rb);
    memout oa, ob;
    memout_init(&oa);
    memout_init(&ob);
    job ja = {.run = ra, .out = &oa}, jb = {.run = rb, .out = &ob};
    ja.in = make_inputs("1.2.826.0.1.3680043.2.1125.51", 30, 5, 3, 2, &ja.n);
    jb.in = make_inputs("1.2.826.0.1.3680043.2.1125.52", 25, 0, 1, 0, &jb.n);
    pthread_mutex_init(&ja.lock, NULL);
    pthread_mutex_init(&jb.lock, NULL);
    dv_run_set_progress(ra, on_progress, &ja);
    dv_run_set_progress(rb, on_progress, &jb);

    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, job_worker, i % 2 ? (void *)&jb : (void *)&ja), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);

    assert_int_equal(dv_run_count(ra, DV_OUTCOME_OK), 30);
    assert_int_equal(dv_run_count(ra, DV_OUTCOME_DUPLICATE), 5);
    assert_int_equal(dv_run_count(ra, DV_OUTCOME_SKIPPED), 3);
    assert_int_equal(dv_run_count(ra, DV_OUTCOME_FAILED), 2);
    assert_int_equal(dv_run_done(ra), ja.n);
    assert_int_equal(ja.progress_calls, ja.n);
    assert_int_equal(dv_run_count(rb, DV_OUTCOME_OK), 25);
    assert_int_equal(dv_run_count(rb, DV_OUTCOME_DUPLICATE), 0);
    assert_int_equal(dv_run_count(rb, DV_OUTCOME_SKIPPED), 1);
    assert_int_equal(dv_run_count(rb, DV_OUTCOME_FAILED), 0);
    assert_int_equal(jb.progress_calls, jb.n);
    uint64_t bytes_a = 0;
    for (size_t i = 0; i < ja.n; i++)
        bytes_a += ja.in[i].len;
    assert_int_equal(dv_run_bytes_in(ra), bytes_a);

    /* Each run's outputs carry the UIDs its own key makes: nothing crossed over. */
    assert_int_equal(oa.n, 30);
    assert_int_equal(ob.n, 25);
    for (int r = 0; r < 2; r++) {
        memout *o = r ? &ob : &oa;
        const dv_key *k = r ? kb : ka;
        const char *prefix = r ? "1.2.826.0.1.3680043.2.1125.52" : "1.2.826.0.1.3680043.2.1125.51";
        for (size_t i = 0; i < o->n; i++) {
            dv_mem_source ms;
            dv_source src = dv_source_memory(&ms, o->data[i].data, o->data[i].len);
            dv_instance *inst = dv_instance_read(&src, NULL, &err);
            assert_non_null(inst);
            char sop[DV_UID_MAX + 1], pid[64];
            assert_true(dv_instance_get_string(inst, 0x00080018, sop, sizeof sop) > 0);
            assert_string_equal(sop, o->sop[i]);
            int found = 0;
            for (size_t u = 1; u <= 30 && !found; u++) {
                char orig[80], want[DV_UID_MAX + 1];
                snprintf(orig, sizeof orig, "%s.%zu", prefix, u);
                dv_uid_regenerate(k, orig, strlen(orig), want);
                found = strcmp(want, sop) == 0;
            }
            assert_true(found);
            /* run A is Basic (PatientID replaced), run B keeps everything but the primary IDs */
            int n = dv_instance_get_string(inst, 0x00100020, pid, sizeof pid);
            if (r)
                assert_string_equal(pid, "PID-12345");
            else
                assert_true(n < 0 || strcmp(pid, "PID-12345") != 0);
            dv_instance_free(inst);
        }
    }
    assert_int_equal(dv_budget_in_use(budget), 0);
    assert_true(dv_budget_peak(budget) <= dv_budget_total(budget));

    memout_free(&oa);
    memout_free(&ob);
    free_inputs(ja.in, ja.n);
    free_inputs(jb.in, jb.n);
    pthread_mutex_destroy(&ja.lock);
    pthread_mutex_destroy(&jb.lock);
    dv_run_free(ra);
    dv_run_free(rb);
    dv_key_free(ka);
    dv_key_free(kb);
    dv_plan_free(pa);
    dv_plan_free(pb);
    dv_budget_free(budget);
}

/* ---- the budget: deflated instances that must grow past their slice, many threads, tiny budgets ---- */

#define INFLATED_VALUE (3u * 1024u * 1024u)

static uint8_t *make_deflated(const char *sop, size_t *len)
{
    dvb *b = dvb_new(DVB_DEFLATED_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", sop);
    uint8_t *v = calloc(1, INFLATED_VALUE);
    assert_non_null(v);
    dvb_bytes(b, 0x00420011, "OB", v, INFLATED_VALUE); /* EncapsulatedDocument: 3 MiB of zeros */
    free(v);
    return dvb_finish(b, len);
}

typedef struct budget_job {
    const uint8_t *data;
    size_t len;
    const dv_limits *lim;
    int ok;
} budget_job;

static void *budget_worker(void *arg)
{
    budget_job *j = arg;
    for (int rep = 0; rep < 4; rep++) {
        dv_mem_source ms;
        dv_source src = dv_source_memory(&ms, j->data, j->len);
        dv_error err;
        dv_instance *inst = dv_instance_read(&src, j->lim, &err);
        if (inst)
            j->ok++;
        dv_instance_free(inst);
    }
    return NULL;
}

static void budget_round(uint64_t total)
{
    dv_limits lim;
    dv_limits_default(&lim);
    lim.max_metadata_bytes = 2u * 1024u * 1024u;
    lim.max_inflated_bytes = 4u * 1024u * 1024u;
    dv_error err;
    dv_budget *b = dv_budget_new(total, dv_limits_memory_max(&lim), &err);
    assert_non_null(b);
    lim.budget = b;
    size_t len;
    uint8_t *data = make_deflated("1.2.826.0.1.3680043.2.1125.53.1", &len);
    budget_job jobs[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        jobs[i] = (budget_job){data, len, &lim, 0};
        assert_int_equal(pthread_create(&t[i], NULL, budget_worker, &jobs[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].ok, 4); /* waiting for the budget never fails an instance */
    }
    assert_true(dv_budget_peak(b) <= total);
    assert_true(dv_budget_peak(b) >= dv_limits_memory_max(&lim)); /* they did grow past their slice */
    assert_int_equal(dv_budget_in_use(b), 0);
    free(data);
    dv_budget_free(b);
}

/* The smallest legal budget (one large grant at a time) and a roomier one: same outcome, no deadlock. */
static void test_budget_waits_never_fails(void **state)
{
    (void)state;
    dv_limits lim;
    dv_limits_default(&lim);
    lim.max_metadata_bytes = 2u * 1024u * 1024u; /* as budget_round sets them */
    uint64_t imax = dv_limits_memory_max(&lim);
    budget_round(imax + DV_BUDGET_SLICE);
    budget_round(3 * imax + 4 * DV_BUDGET_SLICE);
}

static void test_budget_refuses_too_small(void **state)
{
    (void)state;
    dv_error err;
    assert_null(dv_budget_new(100u * 1024u * 1024u, 100u * 1024u * 1024u, &err));
    assert_int_equal(err.code, DV_ERR_USAGE);
    /* A run whose limits allow more than the budget's per-instance maximum is refused up front. */
    dv_budget *b = dv_budget_new(64u * 1024u * 1024u, 8u * 1024u * 1024u, &err);
    assert_non_null(b);
    dv_limits lim;
    dv_limits_default(&lim);
    lim.budget = b;
    dv_plan *p = plan("{}");
    dv_key *k = key(1);
    assert_null(dv_run_new(p, k, &lim, &err));
    assert_int_equal(err.code, DV_ERR_USAGE);
    dv_key_free(k);
    dv_plan_free(p);
    dv_budget_free(b);
}

/* ---- the pixel stage's budget (dv_pixel_budget.h) ---- */

typedef struct pix_taker {
    dv_pixel_budget *b;
    uint64_t n;
    int done; /* read under the test's polling only after a join, or as a hint while polling */
    pthread_mutex_t *mu;
} pix_taker;

static void *pix_take(void *arg)
{
    pix_taker *t = arg;
    int rc = dv_pixel_budget_take(t->b, t->n);
    pthread_mutex_lock(t->mu);
    t->done = rc == 0 ? 1 : -1;
    pthread_mutex_unlock(t->mu);
    return NULL;
}

static int pix_done(pix_taker *t)
{
    pthread_mutex_lock(t->mu);
    int d = t->done;
    pthread_mutex_unlock(t->mu);
    return d;
}

static void pix_wait_done(pix_taker *t)
{
    for (int i = 0; i < 5000 && pix_done(t) == 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void pix_wait_queued(dv_pixel_budget *b, uint64_t n)
{
    for (int i = 0; i < 10000 && dv_pixel_budget_waiting(b) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(dv_pixel_budget_waiting(b), n);
}

static void test_pixel_budget_in_turn(void **state)
{
    (void)state;
    const uint64_t MB = 1024u * 1024u;
    dv_error err;
    assert_null(dv_pixel_budget_new(MB - 1, &err));
    assert_int_equal(err.code, DV_ERR_USAGE);
    dv_pixel_budget *b = dv_pixel_budget_new(100 * MB, &err);
    assert_non_null(b);
    /* More than the whole budget fails at once, waiting for nothing (the outcome never depends on timing). */
    assert_int_equal(dv_pixel_budget_take(b, 100 * MB + 1), -1);
    assert_int_equal(dv_pixel_budget_take(b, 0), 0);
    assert_int_equal(dv_pixel_budget_take(b, 60 * MB), 0);
    assert_int_equal(dv_pixel_budget_in_use(b), 60 * MB);
    /* A 60 MB taker waits; a 10 MB one that comes after it waits too although 40 MB are free: in turn, so a large
     * grant is not overtaken for ever by small ones. */
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pix_taker big = {b, 60 * MB, 0, &mu}, small = {b, 10 * MB, 0, &mu};
    pthread_t tb, ts;
    assert_int_equal(pthread_create(&tb, NULL, pix_take, &big), 0);
    pix_wait_queued(b, 1);
    assert_int_equal(pthread_create(&ts, NULL, pix_take, &small), 0);
    pix_wait_queued(b, 2);
    assert_int_equal(pix_done(&big), 0);
    assert_int_equal(pix_done(&small), 0);
    assert_int_equal(dv_pixel_budget_in_use(b), 60 * MB);
    dv_pixel_budget_give(b, 60 * MB);
    pix_wait_done(&big);
    pix_wait_done(&small);
    pthread_join(tb, NULL);
    pthread_join(ts, NULL);
    assert_int_equal(big.done, 1);
    assert_int_equal(small.done, 1);
    assert_int_equal(dv_pixel_budget_in_use(b), 70 * MB);
    assert_int_equal(dv_pixel_budget_peak(b), 70 * MB);
    dv_pixel_budget_give(b, 60 * MB);
    dv_pixel_budget_give(b, 10 * MB);
    assert_int_equal(dv_pixel_budget_in_use(b), 0);
    assert_true(dv_pixel_budget_default_total() >= 256 * MB);
    /* shared among the MPI ranks of one node, never below 256 MiB each */
    assert_int_equal(dv_pixel_budget_default_share(1), dv_pixel_budget_default_total());
    assert_int_equal(dv_pixel_budget_default_share(0), dv_pixel_budget_default_total());
    uint64_t half = dv_pixel_budget_default_total();
    uint64_t two = half / 2 < 256 * MB ? 256 * MB : half / 2;
    assert_int_equal(dv_pixel_budget_default_share(2), two);
    assert_int_equal(dv_pixel_budget_default_share(1u << 20), 256 * MB);
    dv_pixel_budget_free(b);
}

/* An instance that waited for pixel memory while the run was cancelled comes out cancelled, written nowhere: the
 * stage it waited for may take minutes (stop 41's review). */
typedef struct pix_run_arg {
    dv_run *run;
    memout *o;
    const uint8_t *data;
    size_t len;
    dv_outcome outcome;
} pix_run_arg;

static dv_outcome run_one(dv_run *run, memout *o, const uint8_t *data, size_t len, dv_result *res, dv_error *err);

static void *pix_run_one(void *arg)
{
    pix_run_arg *a = arg;
    dv_error err;
    a->outcome = run_one(a->run, a->o, a->data, a->len, NULL, &err);
    return NULL;
}

static void test_pixel_budget_cancel_while_waiting(void **state)
{
    (void)state;
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", "1.2.826.0.1.3680043.2.1125.41.1");
    dvb_u16(b, 0x00280002, 1);
    dvb_str(b, 0x00280004, "CS", "MONOCHROME2");
    dvb_pixel_geometry(b, 64, 64, 8);
    static uint8_t px[64 * 64];
    dvb_bytes(b, 0x7FE00010, "OB", px, sizeof px);
    size_t len;
    uint8_t *in = dvb_finish(b, &len);
    dv_error err;
    dv_pixel_budget *pb = dv_pixel_budget_new(64u * 1024u * 1024u, &err);
    assert_non_null(pb);
    dv_limits lim;
    dv_limits_default(&lim);
    lim.pixel_budget = pb;
    dv_plan *p = plan("{\"dicomTagConfig\": {\"options\": {\"cleanImage\": {\"textRedactionMode\": "
                      "\"REDACT_ALL_TEXT\"}}}}");
    dv_key *k = key(7);
    dv_run *run = dv_run_new(p, k, &lim, &err);
    assert_non_null(run);
    memout o;
    memout_init(&o);
    /* Control: with room, the instance is written. While it is written it holds only its pixel data's part of
     * the grant (~10 KiB), not the frames' (8 MiB and more: the stage is done, its buffers freed). */
    o.watch = pb;
    assert_int_equal(run_one(run, &o, in, len, NULL, &err), DV_OUTCOME_OK);
    assert_int_equal(o.n, 1);
    assert_true(o.pixel_at_open > 0);
    assert_true(o.pixel_at_open < 64u * 1024u);
    assert_true(dv_pixel_budget_peak(pb) > 8u * 1024u * 1024u);
    o.watch = NULL;
    assert_int_equal(dv_pixel_budget_in_use(pb), 0);
    uint64_t decodes = dv_run_pixel_decode_calls(run);
    assert_true(decodes > 0);
    /* The whole budget taken: the instance waits its turn, the run is cancelled, then room is given back. */
    assert_int_equal(dv_pixel_budget_take(pb, dv_pixel_budget_total(pb)), 0);
    pix_run_arg a = {run, &o, in, len, DV_OUTCOME_FAILED};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pix_run_one, &a), 0);
    pix_wait_queued(pb, 1);
    dv_run_cancel(run);
    dv_pixel_budget_give(pb, dv_pixel_budget_total(pb));
    pthread_join(t, NULL);
    assert_int_equal(a.outcome, DV_OUTCOME_CANCELLED);
    assert_int_equal(o.n, 1); /* nothing more written */
    assert_int_equal(dv_run_pixel_decode_calls(run), decodes); /* and the stage did not run */
    assert_int_equal(dv_pixel_budget_in_use(pb), 0); /* its grant was given back */
    dv_run_free(run);
    memout_free(&o);
    dv_key_free(k);
    dv_plan_free(p);
    dv_pixel_budget_free(pb);
    free(in);
}

/* ---- one path: skips, identifiers, cancel, commit-again ---- */

static dv_outcome run_one(dv_run *run, memout *o, const uint8_t *data, size_t len, dv_result *res, dv_error *err)
{
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, data, len);
    memput put = {.o = o};
    return dv_run_instance(run, &src, &MEM_OUTPUT, &put, res, err);
}

static void test_skips(void **state)
{
    (void)state;
    dv_error err;
    dv_plan *p = plan("{}");
    dv_key *k = key(2);
    dv_run *run = dv_run_new(p, k, NULL, &err);
    memout o;
    memout_init(&o);
    dv_result res;
    dv_result_init(&res);

    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.1.3.10"); /* Media Storage Directory Storage */
    dvb_str(b, 0x00080018, "UI", "1.2.826.0.1.3680043.2.1125.54.1");
    size_t len;
    uint8_t *dir = dvb_finish(b, &len);
    assert_int_equal(run_one(run, &o, dir, len, &res, &err), DV_OUTCOME_SKIPPED);
    assert_int_equal(res.skipped, DV_SKIP_DIRECTORY);
    assert_string_equal(dv_skip_name(res.skipped), "directory");
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    /* dv_deidentify takes the same path: the same rule, refused as an error there. */
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, dir, len);
    dv_mem_sink sm = {0};
    dv_sink sink = dv_sink_memory(&sm);
    assert_int_equal(dv_deidentify(p, k, &src, &sink, NULL, &res, &err), -1);
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    assert_int_equal(res.skipped, DV_SKIP_DIRECTORY);
    dv_mem_sink_free(&sm);

    static const char text[] = "not dicom, just text that goes on for a while";
    assert_int_equal(run_one(run, &o, (const uint8_t *)text, sizeof text - 1, &res, &err), DV_OUTCOME_SKIPPED);
    assert_int_equal(res.skipped, DV_SKIP_NOT_DICOM);
    assert_int_equal(err.code, DV_ERR_NOT_DICOM);
    assert_int_equal(dv_run_count(run, DV_OUTCOME_SKIPPED), 2);
    assert_int_equal(o.n, 0);
    assert_int_equal(o.opens, 0); /* nothing was opened for a skipped input */

    free(dir);
    memout_free(&o);
    dv_run_free(run);
    dv_key_free(k);
    dv_plan_free(p);
}

static void test_identifiers(void **state)
{
    (void)state;
    dv_error err;
    dv_plan *p = plan("{}");
    dv_plan *keep = plan("{\"dicomTagConfig\":{\"actions\":[{\"queries\":[\"PatientID\"],\"keepTag\":{}}]}}");
    dv_key *k = key(3);
    size_t len;
    uint8_t *in = make_instance("1.2.826.0.1.3680043.2.1125.55.1", "PID-777", &len);
    memout o;
    memout_init(&o);
    dv_result res;
    dv_result_init(&res);

    /* Off by default: no PHI in the result. */
    dv_run *run = dv_run_new(p, k, NULL, &err);
    assert_int_equal(run_one(run, &o, in, len, &res, &err), DV_OUTCOME_OK);
    assert_int_equal(res.has_identifiers, 0);
    assert_string_equal(res.orig_sop_uid, "");
    assert_string_equal(res.orig_patient_id, "");
    dv_run_free(run);

    /* Asked for: original UIDs, and PatientID because the Basic profile replaced it. */
    memout_free(&o);
    memout_init(&o);
    run = dv_run_new(p, k, NULL, &err);
    dv_run_want_identifiers(run, 1);
    assert_int_equal(run_one(run, &o, in, len, &res, &err), DV_OUTCOME_OK);
    assert_int_equal(res.has_identifiers, 1);
    assert_string_equal(res.orig_sop_uid, "1.2.826.0.1.3680043.2.1125.55.1");
    assert_string_equal(res.orig_study_uid, STUDY);
    assert_string_equal(res.orig_series_uid, SERIES);
    char want[DV_UID_MAX + 1];
    dv_uid_regenerate(k, res.orig_sop_uid, strlen(res.orig_sop_uid), want);
    assert_string_equal(res.sop_uid, want);
    assert_int_equal(res.patient_id_changed, 1);
    assert_string_equal(res.orig_patient_id, "PID-777");
    assert_string_equal(res.patient_id, ""); /* PatientID is Z/D in PS3.15 2025c, Type 2 in SC Image: Z */
    dv_run_free(run);

    /* PatientID kept: not reported (no PHI copied needlessly). */
    memout_free(&o);
    memout_init(&o);
    run = dv_run_new(keep, k, NULL, &err);
    dv_run_want_identifiers(run, 1);
    assert_int_equal(run_one(run, &o, in, len, &res, &err), DV_OUTCOME_OK);
    assert_int_equal(res.patient_id_changed, 0);
    assert_string_equal(res.orig_patient_id, "");
    assert_string_equal(res.orig_sop_uid, "1.2.826.0.1.3680043.2.1125.55.1");
    dv_run_free(run);

    memout_free(&o);
    free(in);
    dv_key_free(k);
    dv_plan_free(p);
    dv_plan_free(keep);
}

static void cancel_after_three(const dv_run *run, dv_outcome o, void *user)
{
    (void)o;
    (void)user;
    if (dv_run_done(run) == 3)
        dv_run_cancel((dv_run *)run);
}

static void test_cancel(void **state)
{
    (void)state;
    dv_error err;
    dv_plan *p = plan("{}");
    dv_key *k = key(4);
    dv_run *run = dv_run_new(p, k, NULL, &err);
    dv_run_set_progress(run, cancel_after_three, NULL);
    memout o;
    memout_init(&o);
    size_t n;
    input *in = make_inputs("1.2.826.0.1.3680043.2.1125.56", 8, 0, 0, 0, &n);
    for (size_t i = 0; i < n; i++)
        (void)run_one(run, &o, in[i].data, in[i].len, NULL, &err);
    assert_int_equal(dv_run_count(run, DV_OUTCOME_OK), 3);
    assert_int_equal(dv_run_count(run, DV_OUTCOME_CANCELLED), 5);
    assert_true(dv_run_cancelled(run));
    assert_int_equal(o.n, 3);
    free_inputs(in, n);
    memout_free(&o);
    dv_run_free(run);
    dv_key_free(k);
    dv_plan_free(p);
}

/* An output that cannot commit the first sink it opened gets the same instance written again. */
static void test_commit_again(void **state)
{
    (void)state;
    dv_error err;
    dv_plan *p = plan("{}");
    dv_key *k = key(5);
    dv_run *run = dv_run_new(p, k, NULL, &err);
    memout o;
    memout_init(&o);
    o.again_once = 1;
    size_t len;
    uint8_t *in = make_instance("1.2.826.0.1.3680043.2.1125.57.1", "PID-1", &len);
    assert_int_equal(run_one(run, &o, in, len, NULL, &err), DV_OUTCOME_OK);
    assert_int_equal(o.opens, 2);
    assert_int_equal(o.n, 1);
    assert_true(o.data[0].len > 132);
    free(in);
    memout_free(&o);
    dv_run_free(run);
    dv_key_free(k);
    dv_plan_free(p);
}

/* ---- extensible structs (issue 5 item 7) ---- */

static void test_limits_layouts(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = make_instance("1.2.826.0.1.3680043.2.1125.58.1", "PID-2", &len);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, in, len);
    dv_error err;

    /* Not initialised: refused, never read as garbage caps. */
    dv_limits raw;
    memset(&raw, 0, sizeof raw);
    assert_null(dv_instance_read(&src, &raw, &err));
    assert_int_equal(err.code, DV_ERR_USAGE);

    /* A caller compiled with a longer (future) layout: our fields are used, its tail is left alone. */
    union {
        dv_limits lim;
        unsigned char bytes[sizeof(dv_limits) + 32];
    } future;
    memset(&future, 0xAB, sizeof future);
    dv_limits_init(&future.lim, sizeof future);
    assert_int_equal(future.lim.struct_size, sizeof future);
    assert_int_equal(future.lim.max_depth, 128);
    assert_int_equal(future.bytes[sizeof(dv_limits) + 5], 0); /* the unknown tail is zeroed */
    future.lim.max_depth = 7;
    dv_instance *inst = dv_instance_read(&src, &future.lim, &err);
    assert_non_null(inst);
    dv_instance_free(inst);

    dv_limits lim;
    dv_limits_default(&lim);
    assert_int_equal(lim.struct_size, sizeof lim);
    assert_int_equal(lim.max_metadata_bytes, 32u * 1024u * 1024u);
    assert_null(lim.budget);
    /* metadata cap + the streaming inflater's bounded maximum (whatever max_inflated_bytes is) */
    assert_true(dv_limits_memory_max(&lim) > 32u * 1024u * 1024u);
    assert_true(dv_limits_memory_max(&lim) < 48u * 1024u * 1024u);
    lim.max_inflated_bytes *= 2;
    assert_true(dv_limits_memory_max(&lim) < 48u * 1024u * 1024u);
    free(in);
}

static void test_result_layouts(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = make_instance("1.2.826.0.1.3680043.2.1125.59.1", "PID-3", &len);
    dv_plan *p = plan("{}");
    dv_key *k = key(6);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, in, len);
    dv_mem_sink sm = {0};
    dv_sink sink = dv_sink_memory(&sm);
    dv_error err;

    dv_result raw;
    memset(&raw, 0, sizeof raw);
    assert_int_equal(dv_deidentify(p, k, &src, &sink, NULL, &raw, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);
    assert_int_equal(sm.len, 0); /* refused before anything was written */

    union {
        dv_result res;
        unsigned char bytes[sizeof(dv_result) + 32];
    } future;
    dv_result_init_sized(&future.res, sizeof future);
    future.bytes[sizeof(dv_result) + 3] = 0x5A; /* a future field the library does not know */
    assert_int_equal(dv_deidentify(p, k, &src, &sink, NULL, &future.res, &err), 0);
    assert_true(future.res.sop_uid[0] != '\0');
    assert_int_equal(future.bytes[sizeof(dv_result) + 3], 0x5A); /* never written past the known layout */

    dv_mem_sink_free(&sm);
    dv_key_free(k);
    dv_plan_free(p);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_runs_at_once),   cmocka_unit_test(test_budget_waits_never_fails),
        cmocka_unit_test(test_budget_refuses_too_small), cmocka_unit_test(test_skips),
        cmocka_unit_test(test_pixel_budget_in_turn), cmocka_unit_test(test_pixel_budget_cancel_while_waiting),
        cmocka_unit_test(test_identifiers),        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_commit_again),       cmocka_unit_test(test_limits_layouts),
        cmocka_unit_test(test_result_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

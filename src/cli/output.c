/* Output files: DST/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm with the NEW UIDs
 * (DECISIONS.md item 15). Source file names, which may hold PHI, are never reused.
 *
 * Path safety: each component comes from a UID the (possibly hostile) input influenced, so only a
 * well-formed UID (digits and single dots, <= 64 chars; never "." or "..") is used verbatim; anything else
 * becomes "_invalid-<16 hex of its SHA-256>", which is stable (duplicates still collide) and cannot
 * traverse. Directories are opened one component at a time relative to DST with O_NOFOLLOW, so a symlink
 * planted inside DST cannot redirect a write either.
 *
 * Atomicity: the file is written unnamed (O_TMPFILE) and only given its name by linkat once complete, so a
 * killed run (even SIGKILL) never leaves a partial .dcm. linkat never replaces an existing name: EEXIST means
 * the same instance was already written (by an earlier input, a concurrent worker or an earlier run), and the
 * first one stays ("duplicate"). Where O_TMPFILE is unsupported, a hidden ".dvtmp-<hex>" name in the same
 * directory + link() + unlink() gives the same no-overwrite guarantee; those temp names are registered per
 * worker so SIGINT/SIGTERM/SIGHUP can unlink them before the process dies (SIGKILL cannot be caught: only
 * the O_TMPFILE path is immune to it). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"

#define UID_COMPONENT_LEN 64

static int uid_well_formed(const char *s, size_t n)
{
    if (n == 0 || n > UID_COMPONENT_LEN)
        return 0;
    if (s[0] < '0' || s[0] > '9' || s[n - 1] < '0' || s[n - 1] > '9')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

void dvc_uid_component(const char *uid, size_t cap, const char *empty_name, char out[DVC_COMPONENT_MAX])
{
    size_t n = strnlen(uid, cap);
    if (n == 0) {
        snprintf(out, DVC_COMPONENT_MAX, "%s", empty_name);
        return;
    }
    if (uid_well_formed(uid, n)) {
        memcpy(out, uid, n);
        out[n] = '\0';
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(uid, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
        memset(md, 0, 8); /* cannot happen with a working libcrypto; still a safe name */
    int k = snprintf(out, DVC_COMPONENT_MAX, "_invalid-");
    for (int i = 0; i < 8; i++)
        k += snprintf(out + k, (size_t)(DVC_COMPONENT_MAX - k), "%02x", md[i]);
}

/* ---- temp-name fallback and its signal cleanup ----
 *
 * Protocol (all atomics sequentially consistent): a worker announces SLOT_CREATING, then checks g_dying, then
 * creates the file and announces SLOT_CREATED. The handler sets g_dying, then waits out any SLOT_CREATING and
 * unlinks every SLOT_CREATED. Either the worker sees g_dying (and creates nothing, ever again) or the handler
 * sees its slot (and waits for the file to exist before unlinking it), so no temp name can appear after the
 * sweep. The handler may wait on a worker, so it must never run on a worker: pool.c blocks these signals in
 * every worker thread (dvc_cleanup_signals), and the process delivers them to the main thread. */

enum { SLOT_IDLE = 0, SLOT_CREATING, SLOT_CREATED };

typedef struct tmp_slot {
    atomic_int state; /* lock-free, so safe to use in a signal handler */
    int dirfd;
    char name[32];
} tmp_slot;

static tmp_slot *g_slots;
static size_t g_nslots;
static atomic_int g_dying;
static atomic_int g_tmpfile_unsupported;

void dvc_cleanup_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

static void on_fatal_signal(int sig)
{
    /* Only async-signal-safe calls: nanosleep, unlinkat, raise. SA_RESETHAND restored the default action, so
     * the raised signal kills the process once this handler returns. */
    atomic_store(&g_dying, 1);
    for (size_t i = 0; i < g_nslots; i++) {
        const struct timespec pause_ms = {.tv_sec = 0, .tv_nsec = 1000 * 1000};
        for (int spins = 0; atomic_load(&g_slots[i].state) == SLOT_CREATING && spins < 5000; spins++)
            nanosleep(&pause_ms, NULL); /* a worker is inside openat: microseconds */
        if (atomic_load(&g_slots[i].state) == SLOT_CREATED)
            unlinkat(g_slots[i].dirfd, g_slots[i].name, 0);
    }
    raise(sig);
}

int dvc_output_init(dvc_output *o, const char *dst, size_t nworkers, int do_fsync)
{
    o->do_fsync = do_fsync;
    o->dst_fd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (o->dst_fd < 0)
        return -1;
    g_slots = calloc(nworkers ? nworkers : 1, sizeof *g_slots);
    if (!g_slots) {
        close(o->dst_fd);
        errno = ENOMEM;
        return -1;
    }
    g_nslots = nworkers;
    /* Lets tests (and users on odd file systems) exercise the temp-name path on any file system. */
    const char *force = getenv("DICOMVEIL_NO_O_TMPFILE");
    if (force && *force && strcmp(force, "0") != 0)
        atomic_store(&g_tmpfile_unsupported, 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        /* A signal ignored on entry stays ignored (nohup, background jobs): it would not have killed us. */
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
    }
    return 0;
}

void dvc_output_close(dvc_output *o)
{
    if (o->dst_fd >= 0)
        close(o->dst_fd);
    o->dst_fd = -1;
    g_nslots = 0; /* first, so a late signal handler no longer looks at the slots */
    free(g_slots);
    g_slots = NULL;
}

/* Open (creating when missing) the subdirectory name of parent. Concurrent workers may race to create the
 * same directory: EEXIST from mkdirat just means another one won. */
static int open_subdir(int parent, const char *name)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
            return -1;
    }
    errno = ENOENT;
    return -1;
}

static int write_instance(int fd, const dv_instance *inst, uint8_t *buf, size_t cap, int do_fsync, dv_error *err)
{
    dvc_fsink fs;
    dv_sink sink = dvc_sink_fd(&fs, fd, buf, cap);
    if (dv_instance_write(inst, &sink, err) < 0)
        return -1;
    if (dvc_sink_flush(&fs) < 0)
        return dv_fail(err, DV_ERR_IO, "writing the output file failed: %s", strerror(errno));
    if (do_fsync && fsync(fd) < 0)
        return dv_fail(err, DV_ERR_IO, "fsync of the output file failed: %s", strerror(errno));
    return 0;
}

static dvc_write_result link_result(int rc, int e, dv_error *err)
{
    if (rc == 0)
        return DVC_WRITTEN;
    if (e == EEXIST)
        return DVC_DUPLICATE;
    dv_fail(err, DV_ERR_IO, "naming the output file failed: %s", strerror(e));
    return DVC_WRITE_FAILED;
}

/* O_TMPFILE path. Returns 2 when the file system cannot do it (the caller falls back). */
static int write_tmpfile(dvc_output *o, int dirfd, const char *final, const dv_instance *inst, uint8_t *buf,
                         size_t cap, dv_error *err, dvc_write_result *out)
{
    int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
            atomic_store(&g_tmpfile_unsupported, 1);
            return 2;
        }
        dv_fail(err, DV_ERR_IO, "creating the output file failed: %s", strerror(errno));
        *out = DVC_WRITE_FAILED;
        return 0;
    }
    if (write_instance(fd, inst, buf, cap, o->do_fsync, err) < 0) {
        close(fd); /* the unnamed file vanishes with its last descriptor */
        *out = DVC_WRITE_FAILED;
        return 0;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int rc = linkat(AT_FDCWD, proc, dirfd, final, AT_SYMLINK_FOLLOW);
    int e = errno;
    if (rc < 0 && e == ENOENT) {
        /* No /proc mounted: AT_EMPTY_PATH does the same with CAP_DAC_READ_SEARCH. */
        rc = linkat(fd, "", dirfd, final, AT_EMPTY_PATH);
        e = errno;
        if (rc < 0 && (e == ENOENT || e == EPERM)) {
            close(fd);
            atomic_store(&g_tmpfile_unsupported, 1);
            return 2;
        }
    }
    close(fd);
    *out = link_result(rc, e, err);
    return 0;
}

static dvc_write_result write_named_temp(dvc_output *o, size_t worker, int dirfd, const char *final,
                                         const dv_instance *inst, uint8_t *buf, size_t cap, dv_error *err)
{
    tmp_slot *slot = &g_slots[worker];
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
        unsigned char rnd[6];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            dv_fail(err, DV_ERR_IO, "no random bytes for a temp name: %s", strerror(errno));
            return DVC_WRITE_FAILED;
        }
        snprintf(slot->name, sizeof slot->name, ".dvtmp-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
                 rnd[4], rnd[5]);
        slot->dirfd = dirfd;
        atomic_store(&slot->state, SLOT_CREATING);
        if (atomic_load(&g_dying)) {
            atomic_store(&slot->state, SLOT_IDLE);
            for (;;)
                pause(); /* the process is being killed by the handler on the main thread */
        }
        fd = openat(dirfd, slot->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        int e = errno;
        atomic_store(&slot->state, fd >= 0 ? SLOT_CREATED : SLOT_IDLE);
        if (fd < 0) {
            errno = e;
            if (errno != EEXIST) {
                dv_fail(err, DV_ERR_IO, "creating a temp output file failed: %s", strerror(errno));
                return DVC_WRITE_FAILED;
            }
        }
    }
    if (fd < 0) {
        dv_fail(err, DV_ERR_IO, "no free temp name in the output directory");
        return DVC_WRITE_FAILED;
    }
    dvc_write_result r;
    if (write_instance(fd, inst, buf, cap, o->do_fsync, err) < 0) {
        r = DVC_WRITE_FAILED;
    } else {
        int rc = linkat(dirfd, slot->name, dirfd, final, 0); /* link(), unlike rename(), never replaces */
        r = link_result(rc, errno, err);
    }
    close(fd);
    unlinkat(dirfd, slot->name, 0);
    atomic_store(&slot->state, SLOT_IDLE);
    return r;
}

dvc_write_result dvc_output_write(dvc_output *o, size_t worker, const dv_instance *inst, const dv_result *res,
                                  uint8_t *buf, size_t cap, dv_error *err)
{
    if (res->sop_uid[0] == '\0') {
        dv_fail(err, DV_ERR_INVALID, "the instance has no SOPInstanceUID");
        return DVC_WRITE_FAILED;
    }
    char study[DVC_COMPONENT_MAX], series[DVC_COMPONENT_MAX], sop[DVC_COMPONENT_MAX];
    char final[DVC_COMPONENT_MAX + 4];
    dvc_uid_component(res->study_uid, sizeof res->study_uid, "_nostudy", study);
    dvc_uid_component(res->series_uid, sizeof res->series_uid, "_noseries", series);
    dvc_uid_component(res->sop_uid, sizeof res->sop_uid, "", sop);
    snprintf(final, sizeof final, "%s.dcm", sop);

    int study_fd = open_subdir(o->dst_fd, study);
    if (study_fd < 0) {
        dv_fail(err, DV_ERR_IO, "creating the study directory failed: %s", strerror(errno));
        return DVC_WRITE_FAILED;
    }
    int series_fd = open_subdir(study_fd, series);
    int e = errno;
    close(study_fd);
    if (series_fd < 0) {
        dv_fail(err, DV_ERR_IO, "creating the series directory failed: %s", strerror(e));
        return DVC_WRITE_FAILED;
    }

    dvc_write_result r = DVC_WRITE_FAILED;
    if (atomic_load(&g_tmpfile_unsupported) ||
        write_tmpfile(o, series_fd, final, inst, buf, cap, err, &r) == 2)
        r = write_named_temp(o, worker, series_fd, final, inst, buf, cap, err);
    if (r == DVC_WRITTEN && o->do_fsync && fsync(series_fd) < 0) {
        dv_fail(err, DV_ERR_IO, "fsync of the output directory failed: %s", strerror(errno));
        r = DVC_WRITE_FAILED; /* the file is complete and named, but not known to be durable */
    }
    close(series_fd);
    return r;
}

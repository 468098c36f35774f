/* Load client of bench/server_load.sh and bench/server_profile.sh (issue 7's load bullet): a separate process
 * that talks to `dicomveil serve` over loopback HTTP/1.1 keep-alive, one blocking socket per thread. It
 * replaced bench/server_load_client.py, whose interpreter used ~3x the CPU of the server it measured on the
 * same 2 CPUs (bench/RESULTS.md "Where the STOW wall time goes"): a bench client must cost little next to
 * the server, or it measures itself.
 *
 *   stow-files URL DIR  STOW every file of DIR (multipart/related batches of --batch files) from --clients
 *                       threads; the files are mmap'ed and sent with writev (no copy in this process);
 *   fill URL            STOW --count generated tiny instances (--batch per request) to fill the index;
 *   qido URL            for --seconds, --clients threads query (exact PatientID, StudyDate range, PatientName
 *                       wildcard, series of a study, instances of a series) while --load-clients threads keep
 *                       STOWing new tiny instances; latency p50/p99/max of the queries.
 *
 * The tiny instances: one template built once with tests/support's DICOM builder (8x8 pixels, ~1 KB) whose
 * fixed-length placeholders (UIDs, PatientID, PatientName, StudyDate) are overwritten in place per instance.
 * Instance n belongs to study n/20, series n/10, patient study%5000: the keys the QIDO queries pick from.
 * This is the only generator of these instances (tests/integration/test_server_perf.py builds its own,
 * different ones with pydicom).
 *
 * Every command prints one JSON line (the fields bench/server_load.sh reads, plus this process's CPU
 * seconds "client_cpu_s"). Bounded: --count / --seconds and a --deadline on the whole command; a request that
 * fails or answers anything but 200 is counted in "failed", never retried (one reconnect is allowed when the
 * server closed an idle keep-alive connection before the request was sent). [test_server_perf.py
 * "load client"] */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dv_build.h"
#include "util/dv_grow.h"

#define UID_ROOT "1.2.826.0.1.3680043.9.7433.1." /* + 12 digits (10^11 + n: no leading zero) */
#define PER_STUDY 20
#define PER_SERIES 10
#define PATIENTS 5000
#define MAX_BATCH 256
#define BOUNDARY "dvbenchload0123456789abcdef"

/* ---- options ---- */
typedef struct opts {
    const char *cmd, *host, *path, *dir;
    int port, clients, load_clients, batch;
    long count, first, indexed;
    double seconds, deadline;
} opts;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- one keep-alive connection ---- */
typedef struct conn {
    const opts *o;
    int fd;
    char buf[65536];
    size_t have, at; /* unread bytes are buf[at..have) */
    char *body;      /* the last response's body (grown as needed) */
    size_t blen, bcap;
} conn;

static int conn_open(conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->o->port)};
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {120, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (inet_pton(AF_INET, c->o->host, &sa.sin_addr) != 1 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->have = c->at = 0;
    return 0;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int fill_buf(conn *c)
{
    if (c->at == c->have)
        c->at = c->have = 0;
    if (c->have == sizeof c->buf) {
        memmove(c->buf, c->buf + c->at, c->have - c->at);
        c->have -= c->at;
        c->at = 0;
        if (c->have == sizeof c->buf)
            return -1; /* a header line longer than the buffer */
    }
    ssize_t k;
    do
        k = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
    while (k < 0 && errno == EINTR);
    if (k <= 0)
        return -1;
    c->have += (size_t)k;
    return 0;
}

/* One CRLF-terminated line into out (without the CRLF). */
static int read_line(conn *c, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->buf + c->at, '\n', c->have - c->at);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->at));
            size_t m = n && c->buf[c->at + n - 1] == '\r' ? n - 1 : n;
            if (m >= cap)
                m = cap - 1;
            memcpy(out, c->buf + c->at, m);
            out[m] = '\0';
            c->at += n + 1;
            return 0;
        }
        if (fill_buf(c))
            return -1;
    }
}

static int read_body(conn *c, size_t n)
{
    if (dv_grow(&c->body, &c->bcap, c->blen + n + 1, 1, 4096) < 0)
        return -1;
    while (n) {
        if (c->at == c->have && fill_buf(c))
            return -1;
        size_t k = c->have - c->at < n ? c->have - c->at : n;
        memcpy(c->body + c->blen, c->buf + c->at, k);
        c->blen += k;
        c->at += k;
        n -= k;
    }
    c->body[c->blen] = '\0';
    return 0;
}

/* The response: status (or -1), its body in c->body; the connection is closed when the server asks. */
static int read_response(conn *c)
{
    char line[8192];
    if (read_line(c, line, sizeof line) || strncmp(line, "HTTP/1.", 7) != 0)
        return -1;
    int status = atoi(line + 9);
    long long clen = -1;
    int chunked = 0, close_after = 0;
    for (;;) {
        if (read_line(c, line, sizeof line))
            return -1;
        if (line[0] == '\0')
            break;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            clen = atoll(line + 15);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked"))
            chunked = 1;
        else if (strncasecmp(line, "Connection:", 11) == 0 && strstr(line, "close"))
            close_after = 1;
    }
    c->blen = 0;
    if (chunked) {
        for (;;) {
            if (read_line(c, line, sizeof line))
                return -1;
            size_t n = (size_t)strtoull(line, NULL, 16);
            if (n == 0) {
                while (!read_line(c, line, sizeof line) && line[0])
                    ; /* trailers */
                break;
            }
            if (read_body(c, n) || read_line(c, line, sizeof line))
                return -1;
        }
    } else if (clen > 0 && read_body(c, (size_t)clen)) {
        return -1;
    } else if (clen < 0 && status != 204 && status != 304) {
        return -1; /* no framing we know: nothing else here answers that way */
    }
    if (close_after)
        conn_close(c);
    return status;
}

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t k = writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

/* One request (head + the iovecs of its body); the status, or -1. Reconnects once when a kept-alive
 * connection turns out closed (nothing was answered). */
static int request(conn *c, const char *method, const char *path, const char *ctype, const struct iovec *body,
                   int nbody)
{
    size_t blen = 0;
    for (int i = 0; i < nbody; i++)
        blen += body[i].iov_len;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fresh = c->fd < 0;
        if (fresh && conn_open(c))
            return -1;
        char head[2048];
        int hn = snprintf(head, sizeof head, "%s %s%s HTTP/1.1\r\nHost: %s:%d\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                          method, c->o->path, path, c->o->host, c->o->port, ctype ? "Content-Type: " : "",
                          ctype ? ctype : "", ctype ? "\r\n" : "", blen);
        if (hn < 0 || (size_t)hn >= sizeof head)
            return -1;
        struct iovec iov[2 + 4 * MAX_BATCH];
        iov[0] = (struct iovec){head, (size_t)hn};
        if (nbody)
            memcpy(iov + 1, body, (size_t)nbody * sizeof *body);
        int st = write_all(c->fd, iov, 1 + nbody) == 0 ? read_response(c) : -1;
        if (st >= 0)
            return st;
        conn_close(c);
        if (fresh)
            return -1;
    }
    return -1;
}

/* ---- tiny instances ---- */
typedef struct patch {
    size_t off, len;
} patch;

/* The template and where its placeholders are (built once, read by every thread). */
typedef struct tiny {
    uint8_t *bytes;
    size_t len;
    patch sop[2], study, series, pid, name, date;
} tiny;

static void find(const tiny *t, const char *needle, patch *out, int n)
{
    size_t len = strlen(needle);
    int got = 0;
    for (size_t i = 0; i + len <= t->len && got < n; i++)
        if (memcmp(t->bytes + i, needle, len) == 0)
            out[got++] = (patch){i, len};
    if (got != n) {
        fprintf(stderr, "load_client: the template lacks a placeholder\n");
        exit(2);
    }
}

static void make_template(tiny *t)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", UID_ROOT "777777777777");
    dvb_str(b, 0x00080020, "DA", "19000101");
    dvb_str(b, 0x00080030, "TM", "101010");
    dvb_str(b, 0x00080050, "SH", "A1");
    dvb_str(b, 0x00080060, "CS", "OT");
    dvb_str(b, 0x00100010, "PN", "NAME^66666666");
    dvb_str(b, 0x00100020, "LO", "PID55555555");
    dvb_str(b, 0x0020000D, "UI", UID_ROOT "888888888888");
    dvb_str(b, 0x0020000E, "UI", UID_ROOT "999999999999");
    dvb_str(b, 0x00200010, "SH", "1");
    dvb_str(b, 0x00200011, "IS", "1");
    dvb_str(b, 0x00200013, "IS", "1");
    dvb_u16(b, 0x00280002, 1);
    dvb_str(b, 0x00280004, "CS", "MONOCHROME2");
    dvb_pixel_geometry(b, 8, 8, 8);
    uint8_t px[64];
    for (int i = 0; i < 64; i++)
        px[i] = (uint8_t)i;
    dvb_bytes(b, 0x7FE00010, "OB", px, sizeof px);
    t->bytes = dvb_finish(b, &t->len);
    find(t, UID_ROOT "777777777777", t->sop, 2); /* the dataset's and the file meta's */
    find(t, UID_ROOT "888888888888", &t->study, 1);
    find(t, UID_ROOT "999999999999", &t->series, 1);
    find(t, "PID55555555", &t->pid, 1);
    find(t, "NAME^66666666", &t->name, 1);
    find(t, "19000101", &t->date, 1);
}

static void put(uint8_t *dst, patch p, const char *v)
{
    memcpy(dst + p.off, v, p.len);
}

/* Instance n into dst (t->len bytes). */
static void instance(const tiny *t, long n, uint8_t *dst)
{
    long study = n / PER_STUDY, series = n / PER_SERIES, pat = study % PATIENTS;
    char v[64];
    memcpy(dst, t->bytes, t->len);
    snprintf(v, sizeof v, UID_ROOT "%ld", 100000000000L + n);
    put(dst, t->sop[0], v);
    put(dst, t->sop[1], v);
    snprintf(v, sizeof v, UID_ROOT "%ld", 100000000000L + study);
    put(dst, t->study, v);
    snprintf(v, sizeof v, UID_ROOT "%ld", 100000000000L + series);
    put(dst, t->series, v);
    snprintf(v, sizeof v, "PID%08ld", pat);
    put(dst, t->pid, v);
    snprintf(v, sizeof v, "NAME^%08ld", pat);
    put(dst, t->name, v);
    snprintf(v, sizeof v, "2020%02ld%02ld", 1 + study % 12, 1 + study % 28);
    put(dst, t->date, v);
}

/* ---- STOW ---- */
static const char PART_HEAD[] = "--" BOUNDARY "\r\nContent-Type: application/dicom\r\n\r\n";
static const char PART_TAIL[] = "\r\n";
static const char BODY_END[] = "--" BOUNDARY "--\r\n";
static const char STOW_CTYPE[] = "multipart/related; type=\"application/dicom\"; boundary=" BOUNDARY;

/* POST the n parts as one multipart/related body; the status. */
static int stow(conn *c, const struct iovec *parts, int n)
{
    struct iovec iov[3 * MAX_BATCH + 1];
    int k = 0;
    for (int i = 0; i < n; i++) {
        iov[k++] = (struct iovec){(void *)PART_HEAD, sizeof PART_HEAD - 1};
        iov[k++] = parts[i];
        iov[k++] = (struct iovec){(void *)PART_TAIL, sizeof PART_TAIL - 1};
    }
    iov[k++] = (struct iovec){(void *)BODY_END, sizeof BODY_END - 1};
    return request(c, "POST", "/studies", STOW_CTYPE, iov, k);
}

typedef struct counters {
    atomic_long sent, ok, failed, requests;
} counters;

/* The first failure says what it was (status or errno; no content) on stderr: a run with failures is not a
 * measurement, and the reason is the first thing to know. */
static void note_failure(const char *what, int status)
{
    static atomic_int noted; /* once per process: a write-once latch, not state of a run */
    if (atomic_exchange(&noted, 1) == 0)
        fprintf(stderr, "load_client: first failed %s: status %d, errno %d\n", what, status, errno);
}

static void count(counters *k, int status, long n)
{
    if (status != 200)
        note_failure("STOW", status);
    atomic_fetch_add(&k->requests, 1);
    atomic_fetch_add(&k->sent, n);
    atomic_fetch_add(status == 200 ? &k->ok : &k->failed, n);
}

typedef struct shared {
    const opts *o;
    double deadline;
    atomic_long next; /* stow-files: next file; fill / qido load: next instance number */
    long end;         /* fill: first..end */
    struct iovec *files;
    long nfiles;
    tiny tmpl; /* fill, qido */
    counters stow;
    /* qido */
    pthread_mutex_t mu;
    double *lat;
    size_t nlat, caplat;
    atomic_long queries, qok, qfailed;
} shared;

static void *files_worker(void *arg)
{
    shared *s = arg;
    conn c = {.o = s->o, .fd = -1};
    for (;;) {
        long lo = atomic_fetch_add(&s->next, s->o->batch);
        if (lo >= s->nfiles || now() > s->deadline)
            break;
        int n = (int)(s->nfiles - lo < s->o->batch ? s->nfiles - lo : s->o->batch);
        count(&s->stow, stow(&c, s->files + lo, n), n);
    }
    conn_close(&c);
    free(c.body);
    return NULL;
}

/* STOW generated instances [lo, lo+n) on c. */
static int stow_generated(conn *c, const tiny *t, long lo, int n, uint8_t *scratch)
{
    struct iovec parts[MAX_BATCH];
    for (int i = 0; i < n; i++) {
        instance(t, lo + i, scratch + (size_t)i * t->len);
        parts[i] = (struct iovec){scratch + (size_t)i * t->len, t->len};
    }
    return stow(c, parts, n);
}

/* fill (s->end > 0: up to end) or the load of qido (until the deadline). */
static void *gen_worker(void *arg)
{
    shared *s = arg;
    conn c = {.o = s->o, .fd = -1};
    uint8_t *scratch = malloc((size_t)s->o->batch * s->tmpl.len);
    while (scratch && now() < s->deadline) {
        long lo = atomic_fetch_add(&s->next, s->o->batch);
        if (s->end && lo >= s->end)
            break;
        int n = (int)(s->end && s->end - lo < s->o->batch ? s->end - lo : s->o->batch);
        count(&s->stow, stow_generated(&c, &s->tmpl, lo, n, scratch), n);
    }
    free(scratch);
    conn_close(&c);
    free(c.body);
    return NULL;
}

/* ---- QIDO ---- */
static void query_for(unsigned *seed, long indexed, char *path, size_t cap)
{
    long n = (long)(((uint64_t)rand_r(seed) << 16 ^ (uint64_t)rand_r(seed)) % (uint64_t)indexed);
    long study = n / PER_STUDY, series = n / PER_SERIES, pat = study % PATIENTS;
    int m;
    switch (rand_r(seed) % 5) {
    case 0:
        snprintf(path, cap, "/studies?PatientID=PID%08ld", pat);
        break;
    case 1:
        m = 1 + rand_r(seed) % 12;
        snprintf(path, cap, "/studies?StudyDate=2020%02d01-2020%02d28&limit=100", m, m);
        break;
    case 2: /* the name's first 11 characters and a wildcard, as %2A */
        snprintf(path, cap, "/studies?PatientName=NAME%%5E%06ld%%2A&limit=50", pat / 100);
        break;
    case 3:
        snprintf(path, cap, "/studies/" UID_ROOT "%ld/series", 100000000000L + study);
        break;
    default:
        snprintf(path, cap, "/studies/" UID_ROOT "%ld/series/" UID_ROOT "%ld/instances", 100000000000L + study,
                 100000000000L + series);
    }
}

typedef struct qarg {
    shared *s;
    unsigned seed;
} qarg;

static void *query_worker(void *arg)
{
    qarg *q = arg;
    shared *s = q->s;
    conn c = {.o = s->o, .fd = -1};
    char path[512];
    while (now() < s->deadline) {
        query_for(&q->seed, s->o->indexed, path, sizeof path);
        double t = now();
        int st = request(&c, "GET", path, NULL, NULL, 0);
        double dt = now() - t;
        /* 200 with a JSON array, or 204 (nothing matched) */
        int ok = st == 204 || (st == 200 && c.blen && c.body[0] == '[');
        atomic_fetch_add(&s->queries, 1);
        if (!ok) {
            note_failure("query", st);
            atomic_fetch_add(&s->qfailed, 1);
            continue;
        }
        atomic_fetch_add(&s->qok, 1);
        pthread_mutex_lock(&s->mu);
        if (dv_grow(&s->lat, &s->caplat, s->nlat + 1, sizeof *s->lat, 4096) == 0)
            s->lat[s->nlat++] = dt;
        pthread_mutex_unlock(&s->mu);
    }
    conn_close(&c);
    free(c.body);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- commands ---- */
static double run_threads(int n, void *(*fn)(void *), void *arg, size_t stride)
{
    pthread_t *th = calloc((size_t)n, sizeof *th);
    if (th == NULL)
        exit(2);
    double t0 = now();
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, fn, (char *)arg + stride * (size_t)i)) {
            fprintf(stderr, "load_client: cannot start a thread\n");
            exit(2);
        }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    free(th);
    return now() - t0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_stow_files(const opts *o, shared *s)
{
    DIR *d = opendir(o->dir);
    if (d == NULL) {
        fprintf(stderr, "load_client: cannot open the folder\n");
        return 2;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (dv_grow(&names, &cap, n + 1, sizeof *names, 256) < 0)
            exit(2);
        if ((names[n++] = strdup(de->d_name)) == NULL)
            exit(2);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_name);
    s->files = calloc(n ? n : 1, sizeof *s->files);
    if (s->files == NULL)
        exit(2);
    long long bytes = 0;
    for (size_t i = 0; i < n; i++) {
        int dfd = open(o->dir, O_RDONLY | O_DIRECTORY);
        int fd = dfd < 0 ? -1 : openat(dfd, names[i], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) || st.st_size == 0) {
            fprintf(stderr, "load_client: cannot read a file of the folder\n");
            return 2;
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        close(fd);
        close(dfd);
        if (p == MAP_FAILED)
            return 2;
        s->files[s->nfiles++] = (struct iovec){p, (size_t)st.st_size};
        bytes += st.st_size;
        free(names[i]);
    }
    free(names);
    double cpu0 = cpu_seconds();
    double sec = run_threads(o->clients, files_worker, s, 0);
    printf("{\"cmd\": \"stow-files\", \"instances\": %ld, \"ok\": %ld, \"failed\": %ld, \"lost\": %ld, "
           "\"requests\": %ld, \"seconds\": %.3f, \"bytes\": %lld, \"client_cpu_s\": %.3f}\n",
           atomic_load(&s->stow.sent), atomic_load(&s->stow.ok), atomic_load(&s->stow.failed),
           s->nfiles - atomic_load(&s->stow.sent), atomic_load(&s->stow.requests), sec, bytes, cpu_seconds() - cpu0);
    for (long i = 0; i < s->nfiles; i++)
        munmap(s->files[i].iov_base, s->files[i].iov_len);
    free(s->files);
    return 0;
}

static int cmd_fill(const opts *o, shared *s)
{
    make_template(&s->tmpl);
    atomic_store(&s->next, o->first);
    s->end = o->first + o->count;
    double cpu0 = cpu_seconds();
    double sec = run_threads(o->clients, gen_worker, s, 0);
    printf("{\"cmd\": \"fill\", \"instances\": %ld, \"ok\": %ld, \"failed\": %ld, \"lost\": %ld, \"requests\": %ld, "
           "\"seconds\": %.3f, \"client_cpu_s\": %.3f}\n",
           atomic_load(&s->stow.sent), atomic_load(&s->stow.ok), atomic_load(&s->stow.failed),
           o->count - atomic_load(&s->stow.sent), atomic_load(&s->stow.requests), sec, cpu_seconds() - cpu0);
    return 0;
}

typedef struct any_arg {
    int query; /* 0: a load worker on the shared state, 1: a query worker */
    qarg q;
} any_arg;

static void *any_worker(void *arg)
{
    any_arg *a = arg;
    return a->query ? query_worker(&a->q) : gen_worker(a->q.s);
}

static int cmd_qido(const opts *o, shared *s)
{
    if (o->indexed <= 0) {
        fprintf(stderr, "load_client: qido needs --indexed > 0\n");
        return 2;
    }
    make_template(&s->tmpl);
    atomic_store(&s->next, o->first);
    s->end = 0;
    int n = o->load_clients + o->clients;
    any_arg *args = calloc((size_t)n, sizeof *args);
    for (int i = 0; i < n; i++)
        args[i] = (any_arg){.query = i >= o->load_clients, .q = {s, (unsigned)(i + 1)}};
    double cpu0 = cpu_seconds();
    double sec = run_threads(n, any_worker, args, sizeof *args);
    free(args);
    qsort(s->lat, s->nlat, sizeof *s->lat, cmp_double);
    char pct[3][32];
    const double ps[3] = {0.50, 0.99, 1.0};
    for (int i = 0; i < 3; i++) {
        if (s->nlat == 0) {
            snprintf(pct[i], sizeof pct[i], "null");
            continue;
        }
        size_t k = (size_t)(ps[i] * (double)s->nlat);
        snprintf(pct[i], sizeof pct[i], "%.2f", 1000 * s->lat[k < s->nlat ? k : s->nlat - 1]);
    }
    long ok = atomic_load(&s->stow.ok);
    printf("{\"cmd\": \"qido\", \"queries\": %ld, \"ok\": %ld, \"failed\": %ld, \"p50_ms\": %s, \"p99_ms\": %s, "
           "\"max_ms\": %s, \"seconds\": %.3f, \"stow_under_load\": {\"instances\": %ld, \"ok\": %ld, \"failed\": "
           "%ld, \"per_s\": %.1f}, \"next_first\": %ld, \"client_cpu_s\": %.3f}\n",
           atomic_load(&s->queries), atomic_load(&s->qok), atomic_load(&s->qfailed), pct[0], pct[1], pct[2], sec,
           atomic_load(&s->stow.sent), ok, atomic_load(&s->stow.failed), sec > 0 ? ok / sec : 0.0,
           atomic_load(&s->next), cpu_seconds() - cpu0);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: load_client stow-files|fill|qido http://127.0.0.1:PORT/PATH/dicomWeb [DIR]\n"
                    "  [--clients N] [--load-clients N] [--batch N] [--count N] [--first N] [--indexed N]\n"
                    "  [--seconds S] [--deadline S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    opts o = {.clients = 8, .load_clients = 8, .batch = 10, .count = 1000, .indexed = 1000, .seconds = 20,
              .deadline = 900};
    if (argc < 3)
        return usage();
    o.cmd = argv[1];
    /* http://HOST:PORT/PATH (a numeric IPv4 host: loopback) */
    char host[64] = {0};
    const char *u = argv[2];
    if (strncmp(u, "http://", 7) != 0)
        return usage();
    u += 7;
    const char *colon = strchr(u, ':'), *slash = strchr(u, '/');
    if (colon == NULL || slash == NULL || colon > slash || (size_t)(colon - u) >= sizeof host)
        return usage();
    memcpy(host, u, (size_t)(colon - u));
    o.host = host;
    o.port = atoi(colon + 1);
    o.path = slash;
    int i = 3;
    if (i < argc && argv[i][0] != '-')
        o.dir = argv[i++];
    for (; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--clients"))
            o.clients = atoi(v);
        else if (!strcmp(k, "--load-clients"))
            o.load_clients = atoi(v);
        else if (!strcmp(k, "--batch"))
            o.batch = atoi(v);
        else if (!strcmp(k, "--count"))
            o.count = atol(v);
        else if (!strcmp(k, "--first"))
            o.first = atol(v);
        else if (!strcmp(k, "--indexed"))
            o.indexed = atol(v);
        else if (!strcmp(k, "--seconds"))
            o.seconds = atof(v);
        else if (!strcmp(k, "--deadline"))
            o.deadline = atof(v);
        else
            return usage();
    }
    if (i != argc || o.clients < 1 || o.load_clients < 0 || o.batch < 1 || o.batch > MAX_BATCH || o.count < 0)
        return usage();
    signal(SIGPIPE, SIG_IGN); /* a server that answers early (413) closes; the write then fails, not the process */
    shared s = {.o = &o};
    pthread_mutex_init(&s.mu, NULL);
    s.deadline = now() + o.deadline;
    int rc;
    if (!strcmp(o.cmd, "stow-files") && o.dir)
        rc = cmd_stow_files(&o, &s);
    else if (!strcmp(o.cmd, "fill"))
        rc = cmd_fill(&o, &s);
    else if (!strcmp(o.cmd, "qido")) {
        s.deadline = now() + (o.seconds < o.deadline ? o.seconds : o.deadline);
        rc = cmd_qido(&o, &s);
    } else
        return usage();
    free(s.lat);
    free(s.tmpl.bytes);
    return rc;
}

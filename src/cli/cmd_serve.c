/* `dicomveil serve`: options, the token and TLS files, start the server (src/http, in the server module:
 * src/modules/dv_module.h, loaded here only), wait for SIGTERM/SIGINT, stop gracefully. Signal handling lives
 * here, as everywhere in the CLI: the server itself has none. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "cli_module.h"

#define TOKEN_MAX 4096
#define PEM_MAX (1u << 20)
#define MAX_ROOTS 64

void dvc_serve_usage(FILE *f)
{
    fputs("Usage: dicomveil serve --data DIR [options]\n"
          "\n"
          "Serves a Google Cloud Healthcare API-compatible REST API (v1beta1 and v1 paths): datasets, DICOM stores,\n"
          "DICOMweb STOW-RS / QIDO-RS / WADO-RS, and long-running operations: datasets and dicomStores\n"
          ":deidentify, dicomStores :import / :export, operations get / list / cancel. Stops gracefully on\n"
          "SIGTERM or SIGINT (running operations checkpoint and resume at the next start).\n"
          "\n"
          "  --data DIR              Data directory (index.sqlite, stores/); created when missing (0700).\n"
          "                          It holds PHI: what the server makes in it is private (umask 077)\n"
          "  --index URL             Keep the index in PostgreSQL (postgresql://user@host:port/db?...) instead\n"
          "                          of DATA/index.sqlite, so several servers can share it (their --data must\n"
          "                          then be one shared directory)\n"
          "  --listen ADDR:PORT      Address to listen on (default 127.0.0.1:8080; [::1]:PORT for IPv6;\n"
          "                          port 0 picks a free port). Non-loopback addresses need --token-file\n"
          "  --token-file F          Require 'Authorization: Bearer <token>' on every request; F holds the\n"
          "                          token (16-4096 printable characters, no spaces; a trailing newline is\n"
          "                          ignored)\n"
          "  --tls-cert C --tls-key K  Serve HTTPS with this PEM certificate (chain) and key\n"
          "  --console-dir DIR       The web console's files, served at /console/ (default: the installed\n"
          "                          <bin>/../share/dicomveil/console, else the source tree's console/)\n"
          "  --workers N             No effect, kept so that existing command lines work: every open\n"
          "                          connection has its own request thread (see --max-connections)\n"
          "  --max-body BYTES        Largest STOW body and instance (suffix K, M or G; default 1G)\n"
          "  --max-connections N     Open connections in total (default 256; a quarter of it per client)\n"
          "  --idle-timeout S        Close a connection idle for S seconds (default 30)\n"
          "  --request-timeout S     A request still uploading after S seconds gets 408 (default 600)\n"
          "  --allow-root DIR        A folder whose files a request may name by file:// URI or absolute path\n"
          "                          (gcsConfigUri, filter files, import and export folders); repeatable.\n"
          "                          Without it every file URI is refused\n"
          "  --op-workers N          Threads running operations (default: one per CPU)\n"
          "  --max-filter-files N    Filter files DATA/filters/ may hold (POST /dicomveil/v1/filterFiles; more: 429)\n"
          "                          (default 1000)\n"
          "  --max-filter-bytes BYTES  Their bytes in total (suffix K, M or G; default 256M)\n"
          "  --min-free-disk BYTES   Free space to keep on the file system holding --data: a STOW, :import or\n"
          "                          :deidentify that would leave less gets 507, a running :import or\n"
          "                          :deidentify waits for room (suffix K, M or G; default 1G; 0: no floor)\n"
          "  -h, --help              Show this help and exit\n"
          "  --quiet                 No access log (by default one JSON line per request on stderr,\n"
          "                          naming the route, never the path or query)\n"
          "\n"
          "Each dataset's key (UIDs, date shifts, hashes of its de-identifications) is DATA/keys/<n>.key.\n"
          "Instance files are DATA/stores/<n>/<keyed hash of store and SOPInstanceUID>.dcm (DATA/keys/naming.key).\n"
          "DICOMweb: STOW-RS, QIDO-RS, WADO-RS (retrieve, metadata, frames, rendered, bulkdata), DELETE.\n",
          f);
}

/* The whole file (at most cap bytes) as a NUL-terminated buffer; NULL after printing why. */
static char *read_small_file(const char *path, size_t cap, size_t *len, const char *what)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dvc_errorf("serve: cannot open the %s file (errno %d)", what, errno);
        return NULL;
    }
    char *buf = malloc(cap + 2);
    long n = buf ? dvc_read_up_to(fd, buf, cap + 1) : -1;
    close(fd);
    if (n < 0 || (size_t)n > cap) {
        dvc_errorf("serve: the %s file is unreadable or larger than %zu bytes", what, cap);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* The console's directory when --console-dir is not given: the install layout first (the packages put
 * console/ in <prefix>/share/dicomveil/console next to <prefix>/bin/dicomveil), then the source tree's
 * console/ (a build-tree run). NULL when neither holds an index.html. [test_console.py] */
static const char *find_console_dir(char *buf, size_t cap)
{
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            int w = snprintf(buf, cap, "%s/../share/dicomveil/console/index.html", exe);
            if (w > 0 && (size_t)w < cap && access(buf, R_OK) == 0) {
                buf[strlen(buf) - sizeof "/index.html" + 1] = '\0';
                return buf;
            }
        }
    }
#ifdef DV_CONSOLE_SOURCE_DIR
    snprintf(buf, cap, "%s/index.html", DV_CONSOLE_SOURCE_DIR);
    if (access(buf, R_OK) == 0)
        return DV_CONSOLE_SOURCE_DIR;
#endif
    return NULL;
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || *end || errno || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int dvc_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},       {"listen", required_argument, NULL, 'l'},
        {"token-file", required_argument, NULL, 't'}, {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},    {"workers", required_argument, NULL, 'w'},
        {"max-body", required_argument, NULL, 'b'},   {"max-connections", required_argument, NULL, 'm'},
        {"idle-timeout", required_argument, NULL, 'i'}, {"request-timeout", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},            {"help", no_argument, NULL, 'h'},
        {"allow-root", required_argument, NULL, 'a'}, {"op-workers", required_argument, NULL, 'o'},
        {"index", required_argument, NULL, 'x'},
        {"console-dir", required_argument, NULL, 'C'},
        {"max-filter-files", required_argument, NULL, 'F'}, {"max-filter-bytes", required_argument, NULL, 'B'},
        {"min-free-disk", required_argument, NULL, 'D'},
        {NULL, 0, NULL, 0}};
    dvh_server_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.log = stderr;
    const char *token_file = NULL, *cert_file = NULL, *key_file = NULL;
    const char *roots[MAX_ROOTS];
    size_t nroots = 0;
    unsigned long long v;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': cfg.data_dir = optarg; break;
        case 'x': cfg.index_url = optarg; break;
        case 'l': cfg.listen = optarg; break;
        case 't': token_file = optarg; break;
        case 'c': cert_file = optarg; break;
        case 'k': key_file = optarg; break;
        case 'q': cfg.log = NULL; break;
        case 'C': cfg.console_dir = optarg; break;
        case 'a':
            if (nroots == MAX_ROOTS) {
                dvc_errorf("serve: at most %d --allow-root folders", MAX_ROOTS);
                return DVC_EXIT_USAGE;
            }
            roots[nroots++] = optarg;
            break;
        case 'h': dvc_serve_usage(stdout); return DVC_EXIT_OK;
        case 'D': {
            /* 0 turns the floor off; the server's own 0 means its default, so that is said apart. */
            uint64_t floor;
            if (dvc_parse_bytes(optarg, 0, 1ull << 60, &floor)) {
                dvc_errorf("serve: --min-free-disk: expected a byte count such as 1G (K, M or G; 0: no floor)");
                return DVC_EXIT_USAGE;
            }
            cfg.min_free_disk = floor;
            cfg.min_free_disk_off = floor == 0;
            break;
        }
        case 'b':
        case 'B': {
            /* Byte counts take K, M or G as --min-free-disk and deidentify's byte options do (dvc_parse_bytes). */
            uint64_t bytes;
            if (dvc_parse_bytes(optarg, 1, 1ull << 40, &bytes)) {
                dvc_errorf("serve: --%s: expected a byte count from 1 to 1024G such as 512M (K, M or G)",
                           c == 'b' ? "max-body" : "max-filter-bytes");
                return DVC_EXIT_USAGE;
            }
            if (c == 'b') cfg.max_body = bytes;
            if (c == 'B') cfg.max_filter_bytes = bytes;
            break;
        }
        case 'w':
        case 'o':
        case 'm':
        case 'i':
        case 'r':
        case 'F': {
            unsigned long long max = c == 'w' || c == 'o' ? 256 : 1000000;
            if (parse_num(optarg, max, &v)) {
                dvc_errorf("serve: --%s: expected a whole number from 1 to %llu",
                           c == 'w' ? "workers" : c == 'o' ? "op-workers" : c == 'm' ? "max-connections"
                           : c == 'i' ? "idle-timeout" : c == 'F' ? "max-filter-files" : "request-timeout", max);
                return DVC_EXIT_USAGE;
            }
            if (c == 'F') cfg.max_filter_files = (unsigned)v;
            if (c == 'w') cfg.workers = (unsigned)v;
            if (c == 'o') cfg.op_workers = (unsigned)v;
            if (c == 'm') cfg.max_connections = (unsigned)v;
            if (c == 'i') cfg.idle_timeout_s = (unsigned)v;
            if (c == 'r') cfg.request_timeout_s = (unsigned)v;
            break;
        }
        default:
            /* The offending word is not echoed: it may be a path. */
            dvc_errorf("serve: unknown option or missing argument (try 'dicomveil serve --help')");
            return DVC_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        dvc_errorf("serve: unexpected argument (try 'dicomveil serve --help')");
        return DVC_EXIT_USAGE;
    }
    cfg.allow_roots = roots;
    cfg.nallow_roots = nroots;
    if (cfg.data_dir == NULL) {
        dvc_errorf("serve: --data DIR is required");
        return DVC_EXIT_USAGE;
    }
    if ((cert_file == NULL) != (key_file == NULL)) {
        dvc_errorf("serve: --tls-cert and --tls-key go together");
        return DVC_EXIT_USAGE;
    }
    /* The server's libraries (libmicrohttpd, GnuTLS, SQLite, libpq) are mapped now, not at every start of the
     * binary (docs/decisions.md "Heavy libraries loaded on demand"). */
    char why[512];
    const dv_server_module *srv_mod = dvc_server_module(why, sizeof why);
    if (!srv_mod) {
        dvc_errorf("serve: %s", why);
        return DVC_EXIT_FAILED;
    }
    char console_buf[4096];
    if (cfg.console_dir == NULL)
        cfg.console_dir = find_console_dir(console_buf, sizeof console_buf);
    int rc = DVC_EXIT_USAGE;
    char *token = NULL, *cert = NULL, *key = NULL;
    size_t tlen = 0, n = 0;
    if (token_file) {
        token = read_small_file(token_file, TOKEN_MAX, &tlen, "token");
        if (token == NULL)
            goto out;
        while (tlen && (token[tlen - 1] == '\n' || token[tlen - 1] == '\r'))
            token[--tlen] = '\0';
        int printable = 1;
        for (size_t i = 0; i < tlen; i++)
            if ((unsigned char)token[i] < 0x21 || (unsigned char)token[i] > 0x7e)
                printable = 0;
        if (tlen < 16 || !printable) {
            dvc_errorf("serve: the token must be 16-%d printable characters without spaces", TOKEN_MAX);
            goto out;
        }
        cfg.token = (const uint8_t *)token;
        cfg.token_len = tlen;
    }
    if (cert_file) {
        cert = read_small_file(cert_file, PEM_MAX, &n, "TLS certificate");
        key = cert ? read_small_file(key_file, PEM_MAX, &n, "TLS key") : NULL;
        if (key == NULL)
            goto out;
        cfg.tls_cert_pem = cert;
        cfg.tls_key_pem = key;
    }

    /* Block the stop signals before any thread starts, so only sigwait below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Every STOW part passes through a write buffer of up to 1 MiB (src/store/blobs.c). glibc served those
     * from fresh mmaps and gave them back at free, so each instance paid ~130 page faults on its first touch
     * of the buffer: a third of the server's CPU per 512 KB instance (perf, bench/RESULTS.md "STOW path").
     * Allocations under 4 MiB come from the threads' heaps instead, which keep up to 32 MiB of free top
     * before giving it back: the buffers are reused, not faulted in again. A process setting, so it is made
     * here, by the process that serves, not by the server library. [test_server.py "RSS after the refused
     * uploads"] */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);

    /* Private by default: DATA's index, marks, boxes, filters and locks hold source PHI (patient names, IDs), and
     * a DATA that already existed (mkdir DIR, 0755) left the index 0644, readable by every local user. So the
     * serving process makes every file and folder for its owner alone, before the server creates any; the
     * index files an older server left looser are made 0600 when opened (sqlite_index.c). The one thing made
     * for someone else, an :export folder, keeps the modes the operator's umask gave it. A process setting,
     * so made here like mallopt below, not by the server library. [test_server.py "private DATA files"] */
    mode_t operator_umask = umask(077);
    cfg.export_dir_mode = 0750 & ~(unsigned)operator_umask;
    cfg.export_file_mode = 0640 & ~(unsigned)operator_umask;
    struct stat dst;
    if (stat(cfg.data_dir, &dst) == 0 && S_ISDIR(dst.st_mode) && (dst.st_mode & 0007))
        dvc_errorf("warning: serve: the --data folder is open to other users (mode %04o); the files the server "
                   "makes in it are private, but 'chmod o-rwx' it so nobody else can list it",
                   (unsigned)(dst.st_mode & 07777));

    dv_error err = {0};
    dvh_server *srv = srv_mod->start(&cfg, &err);
    if (key)
        OPENSSL_cleanse(key, strlen(key));
    if (token)
        OPENSSL_cleanse(token, tlen);
    if (srv == NULL) {
        dvc_errorf("serve: %s", err.message);
        rc = err.code == DV_ERR_USAGE ? DVC_EXIT_USAGE : DVC_EXIT_FAILED;
        goto out;
    }
    fprintf(stderr, "{\"event\":\"listening\",\"port\":%u,\"tls\":%s,\"auth\":%s}\n", srv_mod->port(srv),
            cert ? "true" : "false", token ? "true" : "false");
    fflush(stderr);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "{\"event\":\"stopping\",\"signal\":%d}\n", sig);
    fflush(stderr);
    srv_mod->stop(srv);
    fprintf(stderr, "{\"event\":\"stopped\"}\n");
    rc = DVC_EXIT_OK;
out:
    free(token);
    free(cert);
    free(key);
    return rc;
}

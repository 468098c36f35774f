/* A program of a dicomveil user, built by tests/integration/test_install.sh against the INSTALLED library
 * through pkg-config (shared and static): de-identifies one instance with the public API only.
 *
 *   install_client CONFIG.json IN.dcm OUT.dcm   -> prints "dv_version=<X.Y.Z> header=<X.Y.Z> sop=<new UID>"
 *
 * Exit 0 on success, 1 with the error class and message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dicomveil/dicomveil.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: install_client CONFIG.json IN.dcm OUT.dcm\n");
        return 2;
    }
    size_t cfg_len = 0, in_len = 0;
    char *cfg = slurp(argv[1], &cfg_len), *in = slurp(argv[2], &in_len);
    if (!cfg || !in) {
        fprintf(stderr, "install_client: cannot read the inputs\n");
        return 1;
    }
    dv_error err = {0};
    dv_plan *plan = dv_plan_from_json(cfg, cfg_len, &err);
    static const unsigned char key_bytes[32] = "install-client-test-key-32-bytes";
    dv_key *key = plan ? dv_key_new(key_bytes, sizeof key_bytes, &err) : NULL;
    int rc = 1;
    if (key) {
        dv_mem_source ms;
        dv_source src = dv_source_memory(&ms, in, in_len);
        dv_mem_sink mk;
        memset(&mk, 0, sizeof mk);
        dv_sink sink = dv_sink_memory(&mk);
        dv_limits lim;
        dv_limits_default(&lim);
        dv_result res;
        dv_result_init(&res);
        if (dv_deidentify(plan, key, &src, &sink, &lim, &res, &err) == 0) {
            FILE *out = fopen(argv[3], "wb");
            if (out && fwrite(mk.data, 1, mk.len, out) == mk.len && fclose(out) == 0) {
                printf("dv_version=%s header=%s sop=%s\n", dv_version(), DICOMVEIL_VERSION, res.sop_uid);
                rc = 0;
            } else {
                fprintf(stderr, "install_client: cannot write the output\n");
            }
        }
        dv_mem_sink_free(&mk);
    }
    if (rc && err.code != DV_OK)
        fprintf(stderr, "install_client: %s: %s\n", dv_code_name(err.code), err.message);
    dv_key_free(key);
    dv_plan_free(plan);
    free(cfg);
    free(in);
    return rc;
}

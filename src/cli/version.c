/* `dicomveil --version`: the version, the git commit the binary was built from (tools/build_info.cmake;
 * "unknown" outside git, "-dirty" with uncommitted changes) and the version of every library it uses, asked
 * of each library at run time, so a bug report names what actually ran (issue 10 item 4). libjpeg-turbo has no
 * run-time version call: its compile-time version is printed and marked so. The libraries loaded on demand
 * (docs/decisions.md "Heavy libraries loaded on demand") are loaded here to be asked: Tesseract and Leptonica
 * through src/image/ocr_lazy.c, libmicrohttpd, SQLite and libpq through the server module; "unavailable" when
 * one cannot be loaded. [test_cli_errors.sh "--version names"] */
#include <stdio.h>
#include <string.h>

#include <charls/charls.h>
#include <jansson.h>
#include <leptonica/allheaders.h>
#include <openjpeg.h>
#include <openssl/crypto.h>
#include <tesseract/capi.h>
#include <zlib.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
/* jpeglib.h needs stdio.h first; jconfig.h (which it includes) defines LIBJPEG_TURBO_VERSION. */
#include <jpeglib.h>

#include "cli.h"
#include "cli_module.h"
#include "dv_build_info.h"

#define DVC_STR_(x) #x
#define DVC_STR(x) DVC_STR_(x)

void dvc_print_version(FILE *f)
{
    fprintf(f, "dicomveil %s\n", dv_version());
    fprintf(f, "commit %s\n", DV_GIT_COMMIT);
    fputs("libraries:\n", f);
    fprintf(f, "  zlib %s\n", zlibVersion());
    fprintf(f, "  OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    fprintf(f, "  jansson %s\n", jansson_version_str());
    char pcre[64] = "";
    if (pcre2_config(PCRE2_CONFIG_VERSION, pcre) < 0)
        pcre[0] = '\0';
    fprintf(f, "  PCRE2 %s\n", pcre[0] ? pcre : "unknown");
#ifdef LIBJPEG_TURBO_VERSION
    fprintf(f, "  libjpeg-turbo %s (compile time)\n", DVC_STR(LIBJPEG_TURBO_VERSION));
#else
    fprintf(f, "  libjpeg %d (compile time)\n", JPEG_LIB_VERSION);
#endif
    fprintf(f, "  OpenJPEG %s\n", opj_version());
    fprintf(f, "  CharLS %s\n", charls_get_version_string());
    fprintf(f, "  Tesseract %s\n", TessVersion());
    char *lept = getLeptonicaVersion(); /* "leptonica-1.82.0", ours to free */
    const char *lv = lept ? lept : "unknown";
    if (strncmp(lv, "leptonica-", 10) == 0)
        lv += 10;
    fprintf(f, "  Leptonica %s\n", lv);
    lept_free(lept);
    char why[512];
    const dv_server_module *srv = dvc_server_module(why, sizeof why);
    if (srv) {
        fprintf(f, "  libmicrohttpd %s\n", srv->mhd_version());
        fprintf(f, "  SQLite %s\n", srv->sqlite_version());
        int pq = srv->pq_version(); /* major * 10000 + minor since PostgreSQL 10 */
        fprintf(f, "  PostgreSQL %d.%d (libpq)\n", pq / 10000, pq % 10000);
    } else {
        fprintf(f, "  libmicrohttpd, SQLite, PostgreSQL (libpq): unavailable (%s)\n", why);
    }
}

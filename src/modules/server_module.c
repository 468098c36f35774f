/* server.so: `dicomveil serve`'s HTTP service as an internal module (src/modules/dv_module.h), so that only
 * `serve` (and --version) maps libmicrohttpd, GnuTLS, SQLite and libpq. The service itself is src/http; this
 * file is its one exported entry point. [test_cli_lazy_libs.sh "serve"] */
#include <libpq-fe.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "dicomveil/dicomveil.h"
#include "modules/dv_module.h"

static const char *mhd_version(void)
{
    return MHD_get_version();
}

static const char *sqlite_version(void)
{
    return sqlite3_libversion();
}

static int pq_version(void)
{
    return PQlibVersion();
}

static const dv_server_module table = {
    .head = {.abi = DV_MODULE_ABI, .version = DICOMVEIL_VERSION, .table_size = sizeof(dv_server_module)},
    .config_size = sizeof(dvh_server_config),
    .start = dvh_server_start,
    .port = dvh_server_port,
    .stop = dvh_server_stop,
    .mhd_version = mhd_version,
    .sqlite_version = sqlite_version,
    .pq_version = pq_version,
};

__attribute__((visibility("default"))) const dv_server_module *dv_module_server(void)
{
    return &table;
}

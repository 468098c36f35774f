/* Finding and loading an internal module (src/modules/dv_module.h; docs/decisions.md "Heavy libraries loaded on
 * demand"). A module is looked for next to the running binary only (/proc/self/exe), never relative to the
 * working directory or along a search path, so what runs is what was installed with the binary:
 *   <dir of the binary>/DV_MODULE_RELDIR    the install layout (/usr/bin/dicomveil -> /usr/lib/dicomveil/)
 *   <dir of the binary>/lib/dicomveil       the build tree (build/dicomveil -> build/lib/dicomveil/)
 * The first of them holding the file is used; a file that is there but cannot be loaded is an error, not a
 * reason to try the next. DV_MODULE_DIR (read with secure_getenv, so never in a set-id process) replaces both,
 * for tests (docs/decisions.md). Modules are never unloaded. [test_cli_lazy_libs.sh "server module missing"] */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_module.h"
#include "dicomveil/dicomveil.h"

#ifndef DV_MODULE_RELDIR
#define DV_MODULE_RELDIR "../lib/dicomveil"
#endif

/* The loaded tables: one per module and process (src/cli may keep process state; see cli.h). */
static const dv_server_module *server_table;
static const dv_mpi_module *mpi_table;

/* dir/file into path when the file exists. 1 when it does, 0 when not (or the path is too long). */
static int candidate(char *path, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(path, cap, "%s/%s", dir, file);
    return n > 0 && (size_t)n < cap && access(path, F_OK) == 0;
}

/* The module file's path into path: 0, or -1 with why. */
static int find(const char *file, char *path, size_t cap, char *why, size_t wcap)
{
    const char *env = secure_getenv("DV_MODULE_DIR");
    if (env && *env) {
        if (candidate(path, cap, env, file))
            return 0;
        snprintf(why, wcap, "the module %s is not in DV_MODULE_DIR", file);
        return -1;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (!slash) {
        snprintf(why, wcap, "the module %s cannot be found: the binary's own path is unknown", file);
        return -1;
    }
    *slash = '\0';
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", exe, DV_MODULE_RELDIR);
    if (candidate(path, cap, dir, file))
        return 0;
    snprintf(dir, sizeof dir, "%s/lib/dicomveil", exe);
    if (candidate(path, cap, dir, file))
        return 0;
    snprintf(why, wcap, "the module %s is not installed (looked in <bin>/%s and <bin>/lib/dicomveil)", file,
             DV_MODULE_RELDIR);
    return -1;
}

/* Load file, call its entry point, check the table's head. The table, or NULL with why. */
static const void *load(const char *file, const char *entry, int global, size_t table_size, char *why,
                        size_t wcap)
{
    char path[4352];
    if (find(file, path, sizeof path, why, wcap) != 0)
        return NULL;
    void *h = dlopen(path, RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL));
    if (!h) {
        const char *e = dlerror();
        snprintf(why, wcap, "the module %s cannot be loaded: %s", file, e ? e : "unknown error");
        return NULL;
    }
    const void *(*fn)(void) = (const void *(*)(void))dlsym(h, entry);
    const dv_module_head *head = fn ? fn() : NULL;
    if (!head) {
        snprintf(why, wcap, "the module %s has no entry point %s", file, entry);
        return NULL;
    }
    if (head->abi != DV_MODULE_ABI || !head->version || strcmp(head->version, DICOMVEIL_VERSION) != 0 ||
        head->table_size != table_size) {
        snprintf(why, wcap, "the module %s is of another dicomveil build (%s, ABI %d; this is %s, ABI %d)", file,
                 head->version ? head->version : "?", head->abi, DICOMVEIL_VERSION, DV_MODULE_ABI);
        return NULL;
    }
    return head;
}

const dv_server_module *dvc_server_module(char *why, size_t cap)
{
    if (!server_table) {
        const dv_server_module *t = load("server.so", "dv_module_server", 0, sizeof *t, why, cap);
        if (t && t->config_size != sizeof(dvh_server_config)) {
            snprintf(why, cap, "the module server.so is of another dicomveil build (its server configuration differs)");
            t = NULL;
        }
        server_table = t;
    }
    return server_table;
}

const dv_mpi_module *dvc_mpi_module(char *why, size_t cap)
{
    if (!mpi_table)
        mpi_table = load("mpi.so", "dv_module_mpi", 1, sizeof *mpi_table, why, cap);
    return mpi_table;
}

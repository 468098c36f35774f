/* dv_lazy_lib_load (dv_lazy_lib.h; docs/decisions.md "Heavy libraries loaded on demand"). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/dv_lazy_lib.h"

void dv_lazy_lib_load(dv_lazy_lib *l)
{
    /* secure_getenv: a set-id process never loads a file its caller named. */
    const char *other = l->env ? secure_getenv(l->env) : NULL;
    int named = other && *other;
    void *lib = dlopen(named ? other : l->soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        if (named)
            snprintf(l->why, sizeof l->why, "%s unavailable: the library named by %s cannot be loaded", l->label,
                     l->env);
        else
            snprintf(l->why, sizeof l->why, "%s unavailable: %s cannot be loaded (Debian package %s)", l->label,
                     l->soname, l->package);
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (!(l->fns[i] = dlsym(lib, l->names[i]))) {
            snprintf(l->why, sizeof l->why, "%s unavailable: %s has no %s", l->label,
                     named ? "the library it loaded" : l->soname, l->names[i]);
            return;
        }
    }
    l->ok = 1;
}

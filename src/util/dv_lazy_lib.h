/* A shared library loaded on first use instead of linked (docs/decisions.md "Heavy libraries loaded on
 * demand"): src/image/ocr_lazy.c (Tesseract) and src/image/jpegls_lazy.c (CharLS) define the library functions
 * the code calls, each forwarding to the address dv_lazy_lib_load found. */
#ifndef DV_LAZY_LIB_H
#define DV_LAZY_LIB_H

#include <stddef.h>

typedef struct dv_lazy_lib {
    const char *soname;       /* the library the build linked against (a generated SONAME, never a guess) */
    const char *env;          /* an environment variable naming another file to load instead (tests), or NULL */
    const char *label;        /* what it is, for messages: "OCR engine" */
    const char *package;      /* the Debian package that ships it, for messages */
    const char *const *names; /* the functions to look up, n of them */
    size_t n;
    void **fns;               /* out: their addresses, in the order of names */
    int ok;                   /* out: 1 when the library and every function were found */
    char why[256];            /* out: when !ok, "<label> unavailable: ..." naming the library, never a path of ours */
} dv_lazy_lib;

/* dlopen the library (RTLD_NOW | RTLD_LOCAL: its symbols stay out of the global scope) and look up every name
 * through its handle (which also searches the libraries it needs). Not thread safe: call it once, under the
 * caller's pthread_once. The library is never unloaded. */
void dv_lazy_lib_load(dv_lazy_lib *l);

#endif

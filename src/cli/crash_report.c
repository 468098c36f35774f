/* A crash's report, now that no core file is written (no_core.c: a core copies the patient's values). On a fault
 * (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT from a failed check, SIGSYS) stderr gets one line naming the signal
 * and the version, then the call stack as module(+offset) addresses (backtrace_symbols_fd), which addr2line or
 * gdb on the same build turns into source lines: addresses only, no memory, so nothing of an instance and no
 * path but the program's own. Then the signal is raised again with its default action: the exit status still
 * says which signal, and where DV_CORE_DUMPS=1 allowed a core it is still written.
 * Every thread has an alternate stack for it (dv_thread_altstack.h, stop 55): the threads dicomveil starts set
 * theirs, serve's connection threads get theirs on their first request. Limit (stop 54's review): a fault while
 * the dynamic loader holds its lock (inside dlopen) may hang in backtrace, which an alarm set first
 * then ends (the process dies by SIGALRM, after 10 s), printing nothing of an instance either.
 * A sanitizer build installs nothing: ASan and UBSan print their own, fuller reports. */
#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dicomveil/dicomveil.h"
#include "util/dv_sanitized.h"
#include "util/dv_thread_altstack.h"

#ifndef DV_SANITIZED
#define FRAMES_MAX 64

static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "SIGSYS";
    }
}

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_fault(int sig)
{
    /* Only async-signal-safe calls (write, alarm; backtrace once its library is loaded, which install did). */
    alarm(10); /* should backtrace hang (a fault inside the loader's lock), SIGALRM ends the process anyway */
    say("dicomveil: fatal signal ");
    say(signal_name(sig));
    say(" in dicomveil " DICOMVEIL_VERSION " (a bug: please report it with these lines). Call stack:\n");
    void *frames[FRAMES_MAX];
    int n = backtrace(frames, FRAMES_MAX);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    raise(sig); /* SA_RESETHAND restored the default action: it ends the process once this returns */
}

void dvc_crash_report_install(void)
{
    void *warm[1];
    (void)backtrace(warm, 1); /* loads libgcc's unwinder now: inside the handler it would allocate */
    /* The main thread's own stack for the handler, so an overflowed stack still gets its report; kept for the
     * process's life. The threads dicomveil starts set theirs (dv_thread_altstack.h). */
    (void)dv_thread_altstack_enter();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
    for (size_t i = 0; i < sizeof fault_signals / sizeof fault_signals[0]; i++)
        (void)sigaction(fault_signals[i], &sa, NULL);
}
#else
void dvc_crash_report_install(void)
{
}
#endif

/* dicomveil CLI: reading and compiling the config (deidentify and inspect load it the same way, so a config
 * refused by one is refused by the other with the same message). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Read and compile the config. The config path is not PHI and is named in messages. */
dv_plan *dvc_plan_load(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        dvc_errorf("config %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(DV_CONFIG_MAX_BYTES + 1);
    if (!buf) {
        close(fd);
        dvc_errorf("out of memory");
        return NULL;
    }
    long len = dvc_read_up_to(fd, buf, DV_CONFIG_MAX_BYTES + 1); /* one more, to tell "too big" */
    int e = errno;
    close(fd);
    dv_plan *plan = NULL;
    if (len < 0) {
        dvc_errorf("config %s: %s", path, strerror(e));
    } else if (len > (long)DV_CONFIG_MAX_BYTES) {
        dvc_errorf("config %s: larger than the 1 MiB limit", path);
    } else {
        dv_error err;
        dv_error_clear(&err);
        plan = dv_plan_from_json(buf, (size_t)len, &err);
        if (!plan)
            dvc_errorf("config %s: %s", path, err.message[0] ? err.message : "invalid");
        for (size_t i = 0; i < dv_plan_warning_count(plan); i++) /* parts accepted without effect */
            dvc_errorf("warning: config %s: %s", path, dv_plan_warning(plan, i));
    }
    free(buf);
    return plan;
}


/* GET /dicomveil/v1/redactionBoxes?operation=<operation name>&instance=/studies/…/series/…/instances/…
 * (ext_endpoints.h): the boxes a de-identify operation's pixel stage painted on one OUTPUT instance, as
 * op_runner recorded them (op_boxes.h). The operation name goes through the router's checks and the instance
 * path through the filter-file parser (UIDs only), so nothing a client sends reaches a file name: the record
 * is named by the row id and a hash. 404 when the operation does not exist or recorded nothing for that
 * instance (its config cleans no pixels of it). [test_server_boxes.py; test_console.py "redaction boxes"] */
#include "http/op_boxes.h"
#include "http/server_internal.h"

int dvh_ext_redaction_boxes(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    const char *name = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "operation");
    const char *inst = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "instance");
    int64_t op_id = 0;
    char key[DVH_EXT_INSTANCE_KEY_MAX];
    if (dvh_ext_operation(rq, name, &op_id, e) || dvh_ext_instance_key(inst, "instance", key, e))
        return -1;
    json_t *rec = NULL;
    dv_error err = {0};
    int rc = dvh_boxes_load(rq->srv->data_fd, op_id, key, &rec, &err);
    if (rc < 0)
        return dvh_fail(e, DVH_INTERNAL, "%s", err.message);
    if (rc == 0)
        return dvh_fail(e, DVH_NOT_FOUND, "no redaction record for this instance in this operation");
    *resp = dvh_response_json(rec);
    *status = 200;
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}

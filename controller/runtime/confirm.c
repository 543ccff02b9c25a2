/*
 * ngx-gateway: asking our nginx module which configuration generation is
 * live (the "generation" of its report).
 */

#include <stdint.h>
#include <cjson/cJSON.h>

#include "runtime/runtime.h"


int
gw_runtime_query(const char *state_dir, uint64_t *generation, gw_err_t *err)
{
    cJSON        *report;
    const cJSON  *gen;

    if (gw_runtime_report(state_dir, &report, err) != GW_OK) {
        return GW_ERR;
    }

    gen = cJSON_GetObjectItemCaseSensitive(report, "generation");

    if (!cJSON_IsNumber(gen) || gen->valuedouble < 0) {
        cJSON_Delete(report);
        gw_err_set(err, "status of %s: the report has no generation",
                   state_dir);
        return GW_ERR;
    }

    *generation = (uint64_t) gen->valuedouble;
    cJSON_Delete(report);

    return GW_OK;
}

/*
 * ngx-gateway: asking our nginx module which configuration generation is
 * live, over its unix socket (libcurl).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>

#include "core/gw_buf.h"
#include "render/render.h"
#include "runtime/runtime.h"


static size_t
gw_curl_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    gw_buf_append(userdata, ptr, size * nmemb);

    return size * nmemb;
}


int
gw_runtime_query(const char *state_dir, uint64_t *generation, gw_err_t *err)
{
    int          rc;
    char         sock[4096];
    CURL        *curl;
    cJSON       *json;
    gw_buf_t     body;
    CURLcode     code;
    long         status;
    const cJSON  *gen;

    snprintf(sock, sizeof(sock), "%s/" GW_FILE_STATUS_SOCK, state_dir);

    curl = curl_easy_init();
    if (curl == NULL) {
        gw_err_set(err, "curl_easy_init failed");
        return GW_ERR;
    }

    gw_buf_init(&body);
    json = NULL;
    rc = GW_ERR;

    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(curl, CURLOPT_URL, "http://localhost/");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, gw_curl_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);

    code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
        gw_err_set(err, "status socket %s: %s", sock,
                   curl_easy_strerror(code));
        goto out;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    json = body.data ? cJSON_Parse(body.data) : NULL;
    gen = json ? cJSON_GetObjectItemCaseSensitive(json, "generation") : NULL;

    if (status != 200 || !cJSON_IsNumber(gen)) {
        gw_err_set(err, "status socket %s: unexpected answer (HTTP %ld)",
                   sock, status);
        goto out;
    }

    *generation = (uint64_t) gen->valuedouble;
    rc = GW_OK;

out:

    cJSON_Delete(json);
    gw_buf_free(&body);
    curl_easy_cleanup(curl);

    return rc;
}

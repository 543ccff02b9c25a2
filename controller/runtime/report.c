/*
 * ngx-gateway: the report of our nginx module (its JSON status document,
 * described in nginx-module/ngx_http_gateway_report.c), fetched over its
 * unix socket with libcurl.
 */

#include <stdio.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>

#include "core/gw_buf.h"
#include "render/render.h"
#include "runtime/runtime.h"

/* nginx answers from memory: a second means it is not answering */
#define GW_REPORT_TIMEOUT_MS  1000L


static size_t
gw_report_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    gw_buf_append(userdata, ptr, size * nmemb);

    return size * nmemb;
}


int
gw_runtime_report(const char *state_dir, cJSON **report, gw_err_t *err)
{
    int        rc;
    long       status;
    char       sock[4096];
    CURL      *curl;
    cJSON     *json;
    gw_buf_t   body;
    CURLcode   code;

    *report = NULL;

    snprintf(sock, sizeof(sock), "%s/" GW_FILE_STATUS_SOCK, state_dir);

    curl = curl_easy_init();
    if (curl == NULL) {
        gw_err_set(err, "curl_easy_init failed");
        return GW_ERR;
    }

    gw_buf_init(&body);
    json = NULL;
    status = 0;
    rc = GW_ERR;

    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(curl, CURLOPT_URL, "http://localhost/");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, GW_REPORT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, gw_report_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);

    code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
        gw_err_set(err, "status socket %s: %s", sock,
                   curl_easy_strerror(code));
        goto out;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    if (status == 200 && body.data != NULL) {
        json = cJSON_ParseWithLength(body.data, body.len);
    }

    if (!cJSON_IsObject(json)) {
        gw_err_set(err, "status socket %s: unexpected answer (HTTP %ld%s)",
                   sock, status,
                   status == 200 ? ", not a JSON object" : "");
        goto out;
    }

    *report = json;
    json = NULL;
    rc = GW_OK;

out:

    cJSON_Delete(json);
    gw_buf_free(&body);
    curl_easy_cleanup(curl);

    return rc;
}

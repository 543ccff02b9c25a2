
/*
 * ngx_http_gateway_match_module: the answer to a request no candidate
 * matches, in a dispatcher location and in a location of its own:
 *
 *   gateway_match_none;            location: the content handler; answers
 *                                  as a dispatcher none of whose
 *                                  candidates matches
 *   gateway_match_grpc_status <code> "<message>";
 *                                  http, server, location: a gRPC call
 *                                  that no candidate matches gets this
 *                                  gRPC status instead of
 *                                  gateway_match_status
 *
 * A gRPC call is an HTTP/2 request whose Content-Type is application/grpc
 * or application/grpc+<codec>.  Its answer is gRPC's Trailers-Only
 * response: one HEADERS frame that ends the stream, with :status 200,
 * content-type application/grpc, grpc-status and grpc-message.  The
 * call's body is discarded first (an HTTP/2 stream's DATA is skipped), so
 * that a call with a message ends as cleanly as one without.  Any other
 * request gets gateway_match_status (404) as before.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gateway_match.h"


static ngx_int_t ngx_http_gateway_match_grpc_call(ngx_http_request_t *r);
static ngx_int_t ngx_http_gateway_match_none_handler(ngx_http_request_t *r);


ngx_int_t
ngx_http_gateway_match_none(ngx_http_request_t *r,
    ngx_http_gateway_match_loc_conf_t *gmlcf)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    if (gmlcf->grpc_status == NGX_CONF_UNSET_UINT
        || !ngx_http_gateway_match_grpc_call(r))
    {
        return gmlcf->status;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "application/grpc");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = -1;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "grpc-status");
    h->value.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    h->value.len = ngx_sprintf(h->value.data, "%ui", gmlcf->grpc_status)
                   - h->value.data;

    if (gmlcf->grpc_message.len) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "grpc-message");
        h->value = gmlcf->grpc_message;
    }

    r->header_only = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gateway match: none, grpc-status %ui",
                   gmlcf->grpc_status);

    return ngx_http_send_header(r);
}


/* 1: an HTTP/2 request with Content-Type application/grpc[+codec] */

static ngx_int_t
ngx_http_gateway_match_grpc_call(ngx_http_request_t *r)
{
#if (NGX_HTTP_V2)
    size_t      n;
    ngx_str_t  *ct;

    if (r->stream == NULL || r->headers_in.content_type == NULL) {
        return 0;
    }

    ct = &r->headers_in.content_type->value;
    n = sizeof("application/grpc") - 1;

    if (ct->len < n
        || ngx_strncasecmp(ct->data, (u_char *) "application/grpc", n) != 0)
    {
        return 0;
    }

    return ct->len == n || ct->data[n] == '+' || ct->data[n] == ';';
#else
    return 0;
#endif
}


static ngx_int_t
ngx_http_gateway_match_none_handler(ngx_http_request_t *r)
{
    ngx_http_gateway_match_loc_conf_t  *gmlcf;

    gmlcf = ngx_http_get_module_loc_conf(r, ngx_http_gateway_match_module);

    return ngx_http_gateway_match_none(r, gmlcf);
}


char *
ngx_http_gateway_match_none_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    (void) cmd;
    (void) conf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "conflicts with another content handler";
    }

    clcf->handler = ngx_http_gateway_match_none_handler;

    return NGX_CONF_OK;
}


char *
ngx_http_gateway_match_grpc_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gateway_match_loc_conf_t *gmlcf = conf;

    u_char     *p;
    ngx_int_t   n;
    ngx_str_t  *value;

    if (gmlcf->grpc_status != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n < 1 || n > 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be a gRPC status code from 1 to 16",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    /* written as is: printable ASCII, no '%' (grpc-message's escape) */

    for (p = value[2].data; p < value[2].data + value[2].len; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '%') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid message in \"%V\" directive, "
                               "it must be printable ASCII without '%%'",
                               &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    gmlcf->grpc_status = n;
    gmlcf->grpc_message = value[2];

    return NGX_CONF_OK;
}

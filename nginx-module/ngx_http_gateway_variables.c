
/*
 * ngx_http_gateway_module: the Gateway API names of a request as
 * variables, for the access log:
 *
 *   $gateway           NS/NAME of the Gateway   (gateway_server_tag)
 *   $gateway_listener  its listener
 *   $gateway_route     NS/NAME of the route     (gateway_route_tag)
 *   $gateway_rule      the rule index
 *   $gateway_backend   NS/SVC:PORT of the backend (gateway_backend_tag)
 *
 * An untagged server, location or upstream gives an empty value.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gateway_module.h"


/* data: the kind of tag in the high byte, the field index in the low */
#define NGX_HTTP_GATEWAY_VAR(kind, field)  (((kind) << 8) | (field))


static ngx_int_t ngx_http_gateway_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_gateway_vars[] = {

    { ngx_string("gateway"), NULL, ngx_http_gateway_variable,
      NGX_HTTP_GATEWAY_VAR(NGX_HTTP_GATEWAY_SERVER, 0),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gateway_listener"), NULL, ngx_http_gateway_variable,
      NGX_HTTP_GATEWAY_VAR(NGX_HTTP_GATEWAY_SERVER, 1),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gateway_route"), NULL, ngx_http_gateway_variable,
      NGX_HTTP_GATEWAY_VAR(NGX_HTTP_GATEWAY_ROUTE, 0),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gateway_rule"), NULL, ngx_http_gateway_variable,
      NGX_HTTP_GATEWAY_VAR(NGX_HTTP_GATEWAY_ROUTE, 1),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gateway_backend"), NULL, ngx_http_gateway_variable,
      NGX_HTTP_GATEWAY_VAR(NGX_HTTP_GATEWAY_UPSTREAM, 0),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_gateway_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_gateway_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* The tag of that kind which applies to the request, or NULL. */
static ngx_http_gateway_tag_t *
ngx_http_gateway_request_tag(ngx_http_request_t *r, ngx_uint_t kind)
{
    ngx_http_upstream_t          *u;
    ngx_http_gateway_srv_conf_t  *gscf;
    ngx_http_gateway_loc_conf_t  *glcf;

    switch (kind) {

    case NGX_HTTP_GATEWAY_SERVER:
        gscf = ngx_http_get_module_srv_conf(r, ngx_http_gateway_module);
        return gscf->tag;

    case NGX_HTTP_GATEWAY_ROUTE:
        glcf = ngx_http_get_module_loc_conf(r, ngx_http_gateway_module);
        return glcf->tag;

    default: /* NGX_HTTP_GATEWAY_UPSTREAM */
        u = r->upstream;
        if (u == NULL || u->upstream == NULL || u->upstream->srv_conf == NULL)
        {
            return NULL;
        }

        gscf = ngx_http_conf_upstream_srv_conf(u->upstream,
                                               ngx_http_gateway_module);
        return gscf->tag;
    }
}


static ngx_int_t
ngx_http_gateway_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p, *end;
    ngx_uint_t               field;
    ngx_http_gateway_tag_t  *tag;

    tag = ngx_http_gateway_request_tag(r, data >> 8);
    field = data & 0xff;

    v->len = 0;
    v->data = (u_char *) "";
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    if (tag == NULL) {
        return NGX_OK;
    }

    /* the key is the kind byte, then each value followed by '\0' */
    p = tag->key.data + 1;
    end = tag->key.data + tag->key.len;

    while (field-- > 0 && p < end) {
        p = ngx_strlchr(p, end, '\0');
        if (p == NULL) {
            return NGX_OK;
        }
        p++;
    }

    if (p >= end) {
        return NGX_OK;
    }

    v->data = p;
    v->len = ngx_strlen(p);

    return NGX_OK;
}


/*
 * ngx_stream_gateway_preface_module: tells HTTP/2 with prior knowledge
 * (h2c, what gRPC clients send on a plain-text port) from anything else
 * before the connection is proxied, so one port can carry HTTP/1.1 and
 * h2c: nginx 1.22's "listen ... http2" speaks HTTP/2 only.
 *
 *   gateway_preface on|off;        stream server: read the client's first
 *                                  bytes in the preread phase (off)
 *   $gateway_preface               "h2" when they are the HTTP/2 client
 *                                  connection preface (RFC 9113, 3.4),
 *                                  "http1" otherwise
 *
 * Like ssl_preread, the handler looks at what the preread phase has
 * buffered and decides as soon as it can: on the first byte that differs
 * from the preface ("http1"), or when all 24 bytes of it are there
 * ("h2").  A client that stops inside the preface waits for more until
 * preread_timeout, when the phase closes the session, as it does for
 * ssl_preread.  Nothing is consumed: the buffered bytes go to the
 * upstream.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>


#define NGX_STREAM_GATEWAY_PREFACE      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define NGX_STREAM_GATEWAY_PREFACE_LEN  (sizeof(NGX_STREAM_GATEWAY_PREFACE) \
                                         - 1)


typedef struct {
    ngx_flag_t      enabled;
} ngx_stream_gateway_preface_srv_conf_t;


typedef struct {
    ngx_uint_t      h2;         /* unsigned  h2:1; */
} ngx_stream_gateway_preface_ctx_t;


static ngx_int_t ngx_stream_gateway_preface_handler(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_gateway_preface_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_stream_gateway_preface_add_variables(ngx_conf_t *cf);
static void *ngx_stream_gateway_preface_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_gateway_preface_merge_srv_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_stream_gateway_preface_init(ngx_conf_t *cf);


static ngx_command_t  ngx_stream_gateway_preface_commands[] = {

    { ngx_string("gateway_preface"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_gateway_preface_srv_conf_t, enabled),
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_gateway_preface_module_ctx = {
    ngx_stream_gateway_preface_add_variables,  /* preconfiguration */
    ngx_stream_gateway_preface_init,           /* postconfiguration */

    NULL,                                      /* create main configuration */
    NULL,                                      /* init main configuration */

    ngx_stream_gateway_preface_create_srv_conf, /* create server config */
    ngx_stream_gateway_preface_merge_srv_conf   /* merge server config */
};


ngx_module_t  ngx_stream_gateway_preface_module = {
    NGX_MODULE_V1,
    &ngx_stream_gateway_preface_module_ctx,    /* module context */
    ngx_stream_gateway_preface_commands,       /* module directives */
    NGX_STREAM_MODULE,                         /* module type */
    NULL,                                      /* init master */
    NULL,                                      /* init module */
    NULL,                                      /* init process */
    NULL,                                      /* init thread */
    NULL,                                      /* exit thread */
    NULL,                                      /* exit process */
    NULL,                                      /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_stream_variable_t  ngx_stream_gateway_preface_vars[] = {

    { ngx_string("gateway_preface"), NULL,
      ngx_stream_gateway_preface_variable, 0, 0, 0 },

      ngx_stream_null_variable
};


static ngx_int_t
ngx_stream_gateway_preface_handler(ngx_stream_session_t *s)
{
    size_t                                  n;
    ngx_connection_t                       *c;
    ngx_stream_gateway_preface_ctx_t       *ctx;
    ngx_stream_gateway_preface_srv_conf_t  *gpcf;

    c = s->connection;

    gpcf = ngx_stream_get_module_srv_conf(s,
                                          ngx_stream_gateway_preface_module);

    if (!gpcf->enabled || c->type != SOCK_STREAM) {
        return NGX_DECLINED;
    }

    if (c->buffer == NULL) {
        return NGX_AGAIN;
    }

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_gateway_preface_module);
    if (ctx == NULL) {
        ctx = ngx_pcalloc(c->pool, sizeof(ngx_stream_gateway_preface_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_stream_set_ctx(s, ctx, ngx_stream_gateway_preface_module);
    }

    n = c->buffer->last - c->buffer->pos;
    if (n > NGX_STREAM_GATEWAY_PREFACE_LEN) {
        n = NGX_STREAM_GATEWAY_PREFACE_LEN;
    }

    if (ngx_memcmp(c->buffer->pos, NGX_STREAM_GATEWAY_PREFACE, n) != 0) {
        ngx_log_debug0(NGX_LOG_DEBUG_STREAM, c->log, 0,
                       "gateway preface: http1");
        return NGX_OK;
    }

    if (n < NGX_STREAM_GATEWAY_PREFACE_LEN) {
        return NGX_AGAIN;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_STREAM, c->log, 0, "gateway preface: h2");

    ctx->h2 = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_gateway_preface_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data)
{
    ngx_stream_gateway_preface_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_gateway_preface_module);

    if (ctx != NULL && ctx->h2) {
        v->data = (u_char *) "h2";
        v->len = sizeof("h2") - 1;

    } else {
        v->data = (u_char *) "http1";
        v->len = sizeof("http1") - 1;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_gateway_preface_add_variables(ngx_conf_t *cf)
{
    ngx_stream_variable_t  *var, *v;

    for (v = ngx_stream_gateway_preface_vars; v->name.len; v++) {
        var = ngx_stream_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_stream_gateway_preface_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_gateway_preface_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_stream_gateway_preface_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enabled = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_stream_gateway_preface_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_stream_gateway_preface_srv_conf_t *prev = parent;
    ngx_stream_gateway_preface_srv_conf_t *conf = child;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_stream_gateway_preface_init(ngx_conf_t *cf)
{
    ngx_stream_handler_pt        *h;
    ngx_stream_core_main_conf_t  *cmcf;

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_PREREAD_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_stream_gateway_preface_handler;

    return NGX_OK;
}

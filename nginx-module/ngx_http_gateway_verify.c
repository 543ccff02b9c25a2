
/*
 * ngx_http_gateway_verify_module: checks a TLS backend's certificate
 * against a list of subject alternative names (BackendTLSPolicy
 * subjectAltNames), which proxy_ssl_verify cannot do: it checks the
 * certificate against proxy_ssl_name, the name also sent as SNI.
 *
 *   gateway_upstream_verify <CA file> <san> ...;
 *                       location: the backend's chain must lead to a
 *                       certificate of the CA file, and its certificate
 *                       carry one of the names: "dns:<hostname>" (a DNS
 *                       name, wildcards as TLS matches them) or
 *                       "uri:<uri>" (a URI name, exactly)
 *
 * The location must proxy over TLS (proxy_pass https://...) with
 * TLS settings of its own and proxy_ssl_verify off.  nginx builds the SSL
 * context of a location when the proxy module merges its configuration;
 * a dynamic module merges after every static one, so here that context
 * exists, and the directive adds to it the CA, SSL_VERIFY_PEER and a
 * certificate verification callback: chain, then names.  A backend that
 * fails either fails the handshake, and nginx answers 502.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>


#define NGX_HTTP_GATEWAY_SAN_DNS  0
#define NGX_HTTP_GATEWAY_SAN_URI  1

/* as proxy_ssl_verify_depth in the controller's rule.tmpl */
#define NGX_HTTP_GATEWAY_VERIFY_DEPTH  8


typedef struct {
    ngx_uint_t   type;
    ngx_str_t    value;
} ngx_http_gateway_san_t;


typedef struct {
    ngx_str_t     ca;
    ngx_array_t  *sans;                /* ngx_http_gateway_san_t */
} ngx_http_gateway_verify_loc_conf_t;


extern ngx_module_t  ngx_http_proxy_module;


static int ngx_http_gateway_verify_cert(X509_STORE_CTX *store, void *arg);
static ngx_int_t ngx_http_gateway_verify_names(X509 *cert,
    ngx_array_t *sans);
static char *ngx_http_gateway_upstream_verify(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_gateway_verify_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gateway_verify_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


static ngx_command_t  ngx_http_gateway_verify_commands[] = {

    { ngx_string("gateway_upstream_verify"),
      NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_gateway_upstream_verify,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gateway_verify_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gateway_verify_create_loc_conf, /* create location configuration */
    ngx_http_gateway_verify_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_gateway_verify_module = {
    NGX_MODULE_V1,
    &ngx_http_gateway_verify_module_ctx,   /* module context */
    ngx_http_gateway_verify_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * OpenSSL's verification of the backend's chain, in place of
 * X509_verify_cert(): that, then the names.
 */
static int
ngx_http_gateway_verify_cert(X509_STORE_CTX *store, void *arg)
{
    ngx_http_gateway_verify_loc_conf_t  *vlcf = arg;

    X509  *cert;

    if (X509_verify_cert(store) != 1) {
        return 0;
    }

    cert = X509_STORE_CTX_get0_cert(store);

    if (cert != NULL
        && ngx_http_gateway_verify_names(cert, vlcf->sans) == NGX_OK)
    {
        return 1;
    }

    X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);

    return 0;
}


/* NGX_OK when cert carries one of the names sans. */
static ngx_int_t
ngx_http_gateway_verify_names(X509 *cert, ngx_array_t *sans)
{
    int                      i, n;
    size_t                   len;
    ngx_int_t                rc;
    ngx_uint_t               k, type;
    const u_char            *data;
    GENERAL_NAME            *gn;
    GENERAL_NAMES           *names;
    ngx_http_gateway_san_t  *san;

    san = sans->elts;

    /* a precise DNS name: TLS's own matching, wildcard certificates too */
    for (k = 0; k < sans->nelts; k++) {
        if (san[k].type == NGX_HTTP_GATEWAY_SAN_DNS
            && san[k].value.data[0] != '*'
            && X509_check_host(cert, (char *) san[k].value.data,
                               san[k].value.len,
                               X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL)
               == 1)
        {
            return NGX_OK;
        }
    }

    /* URI names, and wildcard DNS names, as written in the certificate */
    names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;
    n = sk_GENERAL_NAME_num(names);

    for (i = 0; i < n && rc != NGX_OK; i++) {
        gn = sk_GENERAL_NAME_value(names, i);

        if (gn->type == GEN_URI) {
            type = NGX_HTTP_GATEWAY_SAN_URI;
            data = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
            len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);

        } else if (gn->type == GEN_DNS) {
            type = NGX_HTTP_GATEWAY_SAN_DNS;
            data = ASN1_STRING_get0_data(gn->d.dNSName);
            len = ASN1_STRING_length(gn->d.dNSName);

        } else {
            continue;
        }

        for (k = 0; k < sans->nelts; k++) {
            if (san[k].type != type || san[k].value.len != len) {
                continue;
            }

            if (type == NGX_HTTP_GATEWAY_SAN_URI
                ? ngx_memcmp(san[k].value.data, data, len) == 0
                : ngx_strncasecmp(san[k].value.data, (u_char *) data, len)
                  == 0)
            {
                rc = NGX_OK;
                break;
            }
        }
    }

    GENERAL_NAMES_free(names);

    return rc;
}


static char *
ngx_http_gateway_upstream_verify(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gateway_verify_loc_conf_t  *vlcf = conf;

    ngx_str_t               *value;
    ngx_uint_t               i;
    ngx_http_gateway_san_t  *san;

    if (vlcf->sans != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    vlcf->ca = value[1];
    if (ngx_conf_full_name(cf->cycle, &vlcf->ca, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    vlcf->sans = ngx_array_create(cf->pool, cf->args->nelts - 2,
                                  sizeof(ngx_http_gateway_san_t));
    if (vlcf->sans == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        san = ngx_array_push(vlcf->sans);
        if (san == NULL) {
            return NGX_CONF_ERROR;
        }

        if (value[i].len > 4 && ngx_strncmp(value[i].data, "dns:", 4) == 0) {
            san->type = NGX_HTTP_GATEWAY_SAN_DNS;

        } else if (value[i].len > 4
                   && ngx_strncmp(value[i].data, "uri:", 4) == 0)
        {
            san->type = NGX_HTTP_GATEWAY_SAN_URI;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid name \"%V\": "
                               "\"dns:\" or \"uri:\" expected", &value[i]);
            return NGX_CONF_ERROR;
        }

        /* arguments are NUL-terminated: so is the value */
        san->value.data = value[i].data + 4;
        san->value.len = value[i].len - 4;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gateway_verify_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gateway_verify_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gateway_verify_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->ca = { 0, NULL };
     *     conf->sans = NULL;
     */

    return conf;
}


static char *
ngx_http_gateway_verify_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gateway_verify_loc_conf_t  *prev = parent;
    ngx_http_gateway_verify_loc_conf_t  *conf = child;

    SSL_CTX                   *ctx;
    ngx_http_upstream_conf_t  *ucf;

    if (conf->sans == NULL) {
        /*
         * not set here: a nested location (an "if" block) that sets no
         * proxy TLS settings of its own shares its parent's SSL context,
         * which the parent's merge set up
         */
        conf->ca = prev->ca;
        conf->sans = prev->sans;
        return NGX_CONF_OK;
    }

    /* the proxy module's location configuration begins with this */
    ucf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_proxy_module);

    if (ucf->ssl == NULL || ucf->ssl->ctx == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gateway_upstream_verify\" needs "
                           "\"proxy_pass https://...\" and proxy TLS "
                           "settings in the same location");
        return NGX_CONF_ERROR;
    }

    if (ucf->ssl_verify) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gateway_upstream_verify\" needs "
                           "\"proxy_ssl_verify off\": it checks the "
                           "names instead of \"proxy_ssl_name\"");
        return NGX_CONF_ERROR;
    }

    ctx = ucf->ssl->ctx;

    if (SSL_CTX_load_verify_locations(ctx, (char *) conf->ca.data, NULL)
        == 0)
    {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "SSL_CTX_load_verify_locations(\"%s\") failed",
                      conf->ca.data);
        return NGX_CONF_ERROR;
    }

    /* OpenSSL may leave errors in the queue even when it succeeds */
    ERR_clear_error();

    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(ctx, NGX_HTTP_GATEWAY_VERIFY_DEPTH);
    SSL_CTX_set_cert_verify_callback(ctx, ngx_http_gateway_verify_cert,
                                     conf);

    return NGX_CONF_OK;
}

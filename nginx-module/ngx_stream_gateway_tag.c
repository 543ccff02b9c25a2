
/*
 * The tags of ngx_stream_gateway_module: the directives that name a
 * stream server or upstream after the Gateway API objects it serves, and
 * the tags of a tagged upstream's peers. The values are checked as those
 * of the http module's tags are.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_gateway_module.h"


static ngx_stream_gateway_tag_t *ngx_stream_gateway_tag_parse(
    ngx_conf_t *cf, ngx_command_t *cmd, ngx_uint_t kind,
    ngx_stream_gateway_field_t *fields);
static ngx_int_t ngx_stream_gateway_tag_add(ngx_conf_t *cf,
    ngx_stream_gateway_tag_t *tag, ngx_uint_t kind,
    ngx_stream_gateway_field_t *fields, ngx_str_t *values, ngx_uint_t n);
static ngx_int_t ngx_stream_gateway_cmp_peers(const void *one,
    const void *two);
static ngx_int_t ngx_stream_gateway_cmp_names(ngx_str_t *one,
    ngx_str_t *two);


static ngx_stream_gateway_field_t  ngx_stream_gateway_server_fields[] = {
    { ngx_string("gateway"), 1 },
    { ngx_string("listener"), 1 },
    { ngx_string("route"), 0 },
    { ngx_null_string, 0 }
};


static ngx_stream_gateway_field_t  ngx_stream_gateway_backend_fields[] = {
    { ngx_string("backend"), 1 },
    { ngx_null_string, 0 }
};


/* made by ngx_stream_gateway_init_peers(), not by a directive */

static ngx_stream_gateway_field_t  ngx_stream_gateway_peer_fields[] = {
    { ngx_string("backend"), 1 },
    { ngx_string("address"), 1 },
    { ngx_null_string, 0 }
};


char *
ngx_stream_gateway_server_tag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_stream_gateway_srv_conf_t *gscf = conf;

    if (gscf->tag) {
        return "is duplicate";
    }

    gscf->tag = ngx_stream_gateway_tag_parse(cf, cmd,
                                             NGX_STREAM_GATEWAY_SERVER,
                                             ngx_stream_gateway_server_fields);
    if (gscf->tag == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_stream_gateway_backend_tag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_stream_gateway_srv_conf_t *gscf = conf;

    ngx_stream_gateway_srv_conf_t   **gucfp;
    ngx_stream_gateway_main_conf_t   *gmcf;

    if (gscf->tag) {
        return "is duplicate";
    }

    gscf->tag = ngx_stream_gateway_tag_parse(cf, cmd,
                                             NGX_STREAM_GATEWAY_UPSTREAM,
                                             ngx_stream_gateway_backend_fields);
    if (gscf->tag == NULL) {
        return NGX_CONF_ERROR;
    }

    /* its servers may follow: the peers are tagged in init_main_conf */

    gscf->upstream = ngx_stream_conf_get_module_srv_conf(
                                               cf, ngx_stream_upstream_module);

    gmcf = ngx_stream_conf_get_module_main_conf(cf,
                                                ngx_stream_gateway_module);

    gucfp = ngx_array_push(&gmcf->upstreams);
    if (gucfp == NULL) {
        return NGX_CONF_ERROR;
    }

    *gucfp = gscf;

    return NGX_CONF_OK;
}


/*
 * "key=value" arguments: each key of the directive's kind at most once,
 * the required ones present, values of printable ASCII without quotes
 * or backslashes (what the controller writes: Kubernetes names, numbers),
 * so the report can name them as they are.
 */

static ngx_stream_gateway_tag_t *
ngx_stream_gateway_tag_parse(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_uint_t kind, ngx_stream_gateway_field_t *fields)
{
    ngx_int_t                  n;
    ngx_str_t                  values[NGX_GATEWAY_MAX_FIELDS];
    ngx_stream_gateway_tag_t  *tag;

    n = ngx_gateway_tag_args(cf, cmd, fields, values);
    if (n == NGX_ERROR) {
        return NULL;
    }

    tag = ngx_pcalloc(cf->pool, sizeof(ngx_stream_gateway_tag_t));
    if (tag == NULL) {
        return NULL;
    }

    if (ngx_stream_gateway_tag_add(cf, tag, kind, fields, values, n)
        != NGX_OK)
    {
        return NULL;
    }

    return tag;
}


/*
 * The key is the kind, then each field's name and value, both followed
 * by '\0' (see ngx_stream_gateway_zone.h); the report needs nothing else.
 */

static ngx_int_t
ngx_stream_gateway_tag_add(ngx_conf_t *cf, ngx_stream_gateway_tag_t *tag,
    ngx_uint_t kind, ngx_stream_gateway_field_t *fields, ngx_str_t *values,
    ngx_uint_t n)
{
    u_char                           *p;
    size_t                            len;
    ngx_uint_t                        i;
    ngx_stream_gateway_tag_t        **tagp;
    ngx_stream_gateway_main_conf_t   *gmcf;

    len = 1;

    for (i = 0; i < n; i++) {
        len += fields[i].name.len + 1 + values[i].len + 1;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    tag->key.data = p;
    tag->key.len = len;

    *p++ = (u_char) kind;

    for (i = 0; i < n; i++) {
        p = ngx_cpymem(p, fields[i].name.data, fields[i].name.len);
        *p++ = '\0';
        p = ngx_cpymem(p, values[i].data, values[i].len);
        *p++ = '\0';
    }

    tag->hash = ngx_crc32_short(tag->key.data, tag->key.len);

    gmcf = ngx_stream_conf_get_module_main_conf(cf,
                                                ngx_stream_gateway_module);

    tagp = ngx_array_push(&gmcf->tags);
    if (tagp == NULL) {
        return NGX_ERROR;
    }

    *tagp = tag;

    return NGX_OK;
}


/*
 * A peer of a tagged upstream is keyed by the upstream's backend and its
 * address as nginx names it ($upstream_addr); the log handler finds it
 * by that name among the upstream's peers, sorted by name.
 */

ngx_int_t
ngx_stream_gateway_init_peers(ngx_conf_t *cf,
    ngx_stream_gateway_srv_conf_t *gscf)
{
    ngx_str_t                        values[2];
    ngx_uint_t                       i, j, n;
    ngx_stream_gateway_tag_t        *peer, *peers;
    ngx_stream_upstream_server_t    *server;
    ngx_stream_upstream_srv_conf_t  *uscf;

    uscf = gscf->upstream;

    if (uscf->servers == NULL) {
        return NGX_OK;
    }

    server = uscf->servers->elts;
    n = 0;

    for (i = 0; i < uscf->servers->nelts; i++) {
        n += server[i].naddrs;
    }

    if (ngx_array_init(&gscf->peers, cf->pool, n ? n : 1,
                       sizeof(ngx_stream_gateway_tag_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < uscf->servers->nelts; i++) {
        for (j = 0; j < server[i].naddrs; j++) {
            peer = ngx_array_push(&gscf->peers);
            if (peer == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(peer, sizeof(ngx_stream_gateway_tag_t));
            peer->name = server[i].addrs[j].name;
            peer->parent = gscf->tag;
        }
    }

    ngx_sort(gscf->peers.elts, gscf->peers.nelts,
             sizeof(ngx_stream_gateway_tag_t), ngx_stream_gateway_cmp_peers);

    /* the same address twice in one upstream is one peer */

    peers = gscf->peers.elts;
    n = 0;

    for (i = 0; i < gscf->peers.nelts; i++) {
        if (n && ngx_stream_gateway_cmp_names(&peers[n - 1].name,
                                              &peers[i].name) == 0)
        {
            continue;
        }

        peers[n++] = peers[i];
    }

    gscf->peers.nelts = n;

    /* the backend value follows the upstream key's kind and "backend\0" */

    values[0].data = gscf->tag->key.data + 1 + sizeof("backend");
    values[0].len = gscf->tag->key.len - 1 - sizeof("backend") - 1;

    for (i = 0; i < n; i++) {
        values[1] = peers[i].name;

        if (ngx_stream_gateway_tag_add(cf, &peers[i],
                                       NGX_STREAM_GATEWAY_PEER,
                                       ngx_stream_gateway_peer_fields,
                                       values, 2)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_gateway_cmp_peers(const void *one, const void *two)
{
    ngx_stream_gateway_tag_t  *first, *second;

    first = (ngx_stream_gateway_tag_t *) one;
    second = (ngx_stream_gateway_tag_t *) two;

    return ngx_stream_gateway_cmp_names(&first->name, &second->name);
}


static ngx_int_t
ngx_stream_gateway_cmp_names(ngx_str_t *one, ngx_str_t *two)
{
    if (one->len != two->len) {
        return (one->len < two->len) ? -1 : 1;
    }

    return ngx_memcmp(one->data, two->data, one->len);
}


ngx_stream_gateway_tag_t *
ngx_stream_gateway_peer_find(ngx_stream_gateway_srv_conf_t *gscf,
    ngx_str_t *name)
{
    ngx_int_t                  rc;
    ngx_uint_t                 lo, hi, mid;
    ngx_stream_gateway_tag_t  *peers;

    peers = gscf->peers.elts;

    lo = 0;
    hi = gscf->peers.nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        rc = ngx_stream_gateway_cmp_names(name, &peers[mid].name);

        if (rc == 0) {
            return &peers[mid];
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}

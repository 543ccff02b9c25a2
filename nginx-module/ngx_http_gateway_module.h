
/*
 * ngx_http_gateway_module: types shared by its files.
 *
 *   ngx_http_gateway_module.c   directives, configuration, handlers
 *   ngx_http_gateway_tag.c      the tag directives and the peers' tags
 *   ngx_http_gateway_zone.c     the shared memory zone and its series
 *   ngx_http_gateway_report.c   the JSON status document
 *   ngx_http_gateway_variables.c  $gateway, $gateway_route, ... for logs
 */


#ifndef _NGX_HTTP_GATEWAY_MODULE_H_INCLUDED_
#define _NGX_HTTP_GATEWAY_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_gateway_tag_args.h"
#include <ngx_http.h>


#define NGX_HTTP_GATEWAY_ISO8601      "1970-01-01T00:00:00Z"

/* what a series counts, the first byte of its key */
#define NGX_HTTP_GATEWAY_SERVER       1
#define NGX_HTTP_GATEWAY_ROUTE        2
#define NGX_HTTP_GATEWAY_UPSTREAM     3
#define NGX_HTTP_GATEWAY_PEER         4

#define NGX_HTTP_GATEWAY_MAX_FIELDS   NGX_GATEWAY_MAX_FIELDS
#define NGX_HTTP_GATEWAY_MAX_VALUE    NGX_GATEWAY_MAX_VALUE

#define NGX_HTTP_GATEWAY_ZONE_NAME    "ngx_http_gateway"
#define NGX_HTTP_GATEWAY_ZONE_SIZE    (1024 * 1024)


/* a key=value parameter of a tag directive, a field of the report */

typedef ngx_gateway_field_t  ngx_http_gateway_field_t;


typedef struct {
    uint64_t                          requests;
    uint64_t                          responses[5];   /* 1xx .. 5xx */
    uint64_t                          bytes_in;
    uint64_t                          bytes_out;
    uint64_t                          time_sum;       /* milliseconds */
    uint64_t                          time_count;
} ngx_http_gateway_counters_t;


typedef struct ngx_http_gateway_series_s  ngx_http_gateway_series_t;

/*
 * One named set of counters in the zone. Servers, routes and upstreams
 * are linked in creation order in the zone's list; the peers of an
 * upstream in that upstream's own list. The key (sn.str) is the kind
 * byte followed by the tag's values, each terminated by '\0'.
 */

struct ngx_http_gateway_series_s {
    ngx_str_node_t                    sn;
    ngx_queue_t                       queue;
    ngx_queue_t                       peers;
    ngx_uint_t                        epoch;
    ngx_http_gateway_counters_t       counters;
    u_char                            data[1];
};


typedef struct {
    ngx_rbtree_t                      rbtree;
    ngx_rbtree_node_t                 sentinel;
    ngx_queue_t                       series;
    ngx_uint_t                        epoch;
    ngx_uint_t                        nseries;
    ngx_uint_t                        unallocated;
    ngx_atomic_t                      requests;
} ngx_http_gateway_shctx_t;


/*
 * A tag in the configuration: the key of its series and, for the cycle
 * that parsed it, a pointer to that series (NULL when the zone had no
 * room for it). A peer's tag also has the peer's address (name) and the
 * tag of its upstream (parent).
 */

typedef struct ngx_http_gateway_tag_s  ngx_http_gateway_tag_t;

struct ngx_http_gateway_tag_s {
    ngx_str_t                         key;
    uint32_t                          hash;
    ngx_str_t                         name;
    ngx_http_gateway_tag_t           *parent;
    ngx_http_gateway_series_t        *series;
};


typedef struct {
    uint64_t                          generation;
    uint64_t                          loaded_at_msec;
    ngx_flag_t                        generation_set;
    u_char                            loaded_at[
                                          sizeof(NGX_HTTP_GATEWAY_ISO8601)];

    size_t                            zone_size;
    ngx_shm_zone_t                   *shm_zone;

    /* the epoch of the zone this configuration's tags point into */
    ngx_uint_t                        epoch;

    /* of ngx_http_gateway_tag_t *, upstreams before their peers */
    ngx_array_t                       tags;

    /* of ngx_http_gateway_srv_conf_t *, the tagged upstream{} blocks */
    ngx_array_t                       upstreams;
} ngx_http_gateway_main_conf_t;


/* server{} and upstream{} */

typedef struct {
    ngx_http_gateway_tag_t           *tag;

    /* upstream{} only: the block and its peers' tags, sorted by name */
    ngx_http_upstream_srv_conf_t     *upstream;
    ngx_array_t                       peers;       /* ngx_http_gateway_tag_t */
} ngx_http_gateway_srv_conf_t;


typedef struct {
    ngx_http_gateway_tag_t           *tag;
} ngx_http_gateway_loc_conf_t;


extern ngx_module_t               ngx_http_gateway_module;

/* indexed by kind; each list ends with an empty name */
extern ngx_http_gateway_field_t  *ngx_http_gateway_fields[];


char *ngx_http_gateway_server_tag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gateway_route_tag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gateway_backend_tag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gateway_init_peers(ngx_conf_t *cf,
    ngx_http_gateway_srv_conf_t *gscf);
ngx_http_gateway_tag_t *ngx_http_gateway_peer_find(
    ngx_http_gateway_srv_conf_t *gscf, ngx_str_t *name);

ngx_int_t ngx_http_gateway_init_zone(ngx_shm_zone_t *shm_zone, void *data);
void ngx_http_gateway_zone_update(ngx_cycle_t *cycle,
    ngx_http_gateway_main_conf_t *gmcf);
ngx_http_gateway_series_t *ngx_http_gateway_series_lookup(
    ngx_http_gateway_shctx_t *shctx, ngx_http_gateway_tag_t *tag);

ngx_buf_t *ngx_http_gateway_report(ngx_http_request_t *r);

ngx_int_t ngx_http_gateway_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_GATEWAY_MODULE_H_INCLUDED_ */

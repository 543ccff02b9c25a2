
/*
 * ngx_stream_gateway_module: types shared by its files.
 *
 *   ngx_stream_gateway_module.c   directives, configuration, handlers
 *   ngx_stream_gateway_tag.c      the tag directives and the peers' tags
 *   ngx_stream_gateway_zone.c     the shared memory zone and its series
 *   ngx_stream_gateway_zone.h     the zone's layout, shared with the report
 *
 * The report of the zone (ngx_stream_gateway_report.c) is part of
 * ngx_http_gateway_module.so, not of this module.
 */


#ifndef _NGX_STREAM_GATEWAY_MODULE_H_INCLUDED_
#define _NGX_STREAM_GATEWAY_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_gateway_tag_args.h"
#include <ngx_stream.h>

#include "ngx_stream_gateway_zone.h"


#define NGX_STREAM_GATEWAY_MAX_FIELDS   NGX_GATEWAY_MAX_FIELDS
#define NGX_STREAM_GATEWAY_MAX_VALUE    NGX_GATEWAY_MAX_VALUE


/* a key=value parameter of a tag directive */
typedef ngx_gateway_field_t  ngx_stream_gateway_field_t;


/*
 * A tag in the configuration: the key of its series and, for the cycle
 * that parsed it, a pointer to that series (NULL when the zone had no
 * room for it). A peer's tag also has the peer's address (name) and the
 * tag of its upstream (parent).
 */

typedef struct ngx_stream_gateway_tag_s  ngx_stream_gateway_tag_t;

struct ngx_stream_gateway_tag_s {
    ngx_str_t                         key;
    uint32_t                          hash;
    ngx_str_t                         name;
    ngx_stream_gateway_tag_t         *parent;
    ngx_stream_gateway_series_t      *series;
};


typedef struct {
    size_t                            zone_size;
    ngx_shm_zone_t                   *shm_zone;

    /* the epoch of the zone this configuration's tags point into */
    ngx_uint_t                        epoch;

    /* of ngx_stream_gateway_tag_t *, upstreams before their peers */
    ngx_array_t                       tags;

    /* of ngx_stream_gateway_srv_conf_t *, the tagged upstream{} blocks */
    ngx_array_t                       upstreams;
} ngx_stream_gateway_main_conf_t;


/* server{} and upstream{} */

typedef struct {
    ngx_stream_gateway_tag_t         *tag;

    /* upstream{} only: the block and its peers' tags, sorted by name */
    ngx_stream_upstream_srv_conf_t   *upstream;
    ngx_array_t                       peers;   /* ngx_stream_gateway_tag_t */
} ngx_stream_gateway_srv_conf_t;


extern ngx_module_t  ngx_stream_gateway_module;


char *ngx_stream_gateway_server_tag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_stream_gateway_backend_tag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_stream_gateway_init_peers(ngx_conf_t *cf,
    ngx_stream_gateway_srv_conf_t *gscf);
ngx_stream_gateway_tag_t *ngx_stream_gateway_peer_find(
    ngx_stream_gateway_srv_conf_t *gscf, ngx_str_t *name);

ngx_int_t ngx_stream_gateway_init_zone(ngx_shm_zone_t *shm_zone, void *data);
void ngx_stream_gateway_zone_update(ngx_cycle_t *cycle,
    ngx_stream_gateway_main_conf_t *gmcf);
ngx_stream_gateway_series_t *ngx_stream_gateway_series_find(
    ngx_stream_gateway_main_conf_t *gmcf, ngx_stream_gateway_tag_t *tag);


#endif /* _NGX_STREAM_GATEWAY_MODULE_H_INCLUDED_ */


/*
 * The shared memory zone of ngx_stream_gateway_module: its layout, which
 * is all the stream module (ngx_stream_gateway_module.so, the writer) and
 * the status report of ngx_http_gateway_module (the reader, see
 * ngx_stream_gateway_report.c) know of each other. Only nginx core types:
 * the report is built without the stream module's headers being used.
 *
 * The zone is named NGX_STREAM_GATEWAY_ZONE_NAME; its tag is the stream
 * module, whose name the reader checks before it trusts the layout, and
 * its context starts with NGX_STREAM_GATEWAY_ZONE_MAGIC, to be changed
 * with any change of the layout below.
 */


#ifndef _NGX_STREAM_GATEWAY_ZONE_H_INCLUDED_
#define _NGX_STREAM_GATEWAY_ZONE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_STREAM_GATEWAY_ZONE_NAME    "ngx_stream_gateway"
#define NGX_STREAM_GATEWAY_ZONE_SIZE    (1024 * 1024)
#define NGX_STREAM_GATEWAY_ZONE_MAGIC   0x67777331         /* "gws1" */
#define NGX_STREAM_GATEWAY_MODULE_NAME  "ngx_stream_gateway_module"

/* what a series counts, the first byte of its key */
#define NGX_STREAM_GATEWAY_SERVER       1
#define NGX_STREAM_GATEWAY_UPSTREAM     2
#define NGX_STREAM_GATEWAY_PEER         3

/* the values of $status, in this order */
#define NGX_STREAM_GATEWAY_NSTATUS      6


typedef struct {
    uint64_t                          sessions;       /* finished */
    uint64_t                          active;         /* servers only */
    uint64_t                          status[NGX_STREAM_GATEWAY_NSTATUS];
    uint64_t                          bytes_in;
    uint64_t                          bytes_out;
    uint64_t                          session_time;   /* milliseconds */
    uint64_t                          connect_time;   /* peers only, ms */
} ngx_stream_gateway_counters_t;


typedef struct ngx_stream_gateway_series_s  ngx_stream_gateway_series_t;

/*
 * One named set of counters. Servers and upstreams are linked in creation
 * order in the zone's list; the peers of an upstream in its own list. The
 * key (sn.str) describes itself: the kind byte, then for each field its
 * name and its value, each terminated by '\0' (an empty value is a field
 * the tag left out). A peer's first field is its upstream's backend.
 */

struct ngx_stream_gateway_series_s {
    ngx_str_node_t                    sn;
    ngx_queue_t                       queue;
    ngx_queue_t                       peers;
    ngx_uint_t                        epoch;          /* last marked */
    ngx_uint_t                        born;           /* created */
    ngx_stream_gateway_counters_t     counters;
    u_char                            data[1];
};


typedef struct {
    uint32_t                          magic;
    ngx_rbtree_t                      rbtree;
    ngx_rbtree_node_t                 sentinel;
    ngx_queue_t                       series;
    ngx_uint_t                        epoch;
    ngx_uint_t                        nseries;
    ngx_uint_t                        unallocated;
} ngx_stream_gateway_shctx_t;


/* the report's part: in ngx_http_gateway_module.so */

ngx_int_t ngx_stream_gateway_report(ngx_cycle_t *cycle, ngx_pool_t *pool,
    ngx_str_t *out);


#endif /* _NGX_STREAM_GATEWAY_ZONE_H_INCLUDED_ */

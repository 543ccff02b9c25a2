
/*
 * ngx_http_gateway_match_module: HTTPRoute matches (method, path, headers,
 * query parameters) evaluated in a location, first full match wins.
 *
 *   ngx_http_gateway_match.c        directives, configuration, validation
 *   ngx_http_gateway_match_eval.c   the content handler and the matching
 *   ngx_http_gateway_match_none.c   the answer when nothing matches (a gRPC
 *                                   status for a gRPC call)
 */


#ifndef _NGX_HTTP_GATEWAY_MATCH_H_INCLUDED_
#define _NGX_HTTP_GATEWAY_MATCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* what a condition tests, in the order a candidate evaluates them */
#define NGX_HTTP_GATEWAY_MATCH_PATH      1   /* path=  and path~  */
#define NGX_HTTP_GATEWAY_MATCH_PREFIX    2   /* prefix=           */
#define NGX_HTTP_GATEWAY_MATCH_HEADER    3   /* header: and header~ */
#define NGX_HTTP_GATEWAY_MATCH_QUERY     4   /* query:  and query~  */

#define NGX_HTTP_GATEWAY_MATCH_STATUS    NGX_HTTP_NOT_FOUND


/*
 * One condition of a candidate. For a header or a query parameter, index
 * is the slot of its name in the location's names (headers first, then
 * query parameters), the slot the request's value is collected into.
 */

typedef struct {
    ngx_uint_t                        type;
    ngx_uint_t                        index;
    ngx_str_t                         value;  /* exact value or prefix */
    ngx_regex_t                      *regex;  /* NULL: compare value */
} ngx_http_gateway_match_cond_t;


/* one gateway_match directive */

typedef struct {
    ngx_str_t                         target;  /* "@name" */
    ngx_uint_t                        method;  /* NGX_HTTP_GET, ...; 0 any */
    ngx_uint_t                        nconds;
    ngx_http_gateway_match_cond_t    *conds;

    /* where it was written, for errors found after parsing */
    ngx_str_t                         file;
    ngx_uint_t                        line;
} ngx_http_gateway_match_t;


/*
 * A header or query parameter name some candidate of the location tests.
 * Header names are lowercase with the hash nginx gives request headers
 * (ngx_hash_key_lc); query parameter names are case-sensitive (ngx_hash_key).
 * Each list is sorted by hash after parsing.
 */

typedef struct {
    ngx_uint_t                        hash;
    ngx_str_t                         name;
    ngx_uint_t                        index;
} ngx_http_gateway_match_name_t;


typedef struct {
    ngx_array_t                      *matches;  /* NULL: not a dispatcher */
    ngx_uint_t                        status;
    ngx_uint_t                        grpc_status;  /* UNSET: none */
    ngx_str_t                         grpc_message;

    ngx_array_t                       headers;  /* match_name_t */
    ngx_array_t                       args;     /* match_name_t */
    ngx_uint_t                        nvalues;  /* headers + args */

    ngx_http_core_srv_conf_t         *cscf;
    ngx_http_core_loc_conf_t         *clcf;
} ngx_http_gateway_match_loc_conf_t;


typedef struct {
    /* of ngx_http_gateway_match_loc_conf_t *, the dispatcher locations */
    ngx_array_t                       locations;
} ngx_http_gateway_match_main_conf_t;


extern ngx_module_t  ngx_http_gateway_match_module;


ngx_int_t ngx_http_gateway_match_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gateway_match_none(ngx_http_request_t *r,
    ngx_http_gateway_match_loc_conf_t *gmlcf);
char *ngx_http_gateway_match_none_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gateway_match_grpc_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_GATEWAY_MATCH_H_INCLUDED_ */

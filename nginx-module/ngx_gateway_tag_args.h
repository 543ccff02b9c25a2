
/*
 * The key=value arguments of our tag directives, shared by the http and
 * the stream module (compiled into each of the two libraries).
 */


#ifndef _NGX_GATEWAY_TAG_ARGS_H_INCLUDED_
#define _NGX_GATEWAY_TAG_ARGS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_GATEWAY_MAX_FIELDS  3
#define NGX_GATEWAY_MAX_VALUE   512


/* a key of a tag directive; a list of them ends with an empty name */
typedef struct {
    ngx_str_t                         name;
    ngx_uint_t                        required;
} ngx_gateway_field_t;


/*
 * Parses the directive's arguments (cf->args from the second on) as
 * key=value pairs of fields: each key at most once, the required ones
 * present, values of 1 to NGX_GATEWAY_MAX_VALUE printable ASCII
 * characters without quotes or backslashes.  values[i] is the value of
 * fields[i] (empty when absent).  Returns the number of fields, or
 * NGX_ERROR after logging what is wrong.
 */
ngx_int_t ngx_gateway_tag_args(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_gateway_field_t *fields, ngx_str_t *values);


#endif /* _NGX_GATEWAY_TAG_ARGS_H_INCLUDED_ */

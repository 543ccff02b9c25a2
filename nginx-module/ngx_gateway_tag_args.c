
/*
 * The key=value arguments of our tag directives (ngx_gateway_tag_args.h).
 */


#include "ngx_gateway_tag_args.h"


ngx_int_t
ngx_gateway_tag_args(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_gateway_field_t *fields, ngx_str_t *values)
{
    u_char      *p, *eq, *last;
    ngx_str_t   *value, name;
    ngx_uint_t   i, f;

    for (f = 0; fields[f].name.len; f++) {
        ngx_str_null(&values[f]);
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        last = value[i].data + value[i].len;
        eq = ngx_strlchr(value[i].data, last, '=');

        if (eq == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"%V\", "
                               "it must be key=value", &value[i],
                               &cmd->name);
            return NGX_ERROR;
        }

        name.data = value[i].data;
        name.len = eq - value[i].data;

        for (f = 0; fields[f].name.len; f++) {
            if (fields[f].name.len == name.len
                && ngx_strncmp(fields[f].name.data, name.data, name.len) == 0)
            {
                break;
            }
        }

        if (fields[f].name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown key \"%V\" in \"%V\"",
                               &name, &cmd->name);
            return NGX_ERROR;
        }

        if (values[f].data) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate key \"%V\" in \"%V\"",
                               &name, &cmd->name);
            return NGX_ERROR;
        }

        values[f].data = eq + 1;
        values[f].len = last - (eq + 1);

        if (values[f].len == 0 || values[f].len > NGX_GATEWAY_MAX_VALUE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid length of \"%V\" in \"%V\", "
                               "it must be 1 to %d characters", &name,
                               &cmd->name, NGX_GATEWAY_MAX_VALUE);
            return NGX_ERROR;
        }

        for (p = values[f].data; p < last; p++) {
            if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid character in \"%V\" in \"%V\"",
                                   &name, &cmd->name);
                return NGX_ERROR;
            }
        }
    }

    for (f = 0; fields[f].name.len; f++) {
        if (fields[f].required && values[f].data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" needs \"%V=\"",
                               &cmd->name, &fields[f].name);
            return NGX_ERROR;
        }
    }

    return f;
}

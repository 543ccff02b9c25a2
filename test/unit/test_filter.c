/*
 * ngx-gateway unit tests: HTTPRoute/GRPCRoute filters decoded into their
 * typed form (api/decode_filter.c) and checked for nginx
 * (dataplane/filter.c).
 */

#include <stdio.h>

#include "gw_test_util.h"

#include "dataplane/filter.h"


/* Decodes an HTTPRoute whose spec.rules is rules_json; NULL on refusal. */
static gw_obj_t *
gw_route(const char *kind, const char *rules_json, gw_err_t *err)
{
    char       doc[8192];
    gw_obj_t  *obj;

    snprintf(doc, sizeof(doc),
             "{\"apiVersion\": \"gateway.networking.k8s.io/v1\","
             " \"kind\": \"%s\","
             " \"metadata\": {\"name\": \"r\", \"namespace\": \"ns\"},"
             " \"spec\": {\"parentRefs\": [{\"name\": \"gw\"}],"
             " \"rules\": %s}}", kind, rules_json);

    if (gw_obj_decode(cJSON_Parse(doc), "t", &obj, err) != GW_OK) {
        return NULL;
    }

    return obj;
}


static void
test_decode_typed(void **state)
{
    gw_err_t                 err;
    gw_obj_t                *obj;
    const gw_http_rule_t    *rule;
    const gw_http_filter_t  *f;

    (void) state;

    obj = gw_route("HTTPRoute",
        "[{\"filters\": ["
        "  {\"type\": \"RequestHeaderModifier\", \"requestHeaderModifier\":"
        "   {\"set\": [{\"name\": \"A\", \"value\": \"1\"},"
        "              {\"name\": \"a\", \"value\": \"2\"}],"
        "    \"remove\": [\"B\"]}},"
        "  {\"type\": \"RequestMirror\", \"requestMirror\":"
        "   {\"backendRef\": {\"name\": \"m\", \"port\": 80},"
        "    \"fraction\": {\"numerator\": 1, \"denominator\": 4}}},"
        "  {\"type\": \"CORS\", \"cors\": {\"allowOrigins\": [\"*\"],"
        "   \"allowCredentials\": true}},"
        "  {\"type\": \"ExtensionRef\", \"extensionRef\":"
        "   {\"group\": \"x.io\", \"kind\": \"K\", \"name\": \"n\"}},"
        "  {\"type\": \"Other\"}],"
        " \"backendRefs\": [{\"name\": \"s\", \"port\": 80, \"filters\": ["
        "  {\"type\": \"RequestRedirect\", \"requestRedirect\":"
        "   {\"port\": 8443, \"path\": {\"type\": \"ReplacePrefixMatch\"}}}"
        " ]}]}]", &err);
    if (obj == NULL) {
        fail_msg("decode: %s", err.msg);
    }

    rule = &obj->u.httproute.rules[0];
    assert_int_equal(rule->nfilters, 5);

    f = &rule->filters[0];
    assert_int_equal(f->kind, GW_FILTER_REQUEST_HEADER);
    assert_int_equal(f->headers->nset, 2);      /* as written */
    assert_string_equal(f->headers->set[1].value, "2");
    assert_string_equal(f->headers->remove[0], "B");

    f = &rule->filters[1];
    assert_int_equal(f->kind, GW_FILTER_REQUEST_MIRROR);
    assert_string_equal(f->mirror->backend.name, "m");
    assert_string_equal(f->mirror->backend.kind, "Service");
    assert_int_equal(f->mirror->port, 80);
    assert_int_equal(f->mirror->numerator, 1);
    assert_int_equal(f->mirror->denominator, 4);

    f = &rule->filters[2];
    assert_int_equal(f->kind, GW_FILTER_CORS);
    assert_int_equal(f->cors->nallow_origins, 1);
    assert_int_equal(f->cors->allow_credentials, 1);
    assert_int_equal(f->cors->max_age, 5);      /* CRD default */

    f = &rule->filters[3];
    assert_int_equal(f->kind, GW_FILTER_EXTENSION_REF);
    assert_string_equal(f->extension_ref->kind, "K");

    assert_int_equal(rule->filters[4].kind, GW_FILTER_UNKNOWN);
    assert_string_equal(rule->filters[4].type, "Other");

    f = &rule->backends[0].filters[0];
    assert_int_equal(f->kind, GW_FILTER_REQUEST_REDIRECT);
    assert_int_equal(f->redirect->status, 302);
    assert_int_equal(f->redirect->port, 8443);
    assert_int_equal(f->redirect->path, GW_REWRITE_PREFIX);
    assert_string_equal(f->redirect->path_value, "/");

    gw_obj_free(obj);

    /* GRPCRoute rules have the same typed filters */
    obj = gw_route("GRPCRoute",
        "[{\"filters\": [{\"type\": \"ResponseHeaderModifier\","
        " \"responseHeaderModifier\": {\"add\": [{\"name\": \"g\","
        " \"value\": \"v\"}]}}]}]", &err);
    if (obj == NULL) {
        fail_msg("decode: %s", err.msg);
    }
    f = &obj->u.grpcroute.rules[0].filters[0];
    assert_int_equal(f->kind, GW_FILTER_RESPONSE_HEADER);
    assert_string_equal(f->headers->add[0].name, "g");
    gw_obj_free(obj);
}


/* What the API server refuses (the CRD's schema and CEL rules). */
static void
test_decode_refuses_what_the_api_server_would(void **state)
{
    size_t     i;
    gw_err_t   err;
    gw_obj_t  *obj;
    static const struct {
        const char  *rules;
        const char  *message;
    } cases[] = {
        { "[{\"filters\": [{\"type\": \"RequestRedirect\"}]}]",
          "requestRedirect must be specified" },
        { "[{\"filters\": [{\"type\": \"RequestRedirect\","
          " \"requestRedirect\": {}, \"urlRewrite\": {}}]}]",
          "urlRewrite must be nil" },
        { "[{\"filters\": [{\"type\": \"RequestMirror\", \"requestMirror\":"
          " {\"backendRef\": {\"name\": \"m\"}, \"percent\": 5,"
          " \"fraction\": {\"numerator\": 1}}}]}]",
          "Only one of percent or fraction" },
        { "[{\"filters\": [{\"type\": \"RequestMirror\", \"requestMirror\":"
          " {\"backendRef\": {\"name\": \"m\"},"
          " \"fraction\": {\"numerator\": 5, \"denominator\": 4}}}]}]",
          "numerator must be less than or equal to denominator" },
        { "[{\"filters\": [{\"type\": \"RequestMirror\","
          " \"requestMirror\": {\"percent\": 5}}]}]",
          "backendRef: Required value" },
        { "[{\"filters\": [{\"type\": \"URLRewrite\", \"urlRewrite\":"
          " {\"path\": {\"type\": \"Other\"}}}]}]",
          "Unsupported value: \"Other\"" },
        { "[{\"filters\": [{\"type\": \"RequestHeaderModifier\","
          " \"requestHeaderModifier\": {\"set\": [{\"name\": \"a\","
          " \"value\": 1}]}}]}]",
          "must be a string" },
        { "[{\"filters\": [{\"type\": \"CORS\", \"cors\":"
          " {\"allowCredentials\": \"yes\"}}]}]",
          "allowCredentials: must be a boolean" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        obj = gw_route("HTTPRoute", cases[i].rules, &err);
        if (obj != NULL) {
            gw_obj_free(obj);
            fail_msg("case %zu: decoded, want \"%s\"", i, cases[i].message);
        }
        if (strstr(err.msg, cases[i].message) == NULL) {
            fail_msg("case %zu: \"%s\", want \"%s\"", i, err.msg,
                     cases[i].message);
        }
    }
}


/* The rule of a decoded HTTPRoute, checked: NULL or why not. */
static const char *
gw_check(gw_arena_t *a, const char *rules, gw_dp_filters_t *out,
    gw_obj_t **obj)
{
    gw_err_t  err;

    *obj = gw_route("HTTPRoute", rules, &err);
    if (*obj == NULL) {
        fail_msg("decode: %s", err.msg);
    }

    return gw_dp_filters_check(a, &(*obj)->u.httproute.rules[0], out);
}


static void
test_check_normalises_and_refuses(void **state)
{
    size_t            i;
    gw_obj_t         *obj;
    gw_arena_t        a;
    const char       *why;
    gw_dp_filters_t   f;
    static const struct {
        const char  *rules;
        const char  *message;
    } refused[] = {
        { "[{\"filters\": [{\"type\": \"Other\"}]}]",
          "filter type Other is not supported" },
        { "[{\"backendRefs\": [{\"name\": \"a\", \"port\": 80, \"filters\":"
          " [{\"type\": \"ResponseHeaderModifier\", \"responseHeaderModifier\":"
          " {\"set\": [{\"name\": \"X\", \"value\": \"a\"}]}}]},"
          " {\"name\": \"b\", \"port\": 80}]}]",
          "backendRef 0: ResponseHeaderModifier on a backendRef of a rule "
          "with several backendRefs is not supported yet" },
        { "[{\"backendRefs\": [{\"name\": \"a\", \"port\": 80, \"filters\":"
          " [{\"type\": \"URLRewrite\", \"urlRewrite\": {}}]}]}]",
          "URLRewrite is not supported on backendRefs" },
        { "[{\"backendRefs\": [{\"name\": \"a\", \"port\": 80, \"filters\":"
          " [{\"type\": \"RequestHeaderModifier\", \"requestHeaderModifier\":"
          " {\"set\": [{\"name\": \"X\", \"value\": \"$x\"}]}}]}]}]",
          "backendRef 0: RequestHeaderModifier: the value of header X "
          "has '$'" },
    };

    (void) state;

    gw_arena_init(&a);

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        why = gw_check(&a, refused[i].rules, &f, &obj);
        if (why == NULL || strstr(why, refused[i].message) == NULL) {
            fail_msg("case %zu: \"%s\", want \"%s\"", i,
                     why ? why : "(accepted)", refused[i].message);
        }
        gw_obj_free(obj);
    }

    /* an ExtensionRef is no refusal: the rule is kept and answers 500 */
    why = gw_check(&a,
        "[{\"filters\": [{\"type\": \"ExtensionRef\", \"extensionRef\":"
        " {\"group\": \"x.io\", \"kind\": \"K\", \"name\": \"n\"}},"
        " {\"type\": \"ExtensionRef\", \"extensionRef\":"
        " {\"group\": \"y.io\", \"kind\": \"L\", \"name\": \"m\"}}],"
        " \"backendRefs\": [{\"name\": \"a\", \"port\": 80}]}]", &f, &obj);
    assert_null(why);
    assert_non_null(f.extension);
    assert_string_equal(gw_dp_extension_why(&a, f.extension),
                        "ExtensionRef filter K x.io/n: no extension is "
                        "supported, the rule answers 500");
    gw_obj_free(obj);

    /* its rule's other filters are still checked */
    why = gw_check(&a,
        "[{\"filters\": [{\"type\": \"ExtensionRef\", \"extensionRef\":"
        " {\"group\": \"x.io\", \"kind\": \"K\", \"name\": \"n\"}},"
        " {\"type\": \"Other\"}]}]", &f, &obj);
    assert_non_null(why);
    assert_non_null(strstr(why, "filter type Other is not supported"));
    gw_obj_free(obj);

    /* several backendRefs: request headers per backendRef */
    why = gw_check(&a,
        "[{\"filters\": [{\"type\": \"RequestHeaderModifier\","
        "  \"requestHeaderModifier\": {\"set\": [{\"name\": \"R\","
        "  \"value\": \"r\"}]}}],"
        " \"backendRefs\": [{\"name\": \"a\", \"port\": 80, \"filters\": ["
        "  {\"type\": \"RequestHeaderModifier\", \"requestHeaderModifier\":"
        "  {\"set\": [{\"name\": \"B\", \"value\": \"a\"}],"
        "   \"add\": [{\"name\": \"r\", \"value\": \"a\"}]}}]},"
        "  {\"name\": \"b\", \"port\": 80},"
        "  {\"name\": \"c\", \"port\": 80, \"filters\": ["
        "  {\"type\": \"RequestHeaderModifier\", \"requestHeaderModifier\":"
        "  {\"remove\": [\"b\", \"X\"]}}]}]}]", &f, &obj);
    assert_null(why);
    assert_int_equal(f.request->nset, 1);           /* the rule's alone */
    assert_non_null(f.backends);
    assert_string_equal(f.backends[0]->set[0].name, "B");
    assert_string_equal(f.backends[0]->set[1].name, "r");
    assert_string_equal(f.backends[0]->set[1].value, "r,a");
    assert_null(f.backends[1]);                     /* the rule's */
    assert_int_equal(f.backends[2]->nremove, 2);
    assert_int_equal(f.nbackend_names, 3);          /* B, r, X */
    assert_string_equal(f.backend_names[0], "B");
    assert_string_equal(f.backend_names[1], "r");
    assert_string_equal(f.backend_names[2], "X");
    gw_obj_free(obj);

    /* equivalent names: the first counts; an empty prefix is "/" */
    why = gw_check(&a,
        "[{\"filters\": ["
        "  {\"type\": \"RequestHeaderModifier\", \"requestHeaderModifier\":"
        "   {\"set\": [{\"name\": \"A\", \"value\": \"1\"},"
        "              {\"name\": \"a\", \"value\": \"2\"}]}},"
        "  {\"type\": \"URLRewrite\", \"urlRewrite\": {\"path\":"
        "   {\"type\": \"ReplacePrefixMatch\", \"replacePrefixMatch\": \"\"}}}"
        " ], \"backendRefs\": [{\"name\": \"a\", \"port\": 80}]}]", &f, &obj);
    assert_null(why);
    assert_int_equal(f.request->nset, 1);
    assert_string_equal(f.request->set[0].value, "1");
    assert_non_null(f.rewrite);
    gw_obj_free(obj);

    /* the backendRef's modifier after the rule's */
    why = gw_check(&a,
        "[{\"filters\": [{\"type\": \"RequestHeaderModifier\","
        "  \"requestHeaderModifier\": {\"set\": [{\"name\": \"S\","
        "  \"value\": \"r\"}], \"add\": [{\"name\": \"A\", \"value\": \"r\"}],"
        "  \"remove\": [\"R\", \"K\"]}}],"
        " \"backendRefs\": [{\"name\": \"a\", \"port\": 80, \"filters\": ["
        "  {\"type\": \"RequestHeaderModifier\", \"requestHeaderModifier\":"
        "  {\"add\": [{\"name\": \"S\", \"value\": \"b\"},"
        "   {\"name\": \"A\", \"value\": \"b\"},"
        "   {\"name\": \"R\", \"value\": \"b\"}]}}]}]}]", &f, &obj);
    assert_null(why);
    assert_int_equal(f.request->nset, 2);
    assert_string_equal(f.request->set[0].name, "S");
    assert_string_equal(f.request->set[0].value, "r,b");
    assert_string_equal(f.request->set[1].name, "R");
    assert_string_equal(f.request->set[1].value, "b");
    assert_int_equal(f.request->nadd, 1);
    assert_string_equal(f.request->add[0].value, "r,b");
    assert_int_equal(f.request->nremove, 1);
    assert_string_equal(f.request->remove[0], "K");
    gw_obj_free(obj);

    gw_arena_release(&a);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_decode_typed),
        cmocka_unit_test(test_decode_refuses_what_the_api_server_would),
        cmocka_unit_test(test_check_normalises_and_refuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

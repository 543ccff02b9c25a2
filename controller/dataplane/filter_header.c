/*
 * ngx-gateway: header modifiers (RequestHeaderModifier,
 * ResponseHeaderModifier) as nginx carries them: checked, normalised
 * (the first of equivalent names counts) and composed (a backendRef's
 * after its rule's).
 */

#include <ctype.h>
#include <strings.h>
#include <string.h>

#include "dataplane/filter.h"

#define GW_HEADER_NAME_MAX   256
#define GW_HEADER_VALUE_MAX  4096


/*
 * nginx passes a client's header to variables as $http_NAME with '-' as
 * '_', and drops headers with '_' by default: letters, digits and '-'.
 */
static const char *
gw_dp_header_name_check(gw_arena_t *a, const char *what, const char *name)
{
    const char  *p;

    if (name[0] == '\0' || strlen(name) > GW_HEADER_NAME_MAX) {
        return gw_arena_printf(a, "%s: a header name must be 1 to %d "
                               "characters", what, GW_HEADER_NAME_MAX);
    }

    for (p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-'))
        {
            return gw_arena_printf(a, "%s: header name \"%s\" has '%c': "
                                   "only letters, digits and '-' are "
                                   "supported", what, name, *p);
        }
    }

    return NULL;
}


static const char *
gw_dp_header_value_check(gw_arena_t *a, const char *what, const char *name,
    const char *value)
{
    const unsigned char  *p;

    if (value[0] == '\0' || strlen(value) > GW_HEADER_VALUE_MAX) {
        return gw_arena_printf(a, "%s: the value of header %s must be 1 to "
                               "%d characters", what, name,
                               GW_HEADER_VALUE_MAX);
    }

    for (p = (const unsigned char *) value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return gw_arena_printf(a, "%s: the value of header %s has a "
                                   "control character", what, name);
        }

        if (*p == '$') {
            return gw_arena_printf(a, "%s: the value of header %s has '$', "
                                   "which nginx would read as a variable "
                                   "(there is no escape for it): values "
                                   "with '$' are not supported", what,
                                   name);
        }
    }

    return NULL;
}


/* 1 when name is already in one of the lists of m. */
static int
gw_dp_header_seen(const gw_dp_header_mod_t *m, const char *name)
{
    size_t  i;

    for (i = 0; i < m->nset; i++) {
        if (strcasecmp(m->set[i].name, name) == 0) {
            return 1;
        }
    }

    for (i = 0; i < m->nadd; i++) {
        if (strcasecmp(m->add[i].name, name) == 0) {
            return 1;
        }
    }

    for (i = 0; i < m->nremove; i++) {
        if (strcasecmp(m->remove[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * A set or add list.  Of entries with equivalent names (case-insensitive)
 * the first counts and the others are ignored, as the spec says; a header
 * in two lists (set and add, ...) is refused: nginx cannot do both.
 */
static const char *
gw_dp_header_list(gw_arena_t *a, const char *what, const gw_header_t *in,
    size_t nin, gw_dp_header_mod_t *m, gw_dp_kv_t **out, size_t *n)
{
    size_t        i, j;
    const char   *why;
    gw_dp_kv_t   *list;

    list = gw_arena_alloc(a, (nin + 1) * sizeof(gw_dp_kv_t));
    *out = list;

    for (i = 0; i < nin; i++) {
        why = gw_dp_header_name_check(a, what, in[i].name);
        if (why == NULL) {
            why = gw_dp_header_value_check(a, what, in[i].name,
                                           in[i].value);
        }
        if (why != NULL) {
            return why;
        }

        for (j = 0; j < *n; j++) {
            if (strcasecmp(list[j].name, in[i].name) == 0) {
                break;
            }
        }
        if (j < *n) {
            continue;
        }

        if (gw_dp_header_seen(m, in[i].name)) {
            return gw_arena_printf(a, "%s: header %s is in more than one of "
                                   "set, add and remove", what, in[i].name);
        }

        list[(*n)++] = in[i];
    }

    return NULL;
}


const char *
gw_dp_header_mod_check(gw_arena_t *a, const char *what,
    const gw_header_mod_t *in, gw_dp_header_mod_t **out)
{
    size_t               i, j;
    const char          *why, *name;
    gw_dp_header_mod_t  *m;

    m = gw_arena_alloc(a, sizeof(gw_dp_header_mod_t));
    *out = m;

    why = gw_dp_header_list(a, what, in->set, in->nset, m, &m->set,
                            &m->nset);
    if (why == NULL) {
        why = gw_dp_header_list(a, what, in->add, in->nadd, m, &m->add,
                                &m->nadd);
    }
    if (why != NULL) {
        return why;
    }

    m->remove = gw_arena_alloc(a, (in->nremove + 1) * sizeof(char *));

    for (i = 0; i < in->nremove; i++) {
        name = in->remove[i];

        why = gw_dp_header_name_check(a, what, name);
        if (why != NULL) {
            return why;
        }

        for (j = 0; j < m->nremove; j++) {
            if (strcasecmp(m->remove[j], name) == 0) {
                break;
            }
        }
        if (j < m->nremove) {
            continue;
        }

        if (gw_dp_header_seen(m, name)) {
            return gw_arena_printf(a, "%s: header %s is in more than one of "
                                   "set, add and remove", what, name);
        }

        m->remove[m->nremove++] = name;
    }

    return NULL;
}


/* Where name is in m: 0 nowhere, 1 set, 2 add, 3 remove; *value its. */
static int
gw_dp_header_find(const gw_dp_header_mod_t *m, const char *name,
    const char **value)
{
    size_t  i;

    for (i = 0; m != NULL && i < m->nset; i++) {
        if (strcasecmp(m->set[i].name, name) == 0) {
            *value = m->set[i].value;
            return 1;
        }
    }

    for (i = 0; m != NULL && i < m->nadd; i++) {
        if (strcasecmp(m->add[i].name, name) == 0) {
            *value = m->add[i].value;
            return 2;
        }
    }

    for (i = 0; m != NULL && i < m->nremove; i++) {
        if (strcasecmp(m->remove[i], name) == 0) {
            return 3;
        }
    }

    return 0;
}


static size_t
gw_dp_header_name_add(const char **names, size_t n, const char *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcasecmp(names[i], name) == 0) {
            return n;
        }
    }

    names[n] = name;

    return n + 1;
}


size_t
gw_dp_header_names(const gw_dp_header_mod_t *m, const char **names,
    size_t n)
{
    size_t  i;

    for (i = 0; m != NULL && i < m->nset; i++) {
        n = gw_dp_header_name_add(names, n, m->set[i].name);
    }

    for (i = 0; m != NULL && i < m->nadd; i++) {
        n = gw_dp_header_name_add(names, n, m->add[i].name);
    }

    for (i = 0; m != NULL && i < m->nremove; i++) {
        n = gw_dp_header_name_add(names, n, m->remove[i]);
    }

    return n;
}


static void
gw_dp_header_put(gw_dp_header_mod_t *m, int list, const char *name,
    const char *value)
{
    if (list == 1) {
        m->set[m->nset].name = name;
        m->set[m->nset++].value = value;

    } else if (list == 2) {
        m->add[m->nadd].name = name;
        m->add[m->nadd++].value = value;

    } else {
        m->remove[m->nremove++] = name;
    }
}


/*
 * One modifier doing what r (the rule's) then b (the backendRef's) do:
 * b's set and remove win; b's add appends to what r leaves (after r's set
 * or add the values joined with ',', after r's remove a set).
 */
gw_dp_header_mod_t *
gw_dp_header_compose(gw_arena_t *a, const gw_dp_header_mod_t *r,
    const gw_dp_header_mod_t *b)
{
    size_t               i, n;
    const char          *rv, *bv;
    gw_dp_header_mod_t  *m;

    if (r == NULL) {
        return (gw_dp_header_mod_t *) b;
    }

    if (b == NULL) {
        return (gw_dp_header_mod_t *) r;
    }

    n = r->nset + r->nadd + r->nremove + b->nset + b->nadd + b->nremove + 1;

    m = gw_arena_alloc(a, sizeof(gw_dp_header_mod_t));
    m->set = gw_arena_alloc(a, n * sizeof(gw_dp_kv_t));
    m->add = gw_arena_alloc(a, n * sizeof(gw_dp_kv_t));
    m->remove = gw_arena_alloc(a, n * sizeof(char *));

    /* what only the rule touches */
    for (i = 0; i < r->nset; i++) {
        if (gw_dp_header_find(b, r->set[i].name, &bv) == 0) {
            gw_dp_header_put(m, 1, r->set[i].name, r->set[i].value);
        }
    }

    for (i = 0; i < r->nadd; i++) {
        if (gw_dp_header_find(b, r->add[i].name, &bv) == 0) {
            gw_dp_header_put(m, 2, r->add[i].name, r->add[i].value);
        }
    }

    for (i = 0; i < r->nremove; i++) {
        if (gw_dp_header_find(b, r->remove[i], &bv) == 0) {
            gw_dp_header_put(m, 3, r->remove[i], NULL);
        }
    }

    for (i = 0; i < b->nset; i++) {
        gw_dp_header_put(m, 1, b->set[i].name, b->set[i].value);
    }

    for (i = 0; i < b->nremove; i++) {
        gw_dp_header_put(m, 3, b->remove[i], NULL);
    }

    for (i = 0; i < b->nadd; i++) {
        bv = b->add[i].value;

        switch (gw_dp_header_find(r, b->add[i].name, &rv)) {

        case 1:
            gw_dp_header_put(m, 1, b->add[i].name,
                             gw_arena_printf(a, "%s,%s", rv, bv));
            break;

        case 2:
            gw_dp_header_put(m, 2, b->add[i].name,
                             gw_arena_printf(a, "%s,%s", rv, bv));
            break;

        case 3:
            gw_dp_header_put(m, 1, b->add[i].name, bv);
            break;

        default:
            gw_dp_header_put(m, 2, b->add[i].name, bv);
            break;
        }
    }

    return m;
}


const char *
gw_dp_header_var(gw_arena_t *a, const char *name)
{
    char  *v, *p;

    v = gw_arena_strdup(a, name);

    for (p = v; *p; p++) {
        *p = (*p == '-') ? '_' : (char) tolower((unsigned char) *p);
    }

    return v;
}

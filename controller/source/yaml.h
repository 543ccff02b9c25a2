/*
 * Multi-document YAML -> cJSON, shaped like the JSON the Kubernetes API
 * returns for the same object (sigs.k8s.io/yaml on top of go-yaml v2).
 *
 * Typing of scalars (go-yaml v2 / YAML 1.1 resolution):
 *
 *   - mappings -> objects, sequences -> arrays; keys are always strings,
 *     taken verbatim (`on:` stays "on", `1:` stays "1");
 *   - plain scalars:
 *       y Y yes Yes YES true True TRUE on On ON         -> true
 *       n N no No NO false False FALSE off Off OFF      -> false
 *       (empty) ~ null Null NULL                        -> null
 *       integers as Go's strconv.ParseInt(s, 0, 64) reads them once `_`
 *       are removed: decimal, 0x hex, 0o octal, 0b binary, and a leading
 *       zero means octal (0755 -> 493)                  -> number
 *       a leading-zero number that is not valid octal (080, 0.5) falls
 *       through to the float rule, as in go-yaml v2 (080 -> 80)
 *       floats [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
 *                                                       -> number
 *       everything else, including timestamps, .inf and .nan (JSON has
 *       no infinities)                                  -> string
 *   - quoted ('...', "...") and block (|, >) scalars are strings;
 *   - explicit tags win: !!str, !!int, !!float, !!bool, !!null (a value
 *     that does not fit its tag is an error); other tags are ignored and
 *     the scalar is a string;
 *   - anchors and aliases are resolved by copying (an alias to a node
 *     still being built is an "unknown anchor"); merge keys `<<` take a
 *     mapping or a sequence of mappings; keys written in the mapping win
 *     over merged ones, earlier merged mappings over later ones;
 *   - a key written twice keeps the last value (go-yaml v2 does the same);
 *   - limits, each making the document malformed: nesting deeper than
 *     cJSON_Parse() accepts (CJSON_NESTING_LIMIT), and aliases copying
 *     more than a million nodes into one document.
 *
 * Documents are split at lines starting with `---` (and after `...`)
 * before libyaml sees them, so one malformed document does not hide the
 * others.  Every document must be a mapping; empty documents are skipped.
 */

#ifndef GW_SOURCE_YAML_H
#define GW_SOURCE_YAML_H

#include <cjson/cJSON.h>

#include "core/gw_core.h"


/*
 * Called once per good document; the callee owns doc.  line is the
 * 1-based line where the document starts: its first directive or `---`,
 * else its first token.
 */
typedef void (*gw_yaml_doc_pt)(void *ctx, cJSON *doc, const char *file,
    int line);

/*
 * Called once per malformed document; line and column are 1-based and
 * relative to the whole input.
 */
typedef void (*gw_yaml_err_pt)(void *ctx, const char *file, int line,
    int column, const char *problem);

/*
 * Parses data (len bytes, need not be NUL-terminated); file is only
 * passed through to the callbacks (either callback may be NULL).
 * Returns the number of malformed documents (0: all good) or GW_ERR on a
 * hard failure (out of memory in libyaml).
 */
int gw_yaml_parse(const char *file, const char *data, size_t len,
    gw_yaml_doc_pt on_doc, gw_yaml_err_pt on_err, void *ctx);

#endif /* GW_SOURCE_YAML_H */

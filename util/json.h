/* json.h - reading members of cJSON objects, with one contract.
 *
 * Every reader of a JSON document asks the same question: "the string
 * member key of object o, if it is one". json_str answers it once: the
 * caller says what it wants back when there is no such string (NULL to tell
 * absence apart, "" to use it as a string right away). o may be NULL or not
 * an object; a member of another type counts as absent, never as text. */
#ifndef PROMO_JSON_H
#define PROMO_JSON_H

#include <cjson/cJSON.h>

/* json_str - o's member key when it is a string, else dflt. */
const char *json_str(const cJSON *o, const char *key, const char *dflt);

/* json_merge_patch - RFC 7386: target merged with patch; target is
 * consumed (may be NULL), patch is not. Returns the result. */
cJSON *json_merge_patch(cJSON *target, const cJSON *patch);

#endif

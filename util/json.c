/* json.c - reading members of cJSON objects (json.h). */
#include "util/json.h"

const char *json_str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

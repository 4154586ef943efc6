/* json.c - reading members of cJSON objects (json.h). */
#include "util/json.h"

const char *json_str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

/* json_merge_patch - a member null removes, an object merges, anything
 * else replaces. */
cJSON *json_merge_patch(cJSON *target, const cJSON *patch)
{
    const cJSON *p;

    if (!cJSON_IsObject(patch)) {
        cJSON_Delete(target);
        return cJSON_Duplicate(patch, 1);
    }
    if (!cJSON_IsObject(target)) {
        cJSON_Delete(target);
        target = cJSON_CreateObject();
    }
    cJSON_ArrayForEach(p, patch) {
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
        } else {
            cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);
            cJSON_AddItemToObject(target, p->string, json_merge_patch(old, p));
        }
    }
    return target;
}

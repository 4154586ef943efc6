/* plugin.h - the protocol decoder of the plugin adapter, for unit tests.
 *
 * The adapter itself is adapter_plugin (adapter.h); the protocol is in
 * docs/providers.md, section "plugin". */
#ifndef PROMO_ADAPTERS_PLUGIN_H
#define PROMO_ADAPTERS_PLUGIN_H

#include <stddef.h>
#include "adapter.h"

#define PLUGIN_MAX_RESPONSE (64 << 10)     /* bytes of stdout accepted */
#define PLUGIN_MAX_STDERR   1024           /* bytes of stderr tail kept for errmsg */
#define PLUGIN_TIMEOUT_MS   30000          /* default; $PROMO_PLUGIN_TIMEOUT_MS overrides */

/* What promo asked: the verb on the command line and how to judge "run". */
enum plugin_verb {
    PLUGIN_TRIGGER,     /* "trigger": the answer must hold a run */
    PLUGIN_STATUS,      /* "status" with a run: the answer must hold a run */
    PLUGIN_FIND,        /* "status" with only the key: a run means found */
    PLUGIN_CANCEL,      /* "cancel": a run is optional */
};

/* plugin_verb_name - the argv word of verb ("trigger", "status", "cancel"). */
const char *plugin_verb_name(enum plugin_verb verb);

/* plugin_map_status - a protocol status word to a run status; -1 for
 * anything not in the protocol (which is then an error, never a pass). */
int plugin_map_status(const char *s);

/* plugin_decode_response - decode one response (len bytes, not necessarily
 * NUL-terminated) to verb into res: res->error, errmsg, found and run.
 * {"ok":false} answers set error ADAPTER_ETEMP ("temporary":true) or
 * ADAPTER_EPERM and return 0. Returns 0 for a well-formed response, or -1
 * for a protocol violation (res->error = ADAPTER_EPERM, errmsg says what
 * is wrong: the field and the reason). */
int plugin_decode_response(enum plugin_verb verb, const char *buf, size_t len,
                           struct adapter_result *res);

#endif

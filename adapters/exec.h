/* exec.h - the pure parts of the exec adapter, for unit tests.
 *
 * The adapter itself is adapter_exec (adapter.h); docs/providers.md
 * describes the run directory STATE/exec/<key>/ these functions read. */
#ifndef PROMO_ADAPTERS_EXEC_H
#define PROMO_ADAPTERS_EXEC_H

#include <stddef.h>
#include "adapter.h"

#define EXEC_AREA        "exec"
#define EXEC_OUTPUT_MAX  (10 << 20)   /* bytes of output.log kept */
#define EXEC_KILL_GRACE_MS 5000       /* SIGTERM, then SIGKILL this much later */

/* exec_key_valid - 1 when key can name a run directory: 1..100 chars of
 * [a-z0-9-], not starting with '-'. */
int exec_key_valid(const char *key);

/* exec_map_exit - map the text of a run's "exit" file ("exit N",
 * "signal N", "timeout", "cancelled", "error", with or without a final
 * newline) to a status and detail. Anything else is RUN_FAILED with detail
 * "bad exit file": never a pass. Only "exit 0" is RUN_PASSED. */
enum run_status exec_map_exit(const char *text, char *detail, size_t len);

/* exec_param_env_name - the environment variable of parameter name:
 * "PROMO_PARAM_" + name uppercased, every byte other than [A-Za-z0-9_]
 * turned into '_'. Returns 0, or -1 for an empty or over-long (> 64) name. */
int exec_param_env_name(const char *name, char *buf, size_t len);

#endif

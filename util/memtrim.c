/* memtrim.c - trim the heap after a burst of work (see memtrim.h). One
 * state per process, as there is one heap. */
#include <stdint.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "util/loop.h"
#include "util/memtrim.h"
#include "util/util.h"

static struct loop *memtrim_loop;          /* where the timer is armed, or NULL */
static struct loop_timer *memtrim_tmr;
static int64_t memtrim_last;               /* now_ms() of the last trim, 0 never */

/* memtrim_now - see memtrim.h. */
int memtrim_now(void)
{
    memtrim_last = now_ms();
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return 0;
#endif
}

/* memtrim_fire - the timer: trim. */
static void memtrim_fire(struct loop *l, void *arg)
{
    memtrim_loop = NULL;
    memtrim_tmr = NULL;
    memtrim_now();
}

/* memtrim_note - see memtrim.h. */
void memtrim_note(struct loop *l)
{
    int64_t wait = MEMTRIM_DELAY_MS, since;

    if (memtrim_loop == l && memtrim_tmr)
        return;                            /* a trim is coming */
    if (memtrim_last) {
        since = now_ms() - memtrim_last;
        if (since >= 0 && since + wait < MEMTRIM_EVERY_MS)
            wait = MEMTRIM_EVERY_MS - since;
    }
    memtrim_loop = l;
    memtrim_tmr = loop_after(l, wait, memtrim_fire, NULL);
}

/* test_memtrim.c - util/memtrim.h: notes arm one timer, its trim gives a
 * fragmented heap's free pages back (RssAnon falls), and the next trim
 * waits MEMTRIM_EVERY_MS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/loop.h"
#include "util/memtrim.h"
#include "util/util.h"
#include "unit.h"

#define BLOCKS 40000                 /* of 1 KiB: 40 MiB, one in 16 kept */

/* glibc's heap, not a sanitizer's allocator (which keeps what it likes) */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_IS_GLIBC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_IS_GLIBC 0
#endif
#endif
#if !defined(HEAP_IS_GLIBC) && defined(__GLIBC__)
#define HEAP_IS_GLIBC 1
#endif

/* rss_anon_kb - RssAnon of this process, or -1. */
static long rss_anon_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int main(void)
{
    struct loop *l = loop_new(NULL);
    static char *blocks[BLOCKS];
    long before, after;
    int64_t t0;
    int i;

    for (i = 0; i < BLOCKS; i++) {
        blocks[i] = xmalloc(1024);
        memset(blocks[i], 'x', 1024);
    }
    for (i = 0; i < BLOCKS; i++)
        if (i % 16 != 15) {          /* the kept ones pin the heap's top */
            free(blocks[i]);
            blocks[i] = NULL;
        }
    before = rss_anon_kb();
    memtrim_note(l);
    memtrim_note(l);
    memtrim_note(l);
    unit_ok(loop_timers(l) == 1, "three notes arm one timer (%zu)", loop_timers(l));
    t0 = now_ms();
    while (loop_timers(l) > 0 && now_ms() - t0 < 2 * MEMTRIM_DELAY_MS)
        loop_once(l, MEMTRIM_DELAY_MS);
    after = rss_anon_kb();
    unit_ok(loop_timers(l) == 0 && now_ms() - t0 >= MEMTRIM_DELAY_MS - 50,
            "the trim comes %d ms after the first note (%lld ms)", MEMTRIM_DELAY_MS, (long long)(now_ms() - t0));
#if HEAP_IS_GLIBC
    unit_ok(before > 0 && after > 0 && before - after > 16 * 1024,
            "freed pages go back: RssAnon %ld kB -> %ld kB", before, after);
#else
    unit_note("not glibc's heap: RssAnon %ld kB -> %ld kB not checked", before, after);
#endif
    memtrim_note(l);
    unit_ok(loop_timers(l) == 1, "a note after the trim arms the next one");
    t0 = now_ms();
    loop_once(l, MEMTRIM_DELAY_MS + 500);
    unit_ok(loop_timers(l) == 1, "which waits %d ms after the last trim, not %d", MEMTRIM_EVERY_MS,
            MEMTRIM_DELAY_MS);
    for (i = 0; i < BLOCKS; i++)
        free(blocks[i]);
    loop_free(l);
    return unit_done();
}

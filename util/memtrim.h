/* memtrim.h - give back to the system what a burst of work left free.
 *
 * glibc's malloc keeps freed memory for reuse. After a burst (thousands of
 * trackers arriving at once, each with requests in flight) a stage's heap
 * can stay tens of megabytes above what it still holds, spread among the
 * blocks still in use, where no heap shrinking reaches it. malloc_trim(0)
 * returns those free pages (of every arena) to the system.
 *
 * A stage calls memtrim_note() where it finishes work (a message handled,
 * an operation ended, something freed). The first note arms a one-shot
 * timer of MEMTRIM_DELAY_MS; when it fires the heap is trimmed, and the
 * next note arms it again only MEMTRIM_EVERY_MS after that trim: a busy
 * stage trims at most that often, an idle one arms nothing (no timer, no
 * wakeup). Without glibc it does nothing. */
#ifndef PROMO_MEMTRIM_H
#define PROMO_MEMTRIM_H

struct loop;

#define MEMTRIM_DELAY_MS 2000      /* from the first note to the trim */
#define MEMTRIM_EVERY_MS 30000     /* at least this long between two trims */

/* memtrim_note - work was done in loop l: trim the heap soon (see above). */
void memtrim_note(struct loop *l);
/* memtrim_now - trim the heap now; returns 1 when memory was given back. */
int memtrim_now(void);

#endif

/* wasync.h - record writes done by writer threads, so that a stage's loop
 * does not wait for the disk.
 *
 * store_write() fsyncs the file and its directory: on a loaded disk each
 * write costs the loop a millisecond or more of waiting, and a stage that
 * records every step of every job waits for them one after the other. With
 * wasync the loop serializes the document (so later changes to it do not
 * matter), hands the bytes to a writer thread, and goes on; the thread does
 * the same atomic write (util/atomic.c: temp file, fsync, rename, fsync of
 * the directory) and the caller's callback runs back in the loop, from
 * wasync_reap(), once the write is durable. Intent before side effect holds
 * as long as the caller starts the side effect from that callback only.
 *
 * Writes of one record are done in the order they were asked for: a record
 * always goes to the same thread (by a hash of its name), and each
 * thread works through its queue in order. Writes of different records
 * overlap, so their fsyncs do too.
 *
 * wasync_drain() waits for every write asked for and runs their callbacks:
 * a stage calls it before it exits. A crash loses the writes in flight, as
 * it would lose a store_write() in progress: their callbacks never ran. */
#ifndef PROMO_WASYNC_H
#define PROMO_WASYNC_H

#include <cjson/cJSON.h>

struct loop;
struct store;
struct wasync;

/* wasync_done - called in the loop's thread with store_write()'s result. */
typedef void (*wasync_done)(void *arg, int rc);

/* wasync_new - nthreads writer threads for s (started on the first write).
 * Returns NULL on error. */
struct wasync *wasync_new(struct store *s, int nthreads);
/* wasync_new_loop - wasync_new() whose callbacks run in loop l: its fd is
 * watched there and reaped when readable (until wasync_free). NULL on error. */
struct wasync *wasync_new_loop(struct store *s, struct loop *l, int nthreads);
/* wasync_fd - readable when callbacks are waiting for wasync_reap(). */
int wasync_fd(const struct wasync *w);
/* wasync_write - write doc as area/name.json like store_write(), in the
 * background; done(arg, rc) runs from a later wasync_reap(). Returns 0, or
 * -errno (nothing queued, done not called) when doc cannot be encoded. */
int wasync_write(struct wasync *w, const char *area, const char *name, const cJSON *doc, wasync_done done,
                 void *arg);
/* wasync_reap - run the callbacks of the writes that finished; returns how many. */
int wasync_reap(struct wasync *w);
/* wasync_pending - writes asked for whose callbacks have not run. */
int wasync_pending(const struct wasync *w);
/* wasync_drain - wait for every write and run all callbacks. */
void wasync_drain(struct wasync *w);
/* wasync_free - drain, stop the threads, free. */
void wasync_free(struct wasync *w);

#endif

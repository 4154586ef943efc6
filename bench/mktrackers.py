#!/usr/bin/env python3
"""mktrackers.py - write N PullRequestTracker files straight into STATE/trackers.

    mktrackers.py TRACKERS_DIR N RATE CREATED_TSV

Each tracker is bench-r<i>-1 (repository bench/r<i>, PR 1, application r<i>),
synced in dev, in the format promoctl track writes (docs/state.md): one
compact JSON line, mode 0600, written to a dot-temp file and renamed into
place, as atomic_write does (without fsync: the writer of the trackers is not
what is measured). RATE trackers per second (open loop, paced by the clock);
0 writes them as fast as possible. CREATED_TSV gets "name<TAB>epoch_ms" for
each, the moment it was renamed into place (the tracker's synced time).
"""
import hashlib, json, os, sys, time

def main():
    tdir, n, rate, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    t0 = time.time()
    with open(out, "w") as log:
        for i in range(1, n + 1):
            if rate > 0:
                due = t0 + (i - 1) / rate
                d = due - time.time()
                if d > 0:
                    time.sleep(d)
            name = "bench-r%d-1" % i
            now = time.time()
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % int(now * 1000 % 1000)
            doc = {
                "apiVersion": "promo.dev/v1alpha1", "kind": "PullRequestTracker",
                "metadata": {"name": name, "creationTimestamp": ts, "generation": 1},
                "spec": {"repository": "bench/r%d" % i, "number": 1,
                         "headSHA": hashlib.sha1(name.encode()).hexdigest(),
                         "headRef": "feature/bench", "application": "r%d" % i, "environment": "dev"},
                "status": {"environment": "dev", "state": "synced", "updatedAt": ts},
            }
            tmp = os.path.join(tdir, ".%s.json.tmp.%d" % (name, os.getpid()))
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.write(fd, (json.dumps(doc, separators=(",", ":")) + "\n").encode())
            os.close(fd)
            os.rename(tmp, os.path.join(tdir, name + ".json"))
            log.write("%s\t%d\n" % (name, int(time.time() * 1000)))
    return 0

sys.exit(main())

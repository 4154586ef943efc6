#!/usr/bin/env python3
"""mktrackers.py - write N PullRequestTracker files straight into STATE/trackers.

    mktrackers.py TRACKERS_DIR N RATE CREATED_TSV [SIM_URL]

Each tracker is bench-r<i>-1 (repository bench/r<i>, PR 1, application r<i>),
synced in dev, in the format promoctl track writes (docs/state.md): one
compact JSON line, mode 0600, written to a dot-temp file and renamed into
place, as atomic_write does (without fsync: the writer of the trackers is not
what is measured). RATE trackers per second (open loop, paced by the clock);
0 writes them as fast as possible. CREATED_TSV gets "name<TAB>epoch_ms" for
each, the moment it was renamed into place (the tracker's synced time).
With SIM_URL (promo-sim's base URL), each tracker's dev application r<i> is
first deployed there at its head SHA (POST /_sim/deploy, one kept-alive
connection): what the deploy that made it "synced" did, and what promo-monitor
confirms before the tests count (docs/protocol.md, "The deployed revision").
"""
import hashlib, http.client, json, os, sys, time, urllib.parse

def main():
    tdir, n, rate, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    sim = None
    if len(sys.argv) > 5:
        u = urllib.parse.urlsplit(sys.argv[5])
        sim = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    t0 = time.time()
    with open(out, "w") as log:
        for i in range(1, n + 1):
            if rate > 0:
                due = t0 + (i - 1) / rate
                d = due - time.time()
                if d > 0:
                    time.sleep(d)
            name = "bench-r%d-1" % i
            if sim:
                sim.request("POST", "/_sim/deploy?app=r%d&revision=%s" % (i, hashlib.sha1(name.encode()).hexdigest()))
                r = sim.getresponse()
                r.read()
                if r.status != 200:
                    sys.stderr.write("mktrackers: /_sim/deploy of r%d: HTTP %d\n" % (i, r.status))
                    return 1
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

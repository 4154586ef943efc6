#!/usr/bin/env python3
"""analyze.py - turn the logs of bench/run.sh into bench/results.json and bench/results.png.

    analyze.py BENCH_TMP_DIR OUT_DIR

Per pass run (pass-N/):
  trigger_latency_ms   tracker renamed into STATE/trackers (created.tsv) ->
                       promo-sim served the trigger request (its request log
                       "time"), one sample per test (Jenkins, GitLab)
  promote_latency_ms   the monitor's last "event=result ... status=passed" of
                       the tracker (its log ts) -> promo-sim served the Argo CD
                       PATCH of the tracker's application
  promotions_per_s     promotions completed (their "Promoted" audit event,
                       written after Argo CD, GitHub and the record) per
                       second between the 10th and the 90th percentile of
                       their times (sustained), and overall
  cpu_ms_per_promotion utime+stime of the five stages over the run / promotions
  rss_mb               VmHWM of each stage at the end (shared libraries
                       included); rss_anon_mb its RssAnon (the stage's own heap)
  requests_per_promotion  requests promo-sim served, by system / promotions
Webhook run (webhook-N/): the same with promo-webhook, runs that finish
after a fixed time, promo-sim sending their completion webhooks, and polling
stretched:
  webhook_promote_latency_ms  promo-sim began sending the tracker's last
                       completion webhook (its request log, system
                       "webhook", matched to the tracker by the run's
                       TRACKER parameter) -> promo-sim served the Argo CD
                       PATCH of the tracker's application; a PATCH before
                       the webhook (a poll came first) is counted apart,
                       not as a sample
Idle run (idle-N/): the five stages' CPU over the window, in % of one core;
idle-webhooks-N/: the same trackers after the stages were restarted with
webhooks on (polling stretched; promo-webhook running and counted):
idle_cpu_pct_webhooks.
Timestamps all come from the one wall clock of this machine, in ms.
"""
import datetime, json, os, re, sys
from collections import Counter, defaultdict

TARGETS = {"trigger_p99_ms": 20, "promote_p99_ms": 20, "promotions_per_s": 200,
           "cpu_ms_per_promotion": 2, "rss_mb_all_stages": 64, "idle_cpu_pct": 1}
STAGES = ["watcher", "policy", "trigger", "monitor", "promoter"]
TESTS_PER_TRACKER = 2
TRACKER_RE = re.compile(r"bench-r\d+-1")
TS_RE = re.compile(r"^ts=(\S+) ")


def iso_ms(s):
    d = datetime.datetime.strptime(s.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (k - lo), 2)


def summary(xs):
    return {"p50": pct(xs, 50), "p90": pct(xs, 90), "p99": pct(xs, 99), "max": pct(xs, 100),
            "n": len(xs)}


def requests(path):
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def rss(d):
    out = {}
    with open(os.path.join(d, "rss_kb")) as f:
        for line in f:
            s, hwm, cur = line.split()
            out[s] = {"peak": round(int(hwm) / 1024.0, 1), "anon": round(int(cur) / 1024.0, 1)}
    return out


def pass_run(d):
    run = json.load(open(os.path.join(d, "run.json")))
    created = {}
    with open(os.path.join(d, "created.tsv")) as f:
        for line in f:
            name, ms = line.split("\t")
            created[name] = int(ms)
    trig = {}                       # (tracker, system) -> first trigger time
    patch = {}                      # tracker -> first Argo CD PATCH time
    by_system = Counter()
    for r in requests(os.path.join(d, "requests.ndjson")):
        sysname = r.get("system")
        if sysname in ("sim", "webhook"):          # not served to promo: the sim's own
            continue
        by_system[sysname] += 1
        t = iso_ms(r["time"])
        path = r.get("path", "")
        if r.get("method") == "POST" and (path.endswith("/buildWithParameters") or path.endswith("/pipeline")):
            m = TRACKER_RE.search(json.dumps(r.get("body")))
            if m and 200 <= r.get("status", 0) < 300:
                trig.setdefault((m.group(0), sysname), t)
        elif r.get("method") == "PATCH" and sysname == "argocd":
            app = path.rsplit("/", 1)[-1]
            if app.endswith("-staging"):
                patch.setdefault("bench-%s-1" % app[:-len("-staging")], t)
    passed = {}
    with open(os.path.join(d, "monitor.log")) as f:
        for line in f:
            if "event=result " in line and "status=passed" in line:
                m, tm = TRACKER_RE.search(line), TS_RE.match(line)
                if m and tm:
                    t = iso_ms(tm.group(1))
                    passed[m.group(0)] = max(passed.get(m.group(0), 0), t)
    trig_lat = [t - created[k[0]] for k, t in trig.items() if k[0] in created]
    prom_lat = [t - passed[k] for k, t in patch.items() if k in passed]
    done = {}                       # tracker -> its Promoted audit event: the promotion complete
    audit = os.path.join(d, "state", "audit.log")
    if os.path.exists(audit):
        with open(audit) as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("reason") == "Promoted":
                    done.setdefault(e.get("tracker"), iso_ms(e["time"]))
    times = sorted(done.values())
    n = len(times)
    sustained = overall = None
    if n >= 10:
        a, b = times[n // 10], times[(n * 9) // 10]
        if b > a:
            sustained = round(((n * 9) // 10 - n // 10) / ((b - a) / 1000.0), 1)
        first = min(created.values())
        overall = round(n / ((times[-1] - first) / 1000.0), 1) if times[-1] > first else None
    cpu_ms = run["cpu_ticks"] * 1000.0 / run["clk_tck"]
    st_rss = rss(d)
    series = Counter((t - times[0]) // 1000 for t in times) if times else Counter()
    by_stage = {}
    with open(os.path.join(d, "cpu_ticks_end")) as f:
        for line in f:
            s, ticks = line.split()
            by_stage[s] = round(int(ticks) * 1000.0 / run["clk_tck"] / n, 3) if n else None
    return {
        "trackers": run["n"], "arrival_rate_per_s": run["rate"], "promotions": n,
        "durable_writes": run.get("durable", True),
        "cpu_ms_per_promotion_by_stage": {s: by_stage.get(s) for s in STAGES},
        "trigger_latency_ms": summary(trig_lat),
        "promote_latency_ms": summary(prom_lat),
        "promotions_per_s": {"sustained": sustained, "overall": overall},
        "cpu_ms_per_promotion": round(cpu_ms / n, 3) if n else None,
        "cpu_ms_total": round(cpu_ms),
        "rss_mb": {s: st_rss[s]["peak"] for s in STAGES},
        "rss_mb_all_stages": round(sum(st_rss[s]["peak"] for s in STAGES), 1),
        "rss_anon_mb_at_end": {s: st_rss[s]["anon"] for s in STAGES},
        "requests_per_promotion": {k: round(v / n, 2) for k, v in sorted(by_system.items())} if n else {},
        "_trig": trig_lat, "_prom": prom_lat, "_patch": patch,
        "_series": [series.get(i, 0) for i in range(int(max(series) + 1) if series else 0)],
    }


def webhook_outcomes(path):
    """promo-webhook's counts of answers, from its stop line."""
    out = None
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "event=stop " in line and " hinted=" in line:
                    out = {k: int(v) for k, v in re.findall(r" ([a-z_]+)=(\d+)", line)}
    return out


def webhook_run(d):
    r = pass_run(d)
    run = json.load(open(os.path.join(d, "run.json")))
    sent, nsent = {}, Counter()     # tracker -> its last completion webhook (sentAt); how many
    by_source, answers, failed = Counter(), Counter(), 0
    for e in requests(os.path.join(d, "requests.ndjson")):
        if e.get("system") != "webhook":
            continue
        by_source[e.get("source")] += 1
        answers[str(e.get("status"))] += 1
        if e.get("error"):
            failed += 1
        tr = ((e.get("run") or {}).get("params") or {}).get("TRACKER")
        if tr and e.get("sentAt"):
            sent[tr] = max(sent.get(tr, 0), int(e["sentAt"]))
            nsent[tr] += 1
    lat, before = [], 0
    for tr, t in r["_patch"].items():
        if tr in sent and nsent[tr] >= TESTS_PER_TRACKER:
            if t < sent[tr]:
                before += 1
            else:
                lat.append(t - sent[tr])
    all_procs = STAGES + ["webhook"]
    st_rss = rss(d)
    n = r["promotions"]
    return {
        "trackers": r["trackers"], "arrival_rate_per_s": r["arrival_rate_per_s"], "promotions": n,
        "durable_writes": r["durable_writes"], "run_ms": run.get("run_ms"), "poll_stretch": run.get("poll_stretch"),
        "webhook_promote_latency_ms": summary(lat),
        "patched_before_webhook": before,
        "promote_latency_ms": r["promote_latency_ms"],
        "trigger_latency_ms": r["trigger_latency_ms"],
        "promotions_per_s": r["promotions_per_s"],
        "webhooks_sent": dict(sorted(by_source.items())),
        "webhook_answers": dict(sorted(answers.items())),
        "webhook_delivery_failures": failed,
        "promo_webhook_outcomes": webhook_outcomes(os.path.join(d, "webhook.log")),
        "requests_per_promotion": r["requests_per_promotion"],
        "cpu_ms_per_promotion": r["cpu_ms_per_promotion"],
        "rss_mb": {s: st_rss[s]["peak"] for s in all_procs if s in st_rss},
        "_wh": lat,
    }


def idle_run(d):
    run = json.load(open(os.path.join(d, "run.json")))
    secs = (run["t1_ms"] - run["t0_ms"]) / 1000.0
    cpu_s = run["cpu_ticks"] / float(run["clk_tck"])
    r0, r1 = open(os.path.join(d, "idle-requests")).read().split()
    st_rss = rss(d)
    procs = [s for s in STAGES + ["webhook"] if s in st_rss]
    by_proc = {}
    win = os.path.join(d, "cpu_ticks_window")
    if os.path.exists(win):
        with open(win) as f:
            for line in f:
                s, a, b = line.split()
                by_proc[s] = round(100.0 * (int(b) - int(a)) / run["clk_tck"] / secs, 2)
    trig = os.path.join(d, "triggered")
    return {"trackers": run["n"], "window_s": round(secs, 1),
            "tests_running": int(open(trig).read()) if os.path.exists(trig) else None,
            "idle_cpu_pct": round(100.0 * cpu_s / secs, 2),
            "idle_cpu_pct_of_machine": round(100.0 * cpu_s / secs / os.cpu_count(), 2),
            "idle_cpu_pct_by_process": {s: by_proc.get(s) for s in procs} if by_proc else None,
            "requests_per_s": round((int(r1) - int(r0)) / secs, 1),
            "rss_mb": {s: st_rss[s]["peak"] for s in procs},
            "rss_mb_all_stages": round(sum(st_rss[s]["peak"] for s in STAGES), 1),
            "rss_anon_mb": {s: st_rss[s]["anon"] for s in procs}}


def plot(runs, wh, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.stderr.write("analyze: no matplotlib (apt-get install python3-matplotlib): no plot\n")
        return None
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.8))
    for size, r in runs.items():
        for key, label in (("_trig", "trigger"), ("_prom", "promote")):
            xs = sorted(r[key])
            if xs:
                ys = [(i + 1) / len(xs) for i in range(len(xs))]
                ax[0 if key == "_trig" else 1].plot(xs, ys, label="%s trackers" % size)
        ax[2].plot(range(len(r["_series"])), r["_series"], label="%s trackers" % size)
    if wh and wh["_wh"]:
        xs = sorted(wh["_wh"])
        ax[1].plot(xs, [(i + 1) / len(xs) for i in range(len(xs))], linestyle="-.",
                   label="webhook sent -> PATCH, %s trackers" % wh["trackers"])
    for a, title in ((ax[0], "trigger latency (synced -> CI got the trigger)"),
                     (ax[1], "promote latency (last test passed, or its webhook sent -> Argo CD PATCH)")):
        a.set_xscale("log")
        a.set_xlabel("ms (log)")
        a.set_ylabel("fraction of samples")
        a.axvline(20, color="red", linestyle="--", linewidth=0.8, label="target p99 20 ms")
        a.set_title(title, fontsize=10)
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize=8)
    ax[2].axhline(200, color="red", linestyle="--", linewidth=0.8, label="target 200/s")
    ax[2].set_title("throughput: promotions per second", fontsize=10)
    ax[2].set_xlabel("s since the first promotion")
    ax[2].grid(True, alpha=0.3)
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "results.png")
    fig.savefig(path, dpi=90)
    return path


def main():
    src, out = sys.argv[1], sys.argv[2]
    runs, idle, idle_wh, wh = {}, None, None, None
    for e in sorted(os.listdir(src)):
        if e.startswith("pass-"):
            runs[int(e[5:])] = pass_run(os.path.join(src, e))
        elif e.startswith("webhook-"):
            wh = webhook_run(os.path.join(src, e))
        elif e.startswith("idle-webhooks-"):
            idle_wh = idle_run(os.path.join(src, e))
        elif e.startswith("idle-"):
            idle = idle_run(os.path.join(src, e))
    runs = dict(sorted(runs.items()))
    if idle and idle_wh:
        idle["idle_cpu_pct_webhooks"] = idle_wh["idle_cpu_pct"]
    png = plot(runs, wh, out)
    big = runs[max(runs)] if runs else None
    res = {
        "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
        "setup": {"hop": "dev -> staging (single hop)", "tests_per_tracker": 2,
                  "providers": ["jenkins", "gitlab"], "promotion": "argocd PATCH + sync",
                  "durable_writes": all(r.get("durable_writes", True) for r in runs.values()), "sim": "queueMs 0, runMs 0, syncDelay 0",
                  "resyncInterval": "30s (default)", "pollInterval": "10s (default)"},
        "runs": {str(k): {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in runs.items()},
        "webhook": {k: v for k, v in wh.items() if not k.startswith("_")} if wh else None,
        "idle": idle,
        "idle_webhooks": idle_wh,
        "targets": TARGETS,
        "plot": os.path.basename(png) if png else None,
    }
    if big:
        res["met"] = {
            "trigger_p99_ms": (big["trigger_latency_ms"]["p99"] or 1e9) < TARGETS["trigger_p99_ms"],
            "promote_p99_ms": (big["promote_latency_ms"]["p99"] or 1e9) < TARGETS["promote_p99_ms"],
            "promotions_per_s": (big["promotions_per_s"]["sustained"] or 0) >= TARGETS["promotions_per_s"],
            "cpu_ms_per_promotion": (big["cpu_ms_per_promotion"] or 1e9) < TARGETS["cpu_ms_per_promotion"],
            "rss_mb_all_stages": max(big["rss_mb_all_stages"], idle["rss_mb_all_stages"] if idle else 0)
                                 < TARGETS["rss_mb_all_stages"],
            "idle_cpu_pct": (idle["idle_cpu_pct"] < TARGETS["idle_cpu_pct"]) if idle else None,
        }
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(json.dumps(res, indent=2))


main()

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
Every run:
  anon_mb_all_stages   the peak, over the run's samples (anon.tsv: each
                       process's RssAnon once a second), of the five stages'
                       RssAnon summed at one sample; rss_anon_mb_by_stage the
                       peak of each process
  requests_per_test_per_min  status reads of runs promo-sim served (poll
                       requests: GETs of Jenkins queue items, builds and
                       jobs, GitLab pipelines, GitHub Actions runs, single or
                       listed) / running tests / minutes: in a pass or
                       webhook run, divided by the tests' running time (its
                       trigger served -> promo-monitor's result line); idle,
                       by the tests waiting times the window
github_budget: the one JSON object bench/ratelimit.sh printed (its shape
checked), when it ran. met: each target of issue 15, {figure, target, value,
met}; value and met null when this run did not measure it.
Timestamps all come from the one wall clock of this machine, in ms.
"""
import datetime, json, os, re, sys
from collections import Counter, defaultdict

STAGES = ["watcher", "policy", "trigger", "monitor", "promoter"]
TESTS_PER_TRACKER = 2
TEST_OF = {"jenkins": "smoke", "gitlab": "e2e"}         # the bench policy's tests, by provider
TRACKER_RE = re.compile(r"bench-r\d+-1")
TS_RE = re.compile(r"^ts=(\S+) ")
RESULT_RE = re.compile(r" tracker=(\S+) test=(\S+) ")
# status reads of runs (polling), single or listed, by system
POLL_RE = {
    "jenkins": re.compile(r"^/jenkins(/job/[^?]+)?/(queue/item/\d+/|job/[^/]+/(\d+/)?)api/json$"),
    "gitlab": re.compile(r"^/gitlab/api/v4/projects/[^/]+/pipelines(/\d+(/jobs|/variables)?)?$"),
    "github": re.compile(r"^/github/repos/[^/]+/[^/]+/actions/(runs(/\d+(/jobs)?)?|workflows/[^/]+/runs)$"),
}
# the GitHub budget object of bench/ratelimit.sh: its keys, all numbers
BUDGET_KEYS = ("runs", "window_s", "github_requests", "github_requests_counted", "requests_per_hour",
               "max_result_delay_s", "p99_result_delay_s", "requests_per_test_per_min")


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


def is_poll(r):
    """Whether request-log entry r is a status read of a run (a poll)."""
    rx = POLL_RE.get(r.get("system"))
    return bool(rx and r.get("method") == "GET" and rx.match(r.get("path", "")))


def iso(ms):
    """Epoch ms as promo-sim's request-log time (fixed width: compares as a string)."""
    d = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def ci_requests_between(path, t0_ms, t1_ms):
    """(polls, all requests to jenkins/gitlab/github, polls by system) served in [t0, t1]."""
    a, b = iso(t0_ms), iso(t1_ms)
    polls, ci, by_system = 0, 0, Counter()
    for r in requests(path):
        if r.get("system") not in POLL_RE or not a <= r.get("time", "") <= b:
            continue
        ci += 1
        if is_poll(r):
            polls += 1
            by_system[r["system"]] += 1
    return polls, ci, dict(sorted(by_system.items()))


def per_test_min(count, test_minutes):
    return round(count / test_minutes, 3) if test_minutes > 0 else None


def anon(d, t0_ms=None, t1_ms=None):
    """From d/anon.tsv ("epoch_ms name kB ..." per sample), the samples in
    [t0, t1] (all when None): the peak of the five stages' sum, in MB, the
    peak of each process, and the number of samples."""
    path = os.path.join(d, "anon.tsv")
    peak_sum, peak, n = 0, {}, 0
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) < 3 or len(w) % 2 == 0 or not w[0].isdigit():
                    continue                # a line cut by the sampler's stop
                t = int(w[0])
                if (t0_ms is not None and t < t0_ms) or (t1_ms is not None and t > t1_ms):
                    continue
                kb = {w[i]: int(w[i + 1]) for i in range(1, len(w), 2) if w[i + 1].isdigit()}
                n += 1
                peak_sum = max(peak_sum, sum(kb.get(s, 0) for s in STAGES))
                for s, v in kb.items():
                    peak[s] = max(peak.get(s, 0), v)
    mb = lambda kb: round(kb / 1024.0, 1)
    return {"anon_mb_all_stages": mb(peak_sum) if n else None,
            "rss_anon_mb_by_stage": {s: mb(peak[s]) for s in STAGES + ["webhook"] if s in peak},
            "anon_samples": n}


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
    by_system, polls = Counter(), Counter()
    for r in requests(os.path.join(d, "requests.ndjson")):
        sysname = r.get("system")
        if sysname in ("sim", "webhook"):          # not served to promo: the sim's own
            continue
        by_system[sysname] += 1
        if is_poll(r):
            polls[sysname] += 1
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
    passed, result = {}, {}         # tracker -> its last passing result; (tracker, test) -> first result
    with open(os.path.join(d, "monitor.log")) as f:
        for line in f:
            if "event=result " not in line:
                continue
            m, tm = RESULT_RE.search(line), TS_RE.match(line)
            if not (m and tm):
                continue
            t = iso_ms(tm.group(1))
            result.setdefault((m.group(1), m.group(2)), t)
            if "status=passed" in line:
                passed[m.group(1)] = max(passed.get(m.group(1), 0), t)
    # each test's running time: its trigger served -> its result seen
    test_min = sum(result[(k[0], TEST_OF[k[1]])] - t for k, t in trig.items()
                   if (k[0], TEST_OF.get(k[1])) in result) / 60000.0
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
        "poll_requests": dict(sorted(polls.items())),
        "poll_requests_per_test": round(sum(polls.values()) / len(trig), 2) if trig else None,
        "test_minutes": round(test_min, 2),
        "requests_per_test_per_min": per_test_min(sum(polls.values()), test_min),
        **anon(d),
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
        "poll_requests": r["poll_requests"],
        "poll_requests_per_test": r["poll_requests_per_test"],
        "test_minutes": r["test_minutes"],
        "requests_per_test_per_min": r["requests_per_test_per_min"],
        "anon_mb_all_stages": r["anon_mb_all_stages"],
        "rss_anon_mb_by_stage": r["rss_anon_mb_by_stage"],
        "anon_samples": r["anon_samples"],
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
    tests = int(open(trig).read()) if os.path.exists(trig) else None
    polls, ci, by_system = ci_requests_between(run["requests_log"], run["t0_ms"], run["t1_ms"]) \
        if run.get("requests_log") and os.path.exists(run["requests_log"]) else (None, None, None)
    test_min = (tests or 0) * secs / 60.0
    in_window = anon(d, run["t0_ms"], run["t1_ms"])
    return {"trackers": run["n"], "window_s": round(secs, 1),
            "tests_running": tests,
            **anon(d),
            "anon_mb_all_stages_window": in_window["anon_mb_all_stages"],
            "poll_requests": by_system,
            "requests_per_test_per_min": per_test_min(polls, test_min) if polls is not None else None,
            "ci_requests_per_test_per_min": per_test_min(ci, test_min) if ci is not None else None,
            "idle_cpu_pct": round(100.0 * cpu_s / secs, 2),
            "idle_cpu_pct_of_machine": round(100.0 * cpu_s / secs / os.cpu_count(), 2),
            "idle_cpu_pct_by_process": {s: by_proc.get(s) for s in procs} if by_proc else None,
            "requests_per_s": round((int(r1) - int(r0)) / secs, 1),
            "rss_mb": {s: st_rss[s]["peak"] for s in procs},
            "rss_mb_all_stages": round(sum(st_rss[s]["peak"] for s in STAGES), 1),
            "rss_anon_mb": {s: st_rss[s]["anon"] for s in procs}}


def github_budget(src):
    """The object bench/ratelimit.sh printed (src/github-budget.json), its
    shape checked: (object or None, error or None). None, None: it did not run."""
    path = os.path.join(src, "github-budget.json")
    if not os.path.exists(path):
        return None, None
    rc = os.path.join(src, "github-budget.rc")
    if os.path.exists(rc):
        return None, "ratelimit.sh exited with %s" % open(rc).read().strip()
    text = open(path).read()
    if len(text) > 65536:
        return None, "ratelimit.sh printed %d bytes" % len(text)
    try:
        obj = json.loads(text)
    except ValueError as e:
        return None, "ratelimit.sh printed no single JSON object: %s" % e
    if not isinstance(obj, dict):
        return None, "ratelimit.sh printed a JSON %s, not an object" % type(obj).__name__
    for k in BUDGET_KEYS:
        v = obj.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < 0:
            return None, "ratelimit.sh: %s is %s, not a number >= 0" % (k, json.dumps(v))
    return obj, None


def met_table(runs, idle, budget):
    """Issue 15's targets, each {figure, target, value, met}: value from the
    run the target names (null when not run), met whether it meets it."""
    def run(n):
        r = runs.get(n)
        return r if r and r["arrival_rate_per_s"] == 250 else None
    def get(r, *keys):
        for k in keys:
            r = r.get(k) if isinstance(r, dict) else None
        return r
    idle10k = idle if idle and idle["trackers"] == 10000 else None
    gh = budget if budget and budget["runs"] == 1000 else None
    anon_idle = None
    if idle10k:
        xs = [x for x in (idle10k.get("anon_mb_all_stages"), idle10k.get("anon_mb_all_stages_webhooks")) if x is not None]
        anon_idle = max(xs) if xs else None
    rows = [
        ("trigger_p99_ms_1000", "trigger latency p99, 1,000 at 250/s (ms)", "<", 20,
         get(run(1000), "trigger_latency_ms", "p99")),
        ("promote_p99_ms_1000", "promote latency p99, 1,000 at 250/s (ms)", "<", 20,
         get(run(1000), "promote_latency_ms", "p99")),
        ("promotions_per_s_10000", "sustained promotions/s, 10,000 at 250/s", ">=", 240,
         get(run(10000), "promotions_per_s", "sustained")),
        ("trigger_p99_ms_10000", "trigger latency p99, 10,000 at 250/s (ms)", "<", 50,
         get(run(10000), "trigger_latency_ms", "p99")),
        ("promote_p99_ms_10000", "promote latency p99, 10,000 at 250/s (ms)", "<", 50,
         get(run(10000), "promote_latency_ms", "p99")),
        ("cpu_ms_per_promotion_1000", "CPU per promotion, all stages, 1,000 (ms)", "<", 2,
         get(run(1000), "cpu_ms_per_promotion")),
        ("cpu_ms_per_promotion_10000", "CPU per promotion, all stages, 10,000 (ms)", "<", 2,
         get(run(10000), "cpu_ms_per_promotion")),
        ("anon_mb_all_stages_idle", "anon memory, all stages, 10,000 trackers, 20,000 tests (MB)",
         "<", 64, anon_idle),
        ("idle_cpu_pct_webhooks", "idle CPU, all stages, 10,000 waiting, webhooks (% core)", "<", 1,
         get(idle10k, "idle_cpu_pct_webhooks")),
        ("github_requests_per_hour", "GitHub requests/hour, 1,000 Actions runs, no webhooks", "<", 5000,
         get(gh, "requests_per_hour")),
        ("github_max_result_delay_s", "GitHub: every result seen within (s), 1,000 runs", "<=", 60,
         get(gh, "max_result_delay_s")),
    ]
    ok = {"<": lambda v, t: v < t, "<=": lambda v, t: v <= t, ">=": lambda v, t: v >= t}
    return [{"key": k, "figure": f, "target": "%s %s" % (op, t), "value": v,
             "met": ok[op](v, t) if v is not None else None} for k, f, op, t, v in rows]


def print_met(met, budget_err):
    """The met table as text, on stdout: figure, target, value, met; then
    why the GitHub budget is missing, when its script failed."""
    w = max(len(r["figure"]) for r in met)
    print("%-*s  %-8s  %12s  %s" % (w, "figure", "target", "value", "met"))
    for r in met:
        v = "-" if r["value"] is None else ("%g" % r["value"])
        m = "-" if r["met"] is None else ("yes" if r["met"] else "NO")
        print("%-*s  %-8s  %12s  %s" % (w, r["figure"], r["target"], v, m))
    if budget_err:
        print("github_budget: %s" % budget_err)


def print_runs(runs):
    """Each run's memory and polling, as text: run, anon MB of all stages
    (peak), poll requests per running test per minute."""
    print("%-20s  %18s  %26s" % ("run", "anon_mb_all_stages", "requests_per_test_per_min"))
    for label, r in runs.items():
        v = [("-" if r.get(k) is None else "%g" % r[k]) for k in ("anon_mb_all_stages", "requests_per_test_per_min")]
        print("%-20s  %18s  %26s" % (label, v[0], v[1]))


def cdf(a, xs, **kw):
    xs = sorted(xs)
    if xs:
        a.plot(xs, [(i + 1) / len(xs) for i in range(len(xs))], **kw)


def plot_memory(a, mem):
    """Grouped bars: the peak RssAnon of each process in each run, and the
    peak of the five stages' sum, against the 64 MB target (log scale)."""
    procs = [p for p in STAGES + ["webhook"] if any(p in m["rss_anon_mb_by_stage"] for m in mem.values())]
    groups = procs + ["all stages"]
    width = 0.8 / max(len(mem), 1)
    for j, (label, m) in enumerate(mem.items()):
        ys = [m["rss_anon_mb_by_stage"].get(p, 0) for p in procs] + [m["anon_mb_all_stages"] or 0]
        a.bar([i + (j - (len(mem) - 1) / 2.0) * width for i in range(len(groups))], ys, width, label=label)
    a.hlines(64, len(groups) - 1.45, len(groups) - 0.55, color="red", linestyle="--", linewidth=1,
             label="target 64 MB, all stages")
    a.set_xticks(range(len(groups)))
    a.set_xticklabels(groups, fontsize=8)
    a.set_yscale("log")
    a.set_ylabel("MB (log)")
    a.set_title("memory: peak RssAnon per stage, and of all stages together, per run", fontsize=10)
    a.grid(True, axis="y", which="both", alpha=0.3)
    a.legend(fontsize=7)


def plot(runs, wh, mem, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.stderr.write("analyze: no matplotlib (apt-get install python3-matplotlib): no plot\n")
        return None
    fig, axs = plt.subplots(2, 2, figsize=(16, 9.6))
    ax = [axs[0][0], axs[0][1], axs[1][0], axs[1][1]]
    for size, r in runs.items():
        cdf(ax[0], r["_trig"], label="%s trackers" % size)
        cdf(ax[1], r["_prom"], label="%s trackers" % size)
        ax[2].plot(range(len(r["_series"])), r["_series"], label="%s trackers" % size)
    if wh:
        cdf(ax[1], wh["_wh"], linestyle="-.", label="webhook sent -> PATCH, %s trackers" % wh["trackers"])
    for a, title in ((ax[0], "trigger latency (synced -> CI got the trigger)"),
                     (ax[1], "promote latency (last test passed, or its webhook sent -> Argo CD PATCH)")):
        a.set_xscale("log")
        a.set_xlabel("ms (log)")
        a.set_ylabel("fraction of samples")
        a.axvline(20, color="red", linestyle="--", linewidth=0.8, label="target p99 20 ms (1,000)")
        a.axvline(50, color="darkred", linestyle=":", linewidth=0.8, label="target p99 50 ms (10,000)")
        a.set_title(title, fontsize=10)
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize=8)
    ax[2].axhline(240, color="red", linestyle="--", linewidth=0.8, label="target 240/s")
    ax[2].set_title("throughput: promotions per second", fontsize=10)
    ax[2].set_xlabel("s since the first promotion")
    ax[2].grid(True, alpha=0.3)
    ax[2].legend(fontsize=8)
    plot_memory(ax[3], mem)
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
        idle["anon_mb_all_stages_webhooks"] = idle_wh["anon_mb_all_stages"]
        idle["requests_per_test_per_min_webhooks"] = idle_wh["requests_per_test_per_min"]
    every = {"%s %d" % (kind, r["trackers"]): r for kind, r in
             [("pass", r) for r in runs.values()] + [("webhook", wh), ("idle", idle), ("idle+webhooks", idle_wh)] if r}
    mem = {k: r for k, r in every.items() if r.get("anon_samples")}
    png = plot(runs, wh, mem, out)
    budget, budget_err = github_budget(src)
    commit = open(os.path.join(src, "commit")).read().split() if os.path.exists(os.path.join(src, "commit")) else []
    met = met_table(runs, idle, budget)
    res = {
        "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
        "commit": {"head": commit[0], "tree": commit[1]} if len(commit) == 2 else None,
        "setup": {"hop": "dev -> staging (single hop)", "tests_per_tracker": 2,
                  "providers": ["jenkins", "gitlab"], "promotion": "argocd PATCH + sync",
                  "durable_writes": all(r.get("durable_writes", True) for r in runs.values()), "sim": "queueMs 0, runMs 0, syncDelay 0",
                  "resyncInterval": "30s (default)", "pollInterval": "10s (default)"},
        "runs": {str(k): {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in runs.items()},
        "webhook": {k: v for k, v in wh.items() if not k.startswith("_")} if wh else None,
        "idle": idle,
        "idle_webhooks": idle_wh,
        "github_budget": budget,
        "targets": {r["key"]: r["target"] for r in met},
        "plot": os.path.basename(png) if png else None,
        "met": met,
    }
    if budget_err:
        res["github_budget_error"] = budget_err
        sys.stderr.write("analyze: %s\n" % budget_err)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(json.dumps(res, indent=2))
    print()
    print_met(met, budget_err)
    print()
    print_runs(every)


main()

# check.jq - count what promo did to each tracker of a crash or chaos session
# (tests/chaos/lib.bash, chaos_check), from promo-sim's request log, the
# trackers' view (promoctl list --json) and the audit log (promoctl events).
#
# Inputs (jq -n): $reqs the request log (slurped), $list[0] promoctl list,
# $events[0] the audit events, $trackers "N\n" per tracker (acme/shop#N),
# $shas "N SHA\n" per tracker. The chain is tests/chaos/lib.bash's
# chaos_policies: dev -> staging tested by jenkins promo/smoke, GitHub
# Actions e2e.yml and GitLab acme/api; staging -> prod by jenkins
# promo/smoke-staging; applications shop-gG-ENV shared by the trackers of
# group G ($groups "N G\n" per tracker); labels promoted:ENV, commit status
# context promo/ENV, one comment per PR (edited on the second hop).
#
# Output: {trackers, done, promotions, triggers, duplicates, losses,
# intrusions, problems}. An intrusion is a PR deployed into an application
# another PR still held: for consecutive PATCHes of one application by two
# trackers a then b, a must have left first: in staging, a's prod PATCH comes
# before b's staging PATCH; in prod (the end of the chain), a's prod sync
# comes before b's prod PATCH.

def ok: .status >= 200 and .status < 300;
def count(f): map(select(f)) | length;

($shas | split("\n") | map(select(length > 0) | split(" ") | {key: .[1], value: .[0]}) | from_entries) as $bysha
| ($trackers | split("\n") | map(select(length > 0))) as $ns
| ($groups | split("\n") | map(select(length > 0) | split(" ") | {key: .[0], value: .[1]}) | from_entries) as $grp
| [$reqs[] | select(ok)] as $ok

# every CI trigger accepted: tracker, test, key
| [ $ok[] | select(.method == "POST") |
    if .system == "jenkins" and (.path | test("/buildWithParameters$")) then
        {n: ($bysha[(.body.GIT_COMMIT // .query.GIT_COMMIT // "")] // "?"),
         test: (.path | capture("/job/promo/job/(?<j>[^/]+)/").j),
         key: (.body.PROMO_KEY // .query.PROMO_KEY)}
    elif .system == "github" and (.path | test("/dispatches$")) then
        {n: ($bysha[(.body.inputs.sha // "")] // "?"), test: "e2e", key: .body.inputs.promo_key}
    elif .system == "gitlab" and (.path | test("/pipeline$")) then
        {n: ((.body.ref // "") | ltrimstr("feature/")), test: "api",
         key: ([.body.variables[]? | select(.key == "PROMO_KEY") | .value][0])}
    else empty end ] as $trig

# every Argo CD write accepted: app, op, revision
| [ $ok[] | select(.system == "argocd") |
    select(.method == "PATCH" or (.method == "POST" and (.path | test("/sync$")))) |
    {seq: .seq, time: .time, app: (.path | capture("/applications/(?<a>[^/?]+)").a),
     op: (if .method == "PATCH" then "patch" else "sync" end),
     rev: (if .method == "PATCH" then ((.body.patch // "") | tostring | (try (fromjson | .spec.source.targetRevision) catch null))
           else .body.revision end)} ] as $argo

# GitHub promotion side effects
| [ $ok[] | select(.system == "github" and .method == "POST") |
    if (.path | test("/issues/[0-9]+/labels$")) then
        .body.labels[]? as $l | {n: (.path | capture("/issues/(?<n>[0-9]+)/").n), what: ("label " + $l)}
    elif (.path | test("/statuses/[0-9a-f]+$")) then
        {n: ($bysha[(.path | capture("/statuses/(?<s>[0-9a-f]+)$").s)] // "?"), what: ("status " + (.body.context // "") + " " + (.body.state // ""))}
    elif (.path | test("/issues/[0-9]+/comments$")) then
        {n: (.path | capture("/issues/(?<n>[0-9]+)/").n), what: "comment"}
    else empty end ] as $gh

| ($list[0] // []) as $view
| ($events[0] // []) as $ev

| [ $ns[] as $n
    | ($bysha | to_entries | map(select(.value == $n)) | .[0].key) as $sha
    | ( ( ["smoke", "e2e", "api", "smoke-staging"][] as $t
          | ($trig | map(select(.n == $n and .test == $t))) as $ts
          | if ($ts | length) == 0 then {loss: 1, why: "acme-shop-\($n): test \($t) never triggered"}
            elif ($ts | length) > 1 then
                {dup: (($ts | length) - 1),
                 why: "acme-shop-\($n): test \($t) triggered \($ts | length) times (keys \($ts | map(.key) | unique | join(",")))"}
            else empty end ),
        ( ["staging", "prod"][] as $env
          | "shop-g\($grp[$n])-\($env)" as $app
          | (["patch", "sync"][] as $op
             | ($argo | map(select(.app == $app and .op == $op and .rev == $sha))) as $a
             | if ($a | length) == 0 then {loss: 1, why: "acme-shop-\($n): no Argo CD \($op) of \($app) at its SHA"}
               elif ($a | length) > 1 then {dup: (($a | length) - 1), why: "acme-shop-\($n): \($a | length) Argo CD \($op) requests of \($app)"}
               else empty end),
            ( ["label promoted:\($env)", "status promo/\($env) success"][] as $w
              | ($gh | count(.n == $n and .what == $w)) as $c
              | if $c == 0 then {loss: 1, why: "acme-shop-\($n): no GitHub \($w)"}
                elif $c > 1 then {dup: ($c - 1), why: "acme-shop-\($n): GitHub \($w) \($c) times"}
                else empty end ) ),
        ( ($gh | count(.n == $n and .what == "comment")) as $c
          | if $c == 0 then {loss: 1, why: "acme-shop-\($n): no GitHub comment"}
            elif $c > 1 then {dup: ($c - 1), why: "acme-shop-\($n): \($c) GitHub comments created"}
            else empty end ),
        ( ($ev | count(.tracker == "acme-shop-\($n)" and .reason == "Promoted")) as $c
          | if $c > 2 then {dup: ($c - 2), why: "acme-shop-\($n): \($c) Promoted audit events"}
            elif $c < 2 then {loss: (2 - $c), why: "acme-shop-\($n): \($c) Promoted audit events"}
            else empty end ),
        ( ($view | map(select(.name == "acme-shop-\($n)")) | .[0]) as $v
          | if $v == null then {loss: 1, why: "acme-shop-\($n): not tracked"}
            elif $v.state != "done" or $v.environment != "prod" then
                {loss: 1, why: "acme-shop-\($n): \($v.state) in \($v.environment), not done in prod"}
            else empty end ) )
  ] as $p

# intrusions: per shared application, consecutive PATCHes by two trackers
| ($argo | map(select(.op == "patch")) | map(. + {n: ($bysha[.rev] // "?")})) as $patches
| ($left[0] // {}) as $lefts
| [ $patches | group_by(.app)[] | sort_by(.seq) as $ps
    | range(1; $ps | length) as $i
    | $ps[$i - 1] as $a | $ps[$i] as $b
    | select($a.n != $b.n)
    | ($a.app | test("-staging$")) as $staging
    | ($lefts[$a.n] // {}) as $l
    | (if $staging then $l.stagingDecidedAt else $l.prodSyncedAt end) as $gone
    | select($gone == null or $gone == "" or $gone > $b.time)
    | "\($b.app): acme-shop-\($b.n) deployed at \($b.time) while acme-shop-\($a.n) still held it (\(if $staging then "its staging tests decided" else "verified in prod" end) at \($gone // "never"))" ] as $intr

| { trackers: ($ns | length),
    done: ($view | count(.state == "done" and .environment == "prod")),
    promotions: ($argo | map(select(.op == "sync")) | map(.app + " " + (.rev // "")) | unique | length),
    triggers: ($trig | length),
    duplicates: ($p | map(.dup // 0) | add // 0),
    losses: ($p | map(.loss // 0) | add // 0),
    intrusions: ($intr | length),
    problems: (($p | map(.why)) + $intr) }

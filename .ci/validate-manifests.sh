#!/usr/bin/env bash
# Renders every app in examples/ (the shop, with a before job and a scheduled job; the
# guestbook, whose Redis is a StatefulSet) and
# the render test apps (crates/zeppelin-kube/tests/apps), then checks the objects with real
# validators:
#   - kubernetes-validate --strict, for the oldest supported Kubernetes (1.30) and the newest
#     the package ships;
#   - checkov: a non-zero number of resources scanned, zero failed checks, no parsing errors,
#     and no skipped check at all for the digest-pinned apps (`pinned`, `stateful`).
# The validators are installed from PyPI in a virtualenv (ZEPPELIN_VALIDATORS_VENV, default
# target/validators). Run from anywhere: bash .ci/validate-manifests.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${ZEPPELIN_VALIDATORS_VENV:-$root/target/validators}
oldest=1.30

if [ ! -x "$venv/bin/checkov" ] || [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate checkov
fi

cargo build --quiet -p zeppelin-cli
zeppelin=$root/target/debug/zeppelin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Secret values for the test apps: render includes the Secret objects so they are checked too.
export MARKET_API_TOKEN=validate-token PINNED_API_TOKEN=validate-token LEDGER_DB_PASSWORD=validate-token

rendered=0
for file in examples/*/zeppelin.toml crates/zeppelin-kube/tests/apps/*/zeppelin.toml; do
    app=$(basename "$(dirname "$file")")
    mkdir -p "$out/$app"
    "$zeppelin" render -f "$file" --include-secrets -o "$out/$app" 2>"$out/$app.stderr" ||
        { cat "$out/$app.stderr"; echo "render failed for $file"; exit 1; }
    rendered=$((rendered + 1))
done
echo "rendered $rendered apps"
# The stateful subs must have come out as StatefulSets, or the checks below prove nothing
# about them.
for app in guestbook stateful; do
    ls "$out/$app"/*-statefulset-*.yaml >/dev/null 2>&1 ||
        { echo "$app rendered no StatefulSet"; exit 1; }
done
# Likewise the jobs: a `before` job's Job and a scheduled job's CronJob in the shop, and
# all three kinds of job (before, scheduled, on demand) in the digest-pinned app, which
# must pass with no skipped check.
for app in shop pinned; do
    ls "$out/$app"/*-job-migrate-*.yaml >/dev/null 2>&1 ||
        { echo "$app rendered no Job for its before job"; exit 1; }
    [ "$(ls "$out/$app"/*-cronjob-*.yaml 2>/dev/null | wc -l)" -ge 1 ] ||
        { echo "$app rendered no CronJob"; exit 1; }
done

newest=$("$venv/bin/kubernetes-validate" --help | sed -n 's/.*Defaults to \([0-9.]*\).*/\1/p' | tr -d ' ')
for version in "$oldest" "$newest"; do
    find "$out" -name '*.yaml' -print0 |
        xargs -0 "$venv/bin/kubernetes-validate" --strict --quiet -k "$version"
    echo "kubernetes-validate --strict: every object is valid for Kubernetes $version"
done

for dir in "$out"/*/; do
    app=$(basename "$dir")
    # checkov exits non-zero on failed checks; the JSON below is what we judge.
    "$venv/bin/checkov" --framework kubernetes --skip-download --quiet -o json -d "$dir" \
        >"$out/$app.checkov.json" 2>"$out/$app.checkov.err" || true
    python3 - "$out/$app.checkov.json" "$app" <<'PY'
import json, sys
path, app = sys.argv[1], sys.argv[2]
try:
    report = json.load(open(path))
except ValueError:
    sys.exit(f"{app}: checkov printed no JSON report")
reports = report if isinstance(report, list) else [report]
summary = reports[0]["summary"]
for r in reports:
    for f in r["results"]["failed_checks"]:
        print(f"{app}: FAILED {f['check_id']} {f['resource']}: {f['check_name']}")
if summary["resource_count"] == 0:
    sys.exit(f"{app}: checkov scanned no resources")
if summary["failed"] or summary["parsing_errors"]:
    sys.exit(f"{app}: checkov: {summary['failed']} failed, {summary['parsing_errors']} parsing errors")
if app in ("pinned", "stateful") and summary["skipped"]:
    sys.exit(f"{app}: the digest-pinned app must pass with no skipped check, got {summary['skipped']}")
print(f"checkov {app}: {summary['resource_count']} resources, {summary['passed']} passed, 0 failed, {summary['skipped']} skipped")
PY
done
echo "validate-manifests: 2 passed, 0 failed"

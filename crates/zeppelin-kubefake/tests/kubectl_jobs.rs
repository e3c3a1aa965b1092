//! The real `kubectl` against the fake API server's Jobs and `CronJobs`: server-side apply and
//! re-apply, `get job,cronjob` with the real columns, `wait --for=condition=complete`,
//! `logs job/...` (which picks a pod by the Job's selector), a failing Job, and the Job
//! `create job --from=cronjob/...` builds from the `CronJob` it reads — posted as protobuf,
//! and the same Job through JSON (`--dry-run=client -o json`, then `create -f`), as
//! `zeppelin run-job --k8s` posts it; and the job objects Zeppelin renders.

mod harness;

use harness::{Cluster, require_kubectl, row};
use zeppelin_kubefake::Config;

const JOBS: &str = "apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: 'ghcr.io/acme/shop:1', command: [python3, migrate.py]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: broken, namespace: shop}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: broken, image: 'ghcr.io/acme/crashloop:1'}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: '0 3 * * *'
  timeZone: Europe/Berlin
  concurrencyPolicy: Forbid
  jobTemplate:
    metadata: {labels: {app: nightly}}
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: cleanup, image: 'ghcr.io/acme/shop:1'}]
";

fn header(output: &str, first_cell: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with("NAME"))
        .find(|l| l.split_whitespace().nth(1) == Some(first_cell))
        .unwrap_or_else(|| panic!("no header with {first_cell} in:\n{output}"))
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_wait_get_and_logs_of_jobs_and_cron_jobs() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("jobs.yaml", JOBS);
    let applied = cluster.apply_server_side(&file).await;
    assert!(
        applied.contains("job.batch/migrate serverside-applied"),
        "{applied}"
    );
    assert!(
        applied.contains("cronjob.batch/nightly serverside-applied"),
        "{applied}"
    );
    let waited = cluster
        .kubectl_ok(&[
            "wait",
            "--for=condition=complete",
            "job/migrate",
            "-n",
            "shop",
            "--timeout=60s",
        ])
        .await;
    assert!(
        waited.contains("job.batch/migrate condition met"),
        "{waited}"
    );
    cluster
        .kubectl_ok(&[
            "wait",
            "--for=condition=failed",
            "job/broken",
            "-n",
            "shop",
            "--timeout=60s",
        ])
        .await;

    let listed = cluster
        .kubectl_ok(&["get", "job,cronjob", "-n", "shop"])
        .await;
    assert_eq!(
        header(&listed, "STATUS"),
        ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    );
    assert_eq!(
        header(&listed, "SCHEDULE"),
        [
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE"
        ]
    );
    assert_eq!(row(&listed, "job.batch/migrate")[1..3], ["Complete", "1/1"]);
    assert_eq!(row(&listed, "job.batch/broken")[1..3], ["Failed", "0/1"]);
    assert_eq!(
        row(&listed, "cronjob.batch/nightly")[1..],
        [
            "0",
            "3",
            "*",
            "*",
            "*",
            "Europe/Berlin",
            "False",
            "0",
            "<none>",
            row(&listed, "cronjob.batch/nightly")[10]
        ]
    );
    let wide = cluster
        .kubectl_ok(&["get", "job", "migrate", "-n", "shop", "-o", "wide"])
        .await;
    let cells = row(&wide, "migrate");
    assert_eq!(cells[5..7], ["migrate", "ghcr.io/acme/shop:1"], "{wide}");
    assert!(
        cells[7].starts_with("batch.kubernetes.io/controller-uid="),
        "{wide}"
    );
    let pods = cluster.kubectl_ok(&["get", "pods", "-n", "shop"]).await;
    let statuses: Vec<&str> = pods
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert!(
        statuses.contains(&"Completed") && statuses.contains(&"Error"),
        "{pods}"
    );

    let logs = cluster
        .kubectl_ok(&["logs", "job/migrate", "-n", "shop"])
        .await;
    assert!(
        logs.contains("container migrate completed (exit code 0)"),
        "{logs}"
    );
    let logs = cluster
        .kubectl_ok(&["logs", "job/broken", "-n", "shop"])
        .await;
    assert!(
        logs.contains("fatal: container broken exited with code 1"),
        "{logs}"
    );

    // Applying the same Jobs again changes nothing: their templates are immutable.
    let again = cluster.apply_server_side(&file).await;
    assert!(
        again.contains("job.batch/migrate serverside-applied"),
        "{again}"
    );
    let changed = JOBS.replace("migrate.py", "migrate.py, --all");
    let file = cluster.write("changed.yaml", &changed);
    let refused = cluster
        .kubectl(&["apply", "--server-side", "-f", harness::path_str(&file)])
        .await;
    assert!(!refused.success);
    assert!(
        refused.stderr.contains("field is immutable"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_job_from_a_cron_job_runs_its_template() {
    require_kubectl();
    // A minute per second: the every-minute CronJob below runs within a second or two.
    let cluster = Cluster::with_config(Config {
        clock_speed: 60.0,
        ..Config::default()
    })
    .await;
    let every_minute = JOBS.replace("'0 3 * * *'", "'* * * * *'");
    let file = cluster.write("jobs.yaml", &every_minute);
    cluster.apply_server_side(&file).await;
    let created = cluster
        .kubectl_ok(&[
            "create",
            "job",
            "by-hand",
            "--from=cronjob/nightly",
            "-n",
            "shop",
            "--dry-run=client",
            "-o",
            "json",
        ])
        .await;
    let file = cluster.write("by-hand.json", &created);
    let created = cluster
        .kubectl_ok(&["create", "-f", harness::path_str(&file)])
        .await;
    assert!(created.contains("job.batch/by-hand created"), "{created}");
    cluster
        .kubectl_ok(&[
            "wait",
            "--for=condition=complete",
            "job/by-hand",
            "-n",
            "shop",
            "--timeout=60s",
        ])
        .await;
    let job = cluster.server.object("jobs", "shop", "by-hand").unwrap();
    assert_eq!(
        job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(job["metadata"]["ownerReferences"][0]["name"], "nightly");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["name"],
        "cleanup"
    );

    cluster
        .wait_for("jobs", "a scheduled run", |jobs| {
            jobs.iter().any(|j| {
                j["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("nightly-"))
                    && j["status"]["succeeded"] == 1
            })
        })
        .await;
    let listed = cluster
        .kubectl_ok(&["get", "cronjob", "nightly", "-n", "shop"])
        .await;
    assert_ne!(row(&listed, "nightly")[9], "<none>", "{listed}");
    let events = cluster
        .kubectl_ok(&[
            "get",
            "events",
            "-n",
            "shop",
            "--field-selector",
            "involvedObject.name=nightly",
        ])
        .await;
    assert!(events.contains("SuccessfulCreate"), "{events}");
}

/// Runs kubectl with `kubeconfig` in `dir` to the end; returns whether it succeeded and its
/// stdout and stderr.
async fn kubectl_at(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(args)
        .env("HOME", dir)
        .stdin(std::process::Stdio::null())
        .output();
    let output = tokio::time::timeout(harness::KUBECTL_LIMIT, output)
        .await
        .expect("kubectl finishes in time")
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binarys_clock_speed_runs_a_schedule_of_minutes_in_seconds() {
    use tokio::io::AsyncBufReadExt;
    require_kubectl();
    let binary = env!("CARGO_BIN_EXE_zeppelin-kubefake");
    let help = tokio::process::Command::new(binary)
        .arg("--help")
        .output()
        .await
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains("--clock-speed <FACTOR>"), "{help}");
    let refused = tokio::process::Command::new(binary)
        .args(["--port", "0", "--clock-speed", "0"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("write a positive number like 60"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut server = tokio::process::Command::new(binary)
        .args(["--port", "0", "--clock-speed", "60", "--kubeconfig"])
        .arg(dir.path().join("kubeconfig"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let serving = tokio::time::timeout(harness::KUBECTL_LIMIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("press Ctrl-C") {
                return;
            }
        }
        panic!("the binary ended before serving");
    })
    .await;
    assert!(serving.is_ok(), "the binary did not start in time");
    let file = dir.path().join("cron.yaml");
    let cron = JOBS
        .split("---\n")
        .last()
        .unwrap()
        .replace("'0 3 * * *'", "'* * * * *'")
        .replace("namespace: shop", "namespace: default");
    std::fs::write(&file, cron).unwrap();
    let (applied, text) = kubectl_at(
        dir.path(),
        &["apply", "--server-side", "-f", harness::path_str(&file)],
    )
    .await;
    assert!(applied, "{text}");
    let ran = tokio::time::timeout(harness::KUBECTL_LIMIT, async {
        loop {
            let (_, jobs) = kubectl_at(dir.path(), &["get", "jobs", "-o", "name"]).await;
            if jobs.contains("job.batch/nightly-") {
                return jobs;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(ran.is_ok(), "no scheduled Job within the limit");
    // Ending the server is part of the test.
    let _ = server.kill().await;
}

/// The objects `zeppelin render` makes of jobs: a `before` job as the Job `<job>-<hash>`, a
/// scheduled one as a `CronJob`, an on-demand one as a suspended `CronJob` (a template only),
/// each labelled `zeppelin.dev/job`.
const ZEPPELIN_JOBS: &str = "apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate-0a1b2c3d4e
  namespace: shop
  labels: {app.kubernetes.io/name: migrate, zeppelin.dev/job: migrate}
  annotations: {zeppelin.dev/job-inputs: 0a1b2c3d4e}
spec:
  backoffLimit: 1
  activeDeadlineSeconds: 180
  ttlSecondsAfterFinished: 3600
  template:
    metadata: {labels: {app.kubernetes.io/name: migrate, zeppelin.dev/job: migrate}}
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      containers: [{name: migrate, image: 'shop-api:0.1.0', command: [sh, -c, python3 app/migrate.py]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cleanup, namespace: shop, labels: {zeppelin.dev/job: cleanup}}
spec:
  schedule: '0 3 * * *'
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 300
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  jobTemplate:
    metadata: {labels: {zeppelin.dev/job: cleanup}}
    spec:
      backoffLimit: 0
      template:
        metadata: {labels: {zeppelin.dev/job: cleanup}}
        spec:
          restartPolicy: Never
          containers: [{name: cleanup, image: 'shop-worker:0.1.0'}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: reindex, namespace: shop, labels: {zeppelin.dev/job: reindex}}
spec:
  schedule: '0 0 1 1 *'
  suspend: true
  concurrencyPolicy: Forbid
  jobTemplate:
    metadata: {labels: {zeppelin.dev/job: reindex}}
    spec:
      backoffLimit: 0
      template:
        metadata: {labels: {zeppelin.dev/job: reindex}}
        spec:
          restartPolicy: Never
          containers: [{name: reindex, image: 'shop-worker:0.1.0'}]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_zeppelin_renders_apply_wait_and_run_by_hand() {
    require_kubectl();
    let cluster = Cluster::start().await;
    let file = cluster.write("zeppelin-jobs.yaml", ZEPPELIN_JOBS);
    let applied = cluster.apply_server_side(&file).await;
    for object in [
        "job.batch/migrate-0a1b2c3d4e",
        "cronjob.batch/cleanup",
        "cronjob.batch/reindex",
    ] {
        assert!(
            applied.contains(&format!("{object} serverside-applied")),
            "{applied}"
        );
    }
    let waited = cluster
        .kubectl_ok(&[
            "wait",
            "--for=condition=complete",
            "job/migrate-0a1b2c3d4e",
            "-n",
            "shop",
            "--timeout=60s",
        ])
        .await;
    assert!(waited.contains("condition met"), "{waited}");

    // One label selects every object of a job, whichever kind it is.
    let listed = cluster
        .kubectl_ok(&[
            "get",
            "job,cronjob",
            "-n",
            "shop",
            "-l",
            "zeppelin.dev/job",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        [
            "job.batch/migrate-0a1b2c3d4e",
            "cronjob.batch/cleanup",
            "cronjob.batch/reindex"
        ]
    );
    let crons = cluster.kubectl_ok(&["get", "cronjob", "-n", "shop"]).await;
    assert_eq!(row(&crons, "cleanup")[7], "False", "{crons}");
    assert_eq!(row(&crons, "reindex")[7], "True", "{crons}");

    // kubectl's own generator posts the Job as protobuf...
    let direct = cluster
        .kubectl_ok(&[
            "create",
            "job",
            "reindex-by-kubectl",
            "--from=cronjob/reindex",
            "-n",
            "shop",
        ])
        .await;
    assert!(
        direct.contains("job.batch/reindex-by-kubectl created"),
        "{direct}"
    );
    // ...and `run-job --k8s` posts it as JSON: from the suspended template, labelled with
    // its job and marked as a manual run.
    let built = cluster
        .kubectl_ok(&[
            "create",
            "job",
            "reindex-run-1",
            "--from=cronjob/reindex",
            "-n",
            "shop",
            "--dry-run=client",
            "-o",
            "json",
        ])
        .await;
    let mut job: serde_json::Value = serde_json::from_str(&built).unwrap();
    job["metadata"]["labels"]["zeppelin.dev/job"] = "reindex".into();
    job["metadata"]["annotations"]["zeppelin.dev/run"] = "manual".into();
    let file = cluster.write("reindex-run.json", &job.to_string());
    cluster
        .kubectl_ok(&["create", "-f", harness::path_str(&file)])
        .await;
    for name in ["job/reindex-by-kubectl", "job/reindex-run-1"] {
        cluster
            .kubectl_ok(&[
                "wait",
                "--for=condition=complete",
                name,
                "-n",
                "shop",
                "--timeout=60s",
            ])
            .await;
    }
    let template = |name: &str| {
        cluster.server.object("jobs", "shop", name).unwrap()["spec"]["template"]["spec"].clone()
    };
    assert_eq!(
        template("reindex-by-kubectl"),
        template("reindex-run-1"),
        "the same template by either door"
    );
    let runs = cluster
        .kubectl_ok(&["get", "job", "-n", "shop", "-l", "zeppelin.dev/job=reindex"])
        .await;
    for name in ["reindex-by-kubectl", "reindex-run-1"] {
        assert_eq!(row(&runs, name)[1..3], ["Complete", "1/1"], "{runs}");
    }
    let logs = cluster
        .kubectl_ok(&["logs", "job/reindex-run-1", "-n", "shop"])
        .await;
    assert!(
        logs.contains("container reindex completed (exit code 0)"),
        "{logs}"
    );
    let stored = cluster
        .server
        .object("jobs", "shop", "reindex-run-1")
        .unwrap();
    assert_eq!(
        stored["metadata"]["annotations"]["zeppelin.dev/run"],
        "manual"
    );
    assert_eq!(stored["metadata"]["ownerReferences"][0]["name"], "reindex");

    // Other kinds kubectl generates as protobuf are refused, naming what was not read.
    let refused = cluster
        .kubectl(&["create", "deployment", "web", "--image=web:1", "-n", "shop"])
        .await;
    assert!(!refused.success);
    assert!(
        refused
            .stderr
            .contains("not Deployment (apps/v1) objects; only batch/v1 Jobs and CronJobs are read; send JSON or YAML"),
        "{}",
        refused.stderr
    );
}

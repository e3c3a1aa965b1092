//! Jobs on Kubernetes from the cluster side, through the real binary against the test API
//! server (`zeppelin-kubefake`): `run-job --k8s` makes a Job from the deployed template
//! (a `CronJob`, or a `before` job's `<job>-<hash>` Job), streams every attempt's lines and
//! exits with the last attempt's status (Ctrl-C stops the waiting, not the Job; an
//! unreachable cluster is the usual error); `ps --k8s` reports each job's last run and
//! next run; `logs --k8s` reads a job's pods.
//!
//! The templates are made here, shaped as `deploy` renders them (the app's labels plus
//! `zeppelin.dev/job`, and `zeppelin.dev/job-inputs` on a before job's Job), so these tests
//! exercise the cluster commands alone. They need the fake's crash marker and quick pods,
//! so they always run against the fake.
//!
//! A few start from a real `zeppelin deploy` instead, for what only a deploy leaves: a
//! revision to run a before job from once its Job's time to live removed it, a `CronJob`
//! whose schedule the file no longer has, and a prune that must leave manual runs alone.

mod harness;

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use harness::cluster;
use harness::{TestDir, code};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use zeppelin_kubefake::FakeApiServer;

const APP: &str = "shop";

/// `report` runs on demand, `cleanup` at 03:00 in Berlin, `migrate` before `api`.
const APP_FILE: &str = r#"
name = "shop"

[sub.api]
image = "acme/api:1"
port = 8080

[job.migrate]
image = "acme/migrate:1"
before = ["api"]

[job.cleanup]
image = "acme/cleanup:1"
schedule = "0 3 * * *"
timezone = "Europe/Berlin"

[job.report]
image = "acme/report:1"
"#;

/// An app that `zeppelin deploy` deploys: `migrate` runs before `api` (with
/// `migrate_extra` added to it), `cleanup` on `schedule` (TOML lines), `report` on demand.
fn deployable(migrate_extra: &str, schedule: &str) -> String {
    const IMAGE: &str = "registry.k8s.io/pause:3.10";
    format!(
        r#"name = "shop"

[sub.api]
run = "api"
image = "{IMAGE}"
port = 8080

[job.migrate]
run = "echo migrated"
image = "{IMAGE}"
before = ["api"]
timeout = "30s"
{migrate_extra}

[job.cleanup]
run = "echo cleaned"
image = "{IMAGE}"
{schedule}

[job.report]
run = "echo reported"
image = "{IMAGE}"
"#
    )
}

/// The test API server, a folder with the app file, and a client to make the templates
/// and inspect the world.
struct World {
    dir: TestDir,
    kubeconfig: PathBuf,
    fake: FakeApiServer,
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
}

impl World {
    fn new() -> Self {
        let dir = TestDir::new();
        let (fake, kubeconfig) = cluster::start_fake(dir.path());
        let (runtime, client) = cluster::connect(&kubeconfig);
        dir.write("zeppelin.toml", APP_FILE);
        let world = Self {
            dir,
            kubeconfig,
            fake,
            runtime,
            client,
        };
        world.create("", "Namespace", &json!({"metadata": {"name": APP}}));
        world
    }

    fn zeppelin(&self, args: &[&str]) -> Output {
        cluster::zeppelin(self.dir.path(), &self.kubeconfig, args)
            .output()
            .unwrap()
    }

    /// `zeppelin ARGS`, which must succeed; returns stderr.
    fn ok(&self, args: &[&str]) -> String {
        cluster::ok(self.dir.path(), &self.kubeconfig, args)
    }

    /// The Jobs of `job` in the app's namespace, by name.
    fn jobs_of(&self, job: &str) -> Vec<Value> {
        let mut jobs: Vec<Value> = self
            .list("batch", "Job")
            .into_iter()
            .filter(|j| j["metadata"]["labels"]["zeppelin.dev/job"] == job)
            .collect();
        jobs.sort_by_key(|j| j["metadata"]["name"].as_str().unwrap().to_owned());
        jobs
    }

    fn api(&self, group: &str, kind: &str) -> Api<DynamicObject> {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, "v1", kind));
        if kind == "Namespace" {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), APP, &ar)
        }
    }

    fn create(&self, group: &str, kind: &str, object: &Value) {
        let object: DynamicObject = serde_json::from_value(object.clone()).unwrap();
        self.runtime
            .block_on(
                self.api(group, kind)
                    .create(&PostParams::default(), &object),
            )
            .unwrap_or_else(|e| panic!("the {kind} is created: {e}"));
    }

    /// Every object of `kind` in the app's namespace, as JSON.
    fn list(&self, group: &str, kind: &str) -> Vec<Value> {
        self.runtime
            .block_on(self.api(group, kind).list(&ListParams::default()))
            .unwrap()
            .items
            .into_iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect()
    }

    /// The `CronJob` `deploy` renders for `job` (one retry): `suspend` for an on-demand job;
    /// `schedule` is five cron fields, then the time zone if any.
    fn cron_job(&self, job: &str, image: &str, schedule: &str, suspend: bool) {
        let fields: Vec<&str> = schedule.split(' ').collect();
        let (schedule, zone) = (fields[..5].join(" "), fields.get(5));
        self.create(
            "batch",
            "CronJob",
            &json!({
                "apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": job, "labels": labels(job)},
                "spec": {
                    "schedule": schedule,
                    "timeZone": zone,
                    "suspend": suspend,
                    "concurrencyPolicy": "Forbid",
                    "jobTemplate": {
                        "metadata": {"labels": labels(job)},
                        "spec": job_spec(job, image, 1),
                    },
                },
            }),
        );
    }

    /// The Job `deploy` renders for a `before` job, with the hash of its inputs.
    fn before_job(&self, job: &str, hash: &str, image: &str) {
        self.create(
            "batch",
            "Job",
            &json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {
                    "name": format!("{job}-{hash}"),
                    "labels": labels(job),
                    "annotations": {"zeppelin.dev/job-inputs": hash},
                },
                "spec": job_spec(job, image, 0),
            }),
        );
    }

    /// A pod of sub `api`, as its Deployment would make it: its log has lines that are not
    /// a job's.
    fn sub_pod(&self) {
        let mut labels = labels("api");
        labels.as_object_mut().unwrap().remove("zeppelin.dev/job");
        self.create(
            "",
            "Pod",
            &json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "api-1", "labels": labels},
                "spec": {"containers": [{"name": "api", "image": "acme/api:1"}]},
            }),
        );
    }

    /// Waits until every Job in the namespace has finished.
    fn wait_for_jobs(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !self.list("batch", "Job").iter().all(|j| {
            j["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Complete" || c["type"] == "Failed")
            })
        }) {
            assert!(
                std::time::Instant::now() < deadline,
                "the Jobs finished within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The labels `deploy` puts on a job's objects and pods.
fn labels(job: &str) -> Value {
    json!({
        "app.kubernetes.io/name": job,
        "app.kubernetes.io/instance": APP,
        "app.kubernetes.io/component": job,
        "app.kubernetes.io/part-of": APP,
        "app.kubernetes.io/managed-by": "zeppelin",
        "zeppelin.dev/job": job,
    })
}

fn job_spec(job: &str, image: &str, retries: u32) -> Value {
    json!({
        "backoffLimit": retries,
        "activeDeadlineSeconds": 60,
        "template": {
            "metadata": {"labels": labels(job)},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": job, "image": image}],
            },
        },
    })
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The log lines of `text` (`POD | LINE`) whose pod is a run of `job`.
fn lines_of<'a>(text: &'a str, job: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{job}-run-")) && l.contains(" | "))
        .collect()
}

#[test]
fn run_job_from_a_cron_job_streams_its_lines_and_exits_zero() {
    let world = World::new();
    world.cron_job("report", "acme/report:1", "0 0 1 1 *", true);
    let out = world.zeppelin(&["run-job", "report", "--k8s"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains("created Job report-run-") && err.contains("from CronJob report"),
        "{err}"
    );
    assert!(err.contains("succeeded (1 attempt)"), "{err}");
    let lines = lines_of(&text, "report");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].ends_with("started container report (image acme/report:1)"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("container report completed (exit code 0)"),
        "{text}"
    );

    let jobs = world.list("batch", "Job");
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    let name = job["metadata"]["name"].as_str().unwrap();
    assert!(
        err.contains(&format!("created Job {name} in namespace shop")),
        "{err}"
    );
    assert_eq!(job["metadata"]["labels"]["zeppelin.dev/job"], "report");
    assert_eq!(job["metadata"]["annotations"]["zeppelin.dev/run"], "manual");
    assert!(
        job["metadata"]["ownerReferences"].is_null(),
        "owned by nothing, so no prune of its CronJob takes it along: {job}"
    );
}

#[test]
fn a_failing_run_shows_every_attempt_and_exits_with_the_reason() {
    let world = World::new();
    // Two attempts: the template allows one retry.
    world.cron_job("report", "acme/report-crashloop:1", "0 0 1 1 *", true);
    let out = world.zeppelin(&["run-job", "report", "--k8s"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("failed (2 attempts): BackoffLimitExceeded"),
        "{err}"
    );
    assert!(err.contains("the last attempt exited with code 1"), "{err}");
    let crashes: Vec<&str> = lines_of(&text, "report")
        .into_iter()
        .filter(|l| l.contains("fatal: container report exited with code 1"))
        .collect();
    assert_eq!(crashes.len(), 2, "{text}");
    let pod = |line: &str| line.split(" | ").next().unwrap().to_owned();
    assert_ne!(
        pod(crashes[0]),
        pod(crashes[1]),
        "one line per attempt:\n{text}"
    );
}

#[test]
fn a_run_stopped_at_its_deadline_exits_one_saying_so() {
    let world = World::new();
    // The image cannot be pulled: the pod never runs, and the Job's deadline stops it.
    world.cron_job("report", "acme/does-not-exist:1", "0 0 1 1 *", true);
    let patch = json!({"spec": {"jobTemplate": {"spec": {"activeDeadlineSeconds": 1}}}});
    world
        .runtime
        .block_on(world.api("batch", "CronJob").patch(
            "report",
            &PatchParams::default(),
            &Patch::Merge(patch),
        ))
        .unwrap();
    let out = world.zeppelin(&["run-job", "report", "--k8s"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("failed (1 attempt): DeadlineExceeded"),
        "{err}"
    );
    assert!(
        err.contains("the last attempt was stopped before it exited"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_the_waiting_and_the_job_keeps_running() {
    let world = World::new();
    // The image cannot be pulled: the run waits until its minute-long deadline.
    world.cron_job("report", "acme/does-not-exist:1", "0 0 1 1 *", true);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("zeppelin"))
        .current_dir(world.dir.path())
        .env("KUBECONFIG", &world.kubeconfig)
        .env("NO_COLOR", "1")
        .args(["run-job", "report", "--k8s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut created = String::new();
    stderr.read_line(&mut created).unwrap();
    assert!(created.contains("created Job report-run-"), "{created}");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{said}");
    let jobs = world.list("batch", "Job");
    let name = jobs[0]["metadata"]["name"].as_str().unwrap();
    assert!(
        said.contains(&format!(
            "stopped waiting; Job {name} keeps running in namespace shop"
        )) && said.contains("`zeppelin logs --k8s report -f` follows it")
            && said.contains(&format!("`kubectl delete job {name} -n shop` stops it")),
        "{said}"
    );
    assert!(
        jobs[0]["status"]["conditions"].is_null(),
        "the Job still runs: {}",
        jobs[0]["status"]
    );
}

#[test]
fn a_run_watched_through_dropped_watches_shows_each_line_once() {
    let world = World::new();
    world.cron_job("report", "acme/report-crashloop:1", "0 0 1 1 *", true);
    let done = std::sync::atomic::AtomicBool::new(false);
    let out = std::thread::scope(|scope| {
        // The API server ends every watch again and again, as a restarting one would.
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                world.fake.drop_watches();
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let out = world.zeppelin(&["run-job", "report", "--k8s"]);
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        out
    });
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("failed (2 attempts)"), "{err}");
    let lines = lines_of(&text, "report");
    assert_eq!(lines.len(), 4, "two lines of each attempt, once:\n{text}");
}

#[test]
fn run_job_of_a_before_job_copies_its_deployed_job() {
    let world = World::new();
    world.before_job("migrate", "0123456789", "acme/migrate:1");
    world.wait_for_jobs();
    let out = world.zeppelin(&["run-job", "migrate", "--k8s"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{err}");
    assert!(err.contains("from Job migrate-0123456789"), "{err}");
    assert_eq!(lines_of(&text, "migrate").len(), 2, "{text}");
    let run = world
        .list("batch", "Job")
        .into_iter()
        .find(|j| {
            j["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("migrate-run-")
        })
        .expect("the run's Job");
    let annotations = &run["metadata"]["annotations"];
    assert_eq!(annotations["zeppelin.dev/run"], "manual");
    assert!(
        annotations.get("zeppelin.dev/job-inputs").is_none(),
        "a manual run is not deploy's run of those inputs: {annotations}"
    );
    assert!(run["metadata"]["ownerReferences"].is_null(), "{run}");
}

#[test]
fn run_job_of_a_job_not_deployed_says_to_deploy_first() {
    let world = World::new();
    for (job, missing) in [
        ("report", "namespace shop has no CronJob report"),
        (
            "migrate",
            "namespace shop has no Job migrate-<hash> (the before job's run that deploy makes), and no revision records one",
        ),
    ] {
        let out = world.zeppelin(&["run-job", job, "--k8s"]);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{err}");
        assert!(
            err.contains(&format!("job `{job}` is not deployed")),
            "{err}"
        );
        assert!(err.contains(missing), "{err}");
        assert!(err.contains("run `zeppelin deploy` first"), "{err}");
    }
    assert!(world.list("batch", "Job").is_empty(), "nothing was made");
}

#[test]
fn ps_reports_each_jobs_last_run_and_a_scheduled_jobs_next_run() {
    let world = World::new();
    world.cron_job("report", "acme/report-crashloop:1", "0 0 1 1 *", true);
    world.cron_job(
        "cleanup",
        "acme/cleanup:1",
        "0 3 * * * Europe/Berlin",
        false,
    );
    let failed = world.zeppelin(&["run-job", "report", "--k8s"]);
    assert_eq!(code(&failed), 1, "{}", stderr(&failed));
    let out = world.zeppelin(&["ps", "--k8s", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let jobs = status["jobs"].as_array().expect("jobs in the status");
    let names: Vec<&str> = jobs.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cleanup", "migrate", "report"]);

    let cleanup = &jobs[0];
    assert_eq!(cleanup["trigger"], "schedule");
    assert_eq!(cleanup["schedule"], "0 3 * * * Europe/Berlin");
    assert_eq!(cleanup["state"], "not_run");
    let next: jiff::Timestamp = cleanup["next_run"].as_str().unwrap().parse().unwrap();
    let berlin = next.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
    assert_eq!((berlin.hour(), berlin.minute()), (3, 0), "{next}");
    assert!(next > jiff::Timestamp::now(), "{next}");

    let migrate = &jobs[1];
    assert_eq!(migrate["trigger"], "before");
    assert_eq!(migrate["state"], "not_run");
    assert!(migrate.get("last_run").is_none(), "{migrate}");

    let report = &jobs[2];
    assert_eq!(report["trigger"], "on_demand");
    assert_eq!(report["state"], "failed");
    assert!(report.get("next_run").is_none(), "on demand: {report}");
    let run = &report["last_run"];
    assert!(
        run["id"].as_str().unwrap().starts_with("report-run-"),
        "{run}"
    );
    assert_eq!(run["attempts"], 2, "{run}");
    assert_eq!(run["exit"], 1, "{run}");
    assert_eq!(run["reason"], "BackoffLimitExceeded", "{run}");
    assert!(run["duration"].is_number(), "{run}");
    assert!(run["started"].is_string(), "{run}");
}

#[test]
fn logs_of_the_app_include_its_jobs_pods_and_follow_new_runs() {
    let world = World::new();
    world.sub_pod();
    world.cron_job("report", "acme/report:1", "0 0 1 1 *", true);
    let mut follower = std::process::Command::new(assert_cmd::cargo::cargo_bin("zeppelin"))
        .current_dir(world.dir.path())
        .env("KUBECONFIG", &world.kubeconfig)
        .env("NO_COLOR", "1")
        .args(["logs", "--k8s", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (sender, followed) = mpsc::channel();
    let pipe = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    let run = world.zeppelin(&["run-job", "report", "--k8s"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let ran = lines_of(&stdout(&run), "report")
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let mut seen = Vec::new();
    while seen.len() < ran.len() {
        match followed.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.starts_with("report-run-") => seen.push(line),
            Ok(_) => {}
            Err(error) => panic!("the run's lines were followed ({seen:?}): {error}"),
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert_eq!(seen, ran, "the run's lines, followed as they came");

    let out = world.zeppelin(&["logs", "--k8s"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(lines_of(&text, "report"), ran);
    assert!(text.lines().any(|l| l.starts_with("api-1 | ")), "{text}");
}

#[test]
fn logs_of_a_job_print_only_its_pods_lines() {
    let world = World::new();
    world.sub_pod();
    world.cron_job("report", "acme/report:1", "0 0 1 1 *", true);
    let run = world.zeppelin(&["run-job", "report", "--k8s"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    for args in [
        &["logs", "--k8s", "report"][..],
        &["logs", "--k8s", "report", "api"],
    ] {
        let out = world.zeppelin(args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(lines_of(&text, "report"), lines_of(&stdout(&run), "report"));
        let api = text.lines().filter(|l| l.starts_with("api-1 | ")).count();
        assert_eq!(api > 0, args.len() == 4, "{args:?}: {text}");
    }
}

#[test]
fn run_job_on_an_unreachable_cluster_says_so() {
    let dir = TestDir::new();
    let (kubeconfig, port) = cluster::unreachable_kubeconfig(dir.path());
    dir.write("zeppelin.toml", APP_FILE);
    let out = assert_cmd::Command::cargo_bin("zeppelin")
        .unwrap()
        .current_dir(dir.path())
        .env("KUBECONFIG", &kubeconfig)
        .env("NO_COLOR", "1")
        .args(["run-job", "report", "--k8s"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains(&format!(
            "cannot reach the cluster at http://127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert!(!err.contains("created Job"), "{err}");
}

/// The pod template's container of a Job, the part a run copies.
fn container(job: &Value) -> &Value {
    &job["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn run_job_of_a_before_job_whose_job_expired_runs_the_deployed_revisions() {
    let world = World::new();
    world
        .dir
        .write("zeppelin.toml", &deployable("", "schedule = \"0 3 * * *\""));
    world.ok(&["deploy"]);
    let [deployed] = &world.jobs_of("migrate")[..] else {
        panic!("one before Job: {:?}", world.jobs_of("migrate"));
    };
    let deployed = deployed.clone();
    let name = deployed["metadata"]["name"].as_str().unwrap();
    // As its time to live does a day after it finished.
    world
        .runtime
        .block_on(
            world
                .api("batch", "Job")
                .delete(name, &DeleteParams::background()),
        )
        .unwrap();
    assert!(world.jobs_of("migrate").is_empty());

    let out = world.zeppelin(&["run-job", "migrate", "--k8s"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains(&format!("from Job {name} of revision 1")),
        "{err}"
    );
    assert!(
        !lines_of(&stdout(&out), "migrate").is_empty(),
        "{}",
        stdout(&out)
    );
    let [run] = &world.jobs_of("migrate")[..] else {
        panic!("one manual run: {:?}", world.jobs_of("migrate"));
    };
    assert!(
        run["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("migrate-run-"),
        "{run}"
    );
    assert_eq!(run["metadata"]["annotations"]["zeppelin.dev/run"], "manual");
    assert!(
        run["metadata"]["annotations"]
            .get("zeppelin.dev/job-inputs")
            .is_none(),
        "{run}"
    );
    assert_eq!(container(run)["image"], container(&deployed)["image"]);
    assert_eq!(container(run)["command"], container(&deployed)["command"]);
    assert_eq!(
        run["spec"]["activeDeadlineSeconds"],
        deployed["spec"]["activeDeadlineSeconds"]
    );
    assert!(
        run["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Complete")),
        "{run}"
    );
}

#[test]
fn ps_shows_the_deployed_schedule_and_its_next_run_not_the_files() {
    let world = World::new();
    let berlin = "schedule = \"0 3 * * *\"\ntimezone = \"Europe/Berlin\"";
    world.dir.write("zeppelin.toml", &deployable("", berlin));
    world.ok(&["deploy"]);
    // Changed, not deployed: the cluster still runs the Berlin schedule.
    world.dir.write(
        "zeppelin.toml",
        &deployable("", "schedule = \"30 4 * * *\""),
    );
    let out = world.zeppelin(&["ps", "--k8s", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cleanup = status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "cleanup")
        .expect("cleanup in the status")
        .clone();
    assert_eq!(cleanup["trigger"], "schedule");
    assert_eq!(cleanup["schedule"], "0 3 * * * Europe/Berlin", "{cleanup}");
    let next: jiff::Timestamp = cleanup["next_run"].as_str().unwrap().parse().unwrap();
    let berlin = next.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
    assert_eq!((berlin.hour(), berlin.minute()), (3, 0), "{next}");
}

#[test]
fn a_deploy_that_changes_or_removes_jobs_keeps_their_manual_runs() {
    let world = World::new();
    world
        .dir
        .write("zeppelin.toml", &deployable("", "schedule = \"0 3 * * *\""));
    world.ok(&["deploy"]);
    let old = world.jobs_of("migrate")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    world.ok(&["run-job", "migrate", "--k8s"]);
    world.ok(&["run-job", "report", "--k8s"]);
    let manual = |world: &World| -> Vec<String> {
        let mut names: Vec<String> = world
            .list("batch", "Job")
            .iter()
            .filter(|j| j["metadata"]["annotations"]["zeppelin.dev/run"] == "manual")
            .map(|j| j["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let runs = manual(&world);
    assert_eq!(runs.len(), 2, "{runs:?}");

    world.dir.write(
        "zeppelin.toml",
        &deployable("env = { SCHEMA = \"2\" }", "schedule = \"0 4 * * *\""),
    );
    let err = world.ok(&["deploy"]);
    assert!(err.contains(&format!("Job/{old} pruned")), "{err}");
    assert_eq!(manual(&world), runs, "{err}");
    assert!(!err.contains("-run-"), "no manual run is pruned: {err}");

    // `report` leaves the app: its CronJob is pruned, its manual run stays.
    let changed = deployable("env = { SCHEMA = \"2\" }", "schedule = \"0 4 * * *\"");
    let without_report = &changed[..changed.find("\n[job.report]").unwrap()];
    world.dir.write("zeppelin.toml", without_report);
    let err = world.ok(&["deploy"]);
    assert!(err.contains("CronJob/report pruned"), "{err}");
    assert!(
        world
            .list("batch", "CronJob")
            .iter()
            .all(|c| c["metadata"]["name"] != "report"),
        "{err}"
    );
    assert_eq!(manual(&world), runs, "{err}");
}

#[test]
fn run_job_of_a_before_job_the_deployed_revision_lacks_says_to_deploy_first() {
    let world = World::new();
    let app = deployable("", "schedule = \"0 3 * * *\"");
    // Deployed as an on-demand job, so the older revision's before Job is not what runs.
    world.dir.write("zeppelin.toml", &app);
    world.ok(&["deploy"]);
    world
        .dir
        .write("zeppelin.toml", &app.replace("before = [\"api\"]\n", ""));
    world.ok(&["deploy"]);
    assert!(
        world.jobs_of("migrate").is_empty(),
        "the before Job was pruned"
    );
    world.dir.write("zeppelin.toml", &app);
    let out = world.zeppelin(&["run-job", "migrate", "--k8s"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("namespace shop has no Job migrate-<hash> (the before job's run that deploy makes), and the newest revision, 2, records none"),
        "{err}"
    );
    assert!(err.contains("run `zeppelin deploy` first"), "{err}");
    assert!(world.jobs_of("migrate").is_empty(), "nothing was made");
}

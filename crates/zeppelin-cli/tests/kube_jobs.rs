//! Jobs on Kubernetes through the real binary against the test API server
//! (`zeppelin-kubefake`, whose Job controller fails the pods of an image carrying its crash
//! marker): a `before` job completes before the sub it gates rolls out, a failed one fails
//! the deploy with its log lines (and `--atomic` rolls back), an unchanged one never runs
//! again, even once its Job is gone, a changed one runs as a new Job and the old is pruned,
//! a job timeout that is not shorter than the deploy's is refused before anything is
//! written, and a scheduled job is a `CronJob` that real `kubectl` reads and `delete` removes.

mod harness;

use std::path::PathBuf;
use std::process::Output;

use harness::cluster;
use harness::{TestDir, code};
use serde_json::Value;
use zeppelin_kubefake::FakeApiServer;

const IMAGE_V1: &str = "registry.k8s.io/pause:3.10";
const IMAGE_V2: &str = "registry.k8s.io/pause:3.9";
/// An image the test API server's Job controller fails (its crash marker).
const CRASHING: &str = "registry.example/crashloop-migrate:1";

/// The test API server and a folder with the app file.
struct World {
    dir: TestDir,
    kubeconfig: PathBuf,
    fake: FakeApiServer,
}

impl World {
    fn new() -> Self {
        let dir = TestDir::new();
        let (fake, kubeconfig) = cluster::start_fake(dir.path());
        Self {
            dir,
            kubeconfig,
            fake,
        }
    }

    /// The app `jobs`: a `db`, an `api` that `migrate` (which needs `db`) runs before, and
    /// a nightly `cleanup`.
    fn app_file(&self, migrate_image: &str, api_image: &str, migrate_extra: &str) {
        self.dir.write(
            "zeppelin.toml",
            &format!(
                r#"name = "jobs"

[sub.db]
run = "db"
image = "{IMAGE_V1}"
port = 5432
replicas = 2

[sub.api]
run = "api"
image = "{api_image}"
port = 8080
replicas = 2
depends_on = ["db"]

[job.migrate]
run = "python3 migrate.py"
image = "{migrate_image}"
depends_on = ["db"]
before = ["api"]
timeout = "30s"
retries = 1
{migrate_extra}

[job.cleanup]
run = "python3 cleanup.py"
image = "{IMAGE_V1}"
depends_on = ["api"]
schedule = "0 3 * * *"
timezone = "Europe/Berlin"
"#
            ),
        );
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

    /// The `before` Jobs of job `migrate` in the cluster, by name.
    fn migrate_jobs(&self) -> Vec<Value> {
        let mut jobs: Vec<Value> = self
            .fake
            .objects("jobs")
            .into_iter()
            .filter(|j| j["metadata"]["labels"]["zeppelin.dev/job"] == "migrate")
            .collect();
        jobs.sort_by_key(|j| name(j).to_owned());
        jobs
    }

    fn api_image(&self) -> String {
        let api = self.fake.object("deployments", "jobs", "api").unwrap();
        api["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn history(&self) -> Vec<Value> {
        let out = self.zeppelin(&["history", "--format", "json"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        std::process::Command::new("kubectl")
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl runs (the tests' PATH has it)")
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

fn condition<'a>(job: &'a Value, kind: &str) -> Option<&'a Value> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
}

/// The line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

#[test]
fn a_before_job_completes_before_the_sub_it_gates_rolls_out() {
    let w = World::new();
    w.app_file(IMAGE_V1, IMAGE_V1, "");
    let out = w.ok(&["deploy"]);
    let jobs = w.migrate_jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    let hash = job["metadata"]["annotations"]["zeppelin.dev/job-inputs"]
        .as_str()
        .unwrap();
    assert_eq!(name(job), format!("migrate-{hash}"));
    assert_eq!(hash.len(), 10);
    assert!(condition(job, "Complete").is_some(), "{job:#}");
    assert_eq!(job["spec"]["backoffLimit"], 1);
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 30);
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    // Order, as the deploy printed it: db applied, migrate ran to completion, then api.
    let db = line_of(&out, "Deployment/db created");
    let completed = line_of(&out, &format!("job migrate: migrate-{hash} completed"));
    let api = line_of(&out, "Deployment/api created");
    assert!(db < completed && completed < api, "{out}");
    // And as the cluster recorded it: the api's Deployment came after the Job finished.
    let finished = job["status"]["completionTime"].as_str().unwrap();
    let api_created =
        w.fake.object("deployments", "jobs", "api").unwrap()["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(
        finished <= api_created.as_str(),
        "{finished} > {api_created}"
    );
    let history = w.history();
    assert_eq!(history[0]["jobs"][0]["object"], name(job));
    assert_eq!(history[0]["jobs"][0]["outcome"], "succeeded");
}

#[test]
fn a_failed_job_fails_the_deploy_with_its_log_lines_and_keeps_the_gated_sub() {
    let w = World::new();
    w.app_file(IMAGE_V1, IMAGE_V1, "");
    w.ok(&["deploy"]);
    w.app_file(CRASHING, IMAGE_V2, "");
    let out = w.zeppelin(&["deploy"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("job `migrate` failed: BackoffLimitExceeded"),
        "{err}"
    );
    assert!(err.contains("2 tries of 2 failed"), "{err}");
    assert!(
        err.contains("| fatal: container migrate exited with code 1"),
        "{err}"
    );
    assert!(!err.contains("Deployment/api configured"), "{err}");
    assert_eq!(w.api_image(), IMAGE_V1, "the gated sub was left as it was");
    let history = w.history();
    assert_eq!(history[1]["status"], "failed");
    assert_eq!(history[1]["jobs"][0]["outcome"], "failed");
    assert_eq!(history[1]["jobs"][0]["reason"], "BackoffLimitExceeded");
    // The failed Job is kept for its logs; the next deploy runs it again.
    let failed: Vec<Value> = w
        .migrate_jobs()
        .into_iter()
        .filter(|j| condition(j, "Failed").is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    let again = stderr(&w.zeppelin(&["deploy"]));
    assert!(
        again.contains(&format!("Job/{} created", name(&failed[0]))),
        "{again}"
    );
}

#[test]
fn atomic_rolls_back_when_a_job_fails_and_never_reruns_the_old_one() {
    let w = World::new();
    w.app_file(IMAGE_V1, IMAGE_V1, "");
    w.ok(&["deploy"]);
    let first = name(&w.migrate_jobs()[0]).to_owned();
    w.app_file(CRASHING, IMAGE_V2, "");
    let out = w.zeppelin(&["deploy", "--atomic"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("rolling back to revision 1"), "{err}");
    assert!(err.contains("rolled back to revision 1"), "{err}");
    // The old Job was pruned by the failed deploy; revision 1 says it succeeded, so the
    // rollback does not run it again.
    assert!(
        err.contains(&format!(
            "job migrate: {first} already succeeded with the same inputs; not run again"
        )),
        "{err}"
    );
    assert_eq!(w.api_image(), IMAGE_V1);
    let history = w.history();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2]["cause"], "rollback to 1");
    assert_eq!(history[2]["status"], "deployed");
    assert_eq!(history[2]["jobs"][0]["outcome"], "already succeeded");
}

#[test]
fn an_unchanged_job_never_runs_again_and_a_changed_one_replaces_the_old() {
    let w = World::new();
    w.app_file(IMAGE_V1, IMAGE_V1, "");
    w.ok(&["deploy"]);
    let first = w.migrate_jobs()[0].clone();
    let again = w.ok(&["deploy"]);
    assert!(
        again.contains("already succeeded with the same inputs"),
        "{again}"
    );
    let jobs = w.migrate_jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["metadata"]["uid"], first["metadata"]["uid"]);

    // A changed input is a new Job; the old one is pruned with its pods.
    let old_pods = |w: &World| {
        w.fake
            .objects("pods")
            .into_iter()
            .filter(|p| name(p).starts_with(&format!("{}-", name(&first))))
            .count()
    };
    assert!(old_pods(&w) > 0);
    w.app_file(IMAGE_V1, IMAGE_V1, "env = { SCHEMA = \"2\" }");
    let diff = w.zeppelin(&["diff"]);
    let text = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(code(&diff), 1);
    assert!(text.contains("+ Job/migrate-"), "{text}");
    assert!(
        text.contains(&format!("- Job/{} (pruned", name(&first))),
        "{text}"
    );
    let changed = w.ok(&["deploy"]);
    let jobs = w.migrate_jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let second = jobs[0].clone();
    assert_ne!(name(&second), name(&first));
    assert!(condition(&second, "Complete").is_some());
    assert!(
        changed.contains(&format!("Job/{} created", name(&second))),
        "{changed}"
    );
    assert!(
        changed.contains(&format!("Job/{} pruned", name(&first))),
        "{changed}"
    );
    assert_eq!(old_pods(&w), 0, "the old Job's pods went with it");

    // Gone by its time to live: neither re-run nor shown by diff as a create.
    let deleted = w.kubectl(&["delete", "job", name(&second), "-n", "jobs"]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    let diff = w.zeppelin(&["diff"]);
    assert_eq!(code(&diff), 0, "{}", String::from_utf8_lossy(&diff.stdout));
    let after_ttl = w.ok(&["deploy"]);
    assert!(after_ttl.contains("not run again"), "{after_ttl}");
    assert!(w.migrate_jobs().is_empty());
}

#[test]
fn a_job_timeout_not_shorter_than_the_deploy_timeout_is_refused_before_any_write() {
    let w = World::new();
    w.app_file(IMAGE_V1, IMAGE_V1, "");
    let out = w.zeppelin(&["deploy", "--timeout", "30s"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("job `migrate` may run for 30s (its `timeout`), which is not shorter than the deploy's --timeout of 30s"),
        "{err}"
    );
    assert!(w.fake.object("namespaces", "", "jobs").is_none());
    assert!(w.fake.objects("jobs").is_empty());
}

#[test]
fn a_scheduled_job_is_a_cron_job_that_kubectl_reads() {
    let w = World::new();
    w.app_file(IMAGE_V1, IMAGE_V1, "");
    w.ok(&["deploy"]);
    let cron = w.fake.object("cronjobs", "jobs", "cleanup").unwrap();
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(cron["spec"]["timeZone"], "Europe/Berlin");
    assert_eq!(cron["spec"]["schedule"], "0 3 * * *");
    assert_eq!(cron["spec"]["suspend"], false);
    let template = &cron["spec"]["jobTemplate"]["spec"]["template"];
    assert_eq!(
        template["metadata"]["labels"]["zeppelin.dev/job"],
        "cleanup"
    );
    assert_eq!(
        template["spec"]["containers"][0]["command"][2],
        "python3 cleanup.py"
    );
    let policy = w.fake.object("networkpolicies", "jobs", "cleanup").unwrap();
    assert_eq!(policy["spec"]["egress"][0]["ports"][0]["port"], 8080);
    let got = w.kubectl(&["get", "job,cronjob", "-n", "jobs"]);
    let text = String::from_utf8_lossy(&got.stdout);
    assert!(got.status.success(), "{}", stderr(&got));
    assert!(text.contains("cronjob.batch/cleanup"), "{text}");
    assert!(text.contains("Europe/Berlin"), "{text}");
    assert!(text.contains("job.batch/migrate-"), "{text}");
    assert!(text.contains("Complete"), "{text}");

    // `delete` takes the jobs with everything else.
    w.ok(&["delete"]);
    assert!(w.fake.objects("jobs").is_empty());
    assert!(w.fake.objects("cronjobs").is_empty());
}

#[test]
fn a_job_waiting_for_a_sub_another_job_gates_runs_after_it() {
    let w = World::new();
    // `seed` needs the api, which waits for `migrate`: migrate, api, seed, web.
    w.dir.write(
        "zeppelin.toml",
        &format!(
            r#"name = "jobs"
[sub.api]
image = "{IMAGE_V1}"
port = 8080
[sub.web]
image = "{IMAGE_V1}"
port = 8081
[job.migrate]
image = "{IMAGE_V1}"
before = ["api"]
[job.seed]
image = "{IMAGE_V1}"
depends_on = ["api"]
before = ["web"]
"#
        ),
    );
    let out = w.ok(&["deploy"]);
    let migrate = line_of(&out, "job migrate: migrate-");
    let api = line_of(&out, "Deployment/api created");
    let seed = line_of(&out, "job seed: seed-");
    let web = line_of(&out, "Deployment/web created");
    assert!(migrate < api && api < seed && seed < web, "{out}");
    assert!(out.contains("api: 2/2 ready"), "{out}");
}

#[test]
fn without_waiting_the_jobs_are_applied_then_what_they_gate() {
    let w = World::new();
    w.app_file(IMAGE_V1, IMAGE_V1, "");
    let out = w.ok(&["deploy", "--no-wait"]);
    let job = line_of(&out, "Job/migrate-");
    let api = line_of(&out, "Deployment/api created");
    assert!(job < api, "{out}");
    assert_eq!(w.history()[0]["jobs"][0]["outcome"], "not waited for");
}

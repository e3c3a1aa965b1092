//! The labels and annotations Zeppelin puts on objects: the Kubernetes recommended
//! `app.kubernetes.io/*` labels, which also mark ownership, and Zeppelin's own annotations.
//!
//! Every object of an app carries `app.kubernetes.io/managed-by: zeppelin` and
//! `app.kubernetes.io/instance: <app>`; a deploy lists and prunes exactly the objects that
//! match [`owner_selector`], so objects of other apps or tools are never touched.

use std::collections::BTreeMap;

use zeppelin_core::App;

pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const VERSION: &str = "app.kubernetes.io/version";

/// The value of `app.kubernetes.io/managed-by` on every object Zeppelin renders.
pub const MANAGER: &str = "zeppelin";

/// Pod-template annotation: a hash of the conf and secrets a sub uses, so changing one of
/// them changes the template and rolls the pods.
pub const CONFIG_HASH: &str = "zeppelin.dev/config-hash";

/// Annotation on a Deployment listing secrets the app file exposes as environment
/// variables, an explicit opt-in that is weaker than files.
pub const SECRETS_AS_ENV: &str = "zeppelin.dev/secrets-as-env";

/// Annotation on a Deployment listing the pod-security defaults its sub opted out of.
pub const SECURITY_OPT_OUTS: &str = "zeppelin.dev/security-opt-outs";

/// Label on a job's Job, CronJob and pods: the job they run, whichever object made them
/// (a deploy, the CronJob controller, `zeppelin run-job`).
pub const JOB: &str = "zeppelin.dev/job";

/// Annotation on a `before` job's Job: the hash of its inputs, the suffix of its name. A
/// deploy runs the job again only when it changes.
pub const JOB_INPUTS: &str = "zeppelin.dev/job-inputs";

/// Annotation on a Job made by `zeppelin run-job --k8s`, with the value [`MANUAL`]: a run
/// by hand, which a deploy never prunes.
pub const RUN: &str = "zeppelin.dev/run";

/// The value of [`RUN`].
pub const MANUAL: &str = "manual";

/// Annotation on a `before` job's Job: the subs whose rollout waits for it to succeed
/// (comma-separated), so a deploy of a recorded revision orders it without the app file.
pub const JOB_BEFORE: &str = "zeppelin.dev/before";

/// Annotation on a `before` job's Job: the subs that must have rolled out before it runs
/// (comma-separated).
pub const JOB_DEPENDS_ON: &str = "zeppelin.dev/depends-on";

/// The label selector matching every object of the app named `app`: what a deploy lists
/// to prune, and what every cluster command lists or watches.
pub fn owner_selector(app: &str) -> String {
    format!("{MANAGED_BY}={MANAGER},{INSTANCE}={app}")
}

/// Labels of objects that belong to the whole app (Namespace, ServiceAccount, ConfigMap…).
pub(crate) fn app_labels(app: &App) -> BTreeMap<String, String> {
    let mut labels = app.kubernetes.labels.clone();
    labels.extend([
        (NAME.to_owned(), app.name.clone()),
        (INSTANCE.to_owned(), app.name.clone()),
        (PART_OF.to_owned(), app.name.clone()),
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
    ]);
    labels
}

/// Labels of a sub's objects and pods; the version comes from the image tag when it is a
/// valid label value.
pub(crate) fn sub_labels(app: &App, sub: &str) -> BTreeMap<String, String> {
    component_labels(app, sub, app.subs[sub].image.as_deref())
}

/// Labels of a job's Job or CronJob and its pods: a sub's, plus [`JOB`], so the job's runs
/// are found whichever object made them.
pub(crate) fn job_labels(app: &App, job: &str) -> BTreeMap<String, String> {
    let mut labels = component_labels(app, job, app.jobs[job].image.as_deref());
    labels.insert(JOB.to_owned(), job.to_owned());
    labels
}

/// The labels of one component (a sub or a job) running `image`.
fn component_labels(app: &App, name: &str, image: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = app.kubernetes.labels.clone();
    labels.extend([
        (NAME.to_owned(), name.to_owned()),
        (INSTANCE.to_owned(), app.name.clone()),
        (COMPONENT.to_owned(), name.to_owned()),
        (PART_OF.to_owned(), app.name.clone()),
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
    ]);
    if let Some(version) = image.and_then(image_tag).filter(|tag| is_label_value(tag)) {
        labels.insert(VERSION.to_owned(), version.to_owned());
    }
    labels
}

/// Labels of a stateful sub's claims, through its StatefulSet's claim templates: the
/// ownership labels and the sub, and nothing that may change between deploys (the version,
/// `[kubernetes] labels`), because a StatefulSet's claim templates can never be changed.
/// A claim matches [`owner_selector`], so it can be found; a deploy never prunes it,
/// since claims are not among the kinds it lists.
pub(crate) fn claim_labels(app: &App, sub: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME.to_owned(), sub.to_owned()),
        (INSTANCE.to_owned(), app.name.clone()),
        (COMPONENT.to_owned(), sub.to_owned()),
        (PART_OF.to_owned(), app.name.clone()),
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
    ])
}

/// The labels that select a sub's pods. Deployment selectors are immutable, so these never
/// include anything that changes between deploys (such as the version).
pub(crate) fn selector(app: &App, sub: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (INSTANCE.to_owned(), app.name.clone()),
        (NAME.to_owned(), sub.to_owned()),
    ])
}

/// The labels that select every pod of the app, whatever its sub.
pub(crate) fn app_pod_selector(app: &App) -> BTreeMap<String, String> {
    BTreeMap::from([
        (INSTANCE.to_owned(), app.name.clone()),
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
    ])
}

/// Annotations every object gets from `[kubernetes] annotations`.
pub(crate) fn annotations(app: &App) -> Option<BTreeMap<String, String>> {
    (!app.kubernetes.annotations.is_empty()).then(|| app.kubernetes.annotations.clone())
}

/// The tag of an image reference (`ghcr.io/acme/api:1.4.2@sha256:…` → `1.4.2`), if any.
pub(crate) fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag)
}

/// Whether the image is pinned by digest, so pulling it again can never change it.
pub(crate) fn image_has_digest(image: &str) -> bool {
    image.contains("@sha256:")
}

/// Whether `value` is a valid label value: at most 63 characters of `[A-Za-z0-9._-]`,
/// starting and ending with a letter or digit.
pub(crate) fn is_label_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags_are_found_after_the_last_slash() {
        assert_eq!(image_tag("ghcr.io/acme/api:1.4.2"), Some("1.4.2"));
        assert_eq!(image_tag("localhost:5000/api:2"), Some("2"));
        assert_eq!(image_tag("localhost:5000/api"), None);
        assert_eq!(image_tag("api@sha256:abc"), None);
        assert_eq!(image_tag("api:1@sha256:abc"), Some("1"));
    }

    #[test]
    fn label_values_follow_kubernetes_rules() {
        assert!(is_label_value("1.4.2"));
        assert!(!is_label_value("-1"));
        assert!(!is_label_value("a+b"));
        assert!(!is_label_value(&"a".repeat(64)));
    }
}

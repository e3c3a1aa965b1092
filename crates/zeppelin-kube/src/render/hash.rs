//! The config hash: a digest of exactly the conf and secrets one sub uses, written on its
//! pod template so that changing them rolls that sub's pods, and nothing else does; and a
//! `before` job's inputs hash, which names its Job so that only a change re-runs it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use sha2::{Digest, Sha256};
use zeppelin_core::model::SecretSource;
use zeppelin_core::{App, Sub};

use crate::render::options::RenderOptions;

/// The hash of what `sub` reads from the ConfigMap and the Secret.
///
/// Conf keys the sub overrides in its own `env` are left out: the sub never sees them.
/// Secret values enter only as their own SHA-256, so the annotation cannot leak them; when
/// no values were given, the secrets' sources stand in for them.
pub(crate) fn config_hash(app: &App, sub: &Sub, options: &RenderOptions) -> String {
    let conf: BTreeMap<&str, &str> = app
        .conf
        .iter()
        .filter(|(key, _)| !sub.env.contains_key(*key))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let secrets: BTreeMap<&str, String> = app
        .secrets
        .iter()
        .map(|(name, secret)| {
            let value = match options.secrets.as_ref().and_then(|v| v.get(name)) {
                Some(value) => hex(&Sha256::digest(value)),
                None => match &secret.source {
                    SecretSource::Env(var) => format!("env:{var}"),
                    SecretSource::File(path) => format!("file:{}", path.display()),
                },
            };
            (name.as_str(), value)
        })
        .collect();
    let input = serde_json::json!({ "conf": conf, "secrets": secrets });
    let digest = Sha256::digest(input.to_string().as_bytes());
    format!("sha256:{}", hex(&digest))
}

/// Hex characters of a job's inputs hash: a `before` job's Job is `<job>-<hash>`.
pub(crate) const JOB_INPUTS_LEN: usize = 10;

/// The hash of what a `before` job runs: its rendered pod template (image, command,
/// environment, resources, hardening), which holds the config hash of the conf and secrets
/// it uses. A deploy runs the job again exactly when this changes.
pub(crate) fn job_inputs(template: &PodTemplateSpec) -> String {
    let text = serde_json::to_string(template).expect("a pod template serializes");
    let mut digest = hex(&Sha256::digest(text.as_bytes()));
    digest.truncate(JOB_INPUTS_LEN);
    digest
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(text: &str) -> App {
        zeppelin_core::parse(text, std::path::Path::new("zeppelin.toml")).unwrap()
    }

    const BASE: &str = r#"
name = "shop"
[conf]
LOG_LEVEL = "info"
WORKERS = "1"
[secrets]
TOKEN = { env = "T" }
[sub.api]
image = "api:1"
[sub.web]
image = "web:1"
env = { WORKERS = "4" }
"#;

    fn hashes(text: &str, options: &RenderOptions) -> (String, String) {
        let app = app(text);
        (
            config_hash(&app, &app.subs["api"], options),
            config_hash(&app, &app.subs["web"], options),
        )
    }

    #[test]
    fn changes_when_a_used_conf_value_changes() {
        let opts = RenderOptions::default();
        let (api, web) = hashes(BASE, &opts);
        let (api2, web2) = hashes(&BASE.replace("\"info\"", "\"debug\""), &opts);
        assert_ne!(api, api2);
        assert_ne!(web, web2);
    }

    #[test]
    fn stays_when_an_overridden_conf_value_changes() {
        let opts = RenderOptions::default();
        let (api, web) = hashes(BASE, &opts);
        let (api2, web2) = hashes(&BASE.replace("WORKERS = \"1\"", "WORKERS = \"2\""), &opts);
        assert_ne!(api, api2, "api uses WORKERS from [conf]");
        assert_eq!(
            web, web2,
            "web overrides WORKERS, so [conf] WORKERS is not used"
        );
    }

    #[test]
    fn stays_for_the_same_input() {
        let opts = RenderOptions::default();
        assert_eq!(hashes(BASE, &opts), hashes(BASE, &opts));
    }

    #[test]
    fn changes_when_a_secret_value_changes_and_never_shows_it() {
        let with = |value: &str| RenderOptions {
            include_secret: false,
            secrets: Some(BTreeMap::from([(
                "TOKEN".to_owned(),
                value.as_bytes().to_vec(),
            )])),
        };
        let (a, _) = hashes(BASE, &with("s3cr3t-one"));
        let (b, _) = hashes(BASE, &with("s3cr3t-two"));
        assert_ne!(a, b);
        assert!(!a.contains("s3cr3t"));
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64, "{a}");
    }
}

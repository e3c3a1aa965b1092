//! What a job's run depends on, as one hash: its command, its image, every variable it
//! sees (conf, `.env`, its `env`, `<SUB>_ADDR`, secret file paths) and the secrets' values
//! (as their digest). A `before` job runs again only when this hash differs from the one
//! of its last success; the values themselves, secrets included, are never stored.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use zeppelin_core::model::Job;

use crate::environment::AppEnv;
use crate::error::Error;

/// The inputs hash `job` has with the app's environment `env`.
pub(crate) fn inputs_of(job: &Job, env: &AppEnv) -> Result<String, Error> {
    let command = job.run.as_deref().ok_or_else(|| Error::JobNoCommand {
        job: job.name.clone(),
    })?;
    Ok(Inputs {
        command,
        image: job.image.as_deref(),
        env: &env.for_sub(&job.env),
        secrets_digest: env.secrets_digest,
    }
    .hash())
}

/// The inputs of one job, borrowed from its context.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Inputs<'a> {
    pub(crate) command: &'a str,
    pub(crate) image: Option<&'a str>,
    pub(crate) env: &'a BTreeMap<String, String>,
    pub(crate) secrets_digest: u64,
}

impl Inputs<'_> {
    /// 20 hex characters of a SHA-256 of the inputs: stable across runs and builds.
    pub(crate) fn hash(&self) -> String {
        let text = serde_json::to_vec(self).expect("inputs serialize");
        let digest = Sha256::digest(&text);
        digest[..10].iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(command: &str, image: Option<&str>, env: &[(&str, &str)], secrets: u64) -> String {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Inputs {
            command,
            image,
            env: &env,
            secrets_digest: secrets,
        }
        .hash()
    }

    #[test]
    fn every_input_changes_the_hash_and_nothing_else_does() {
        let base = hash("python3 migrate.py", Some("api:1"), &[("A", "1")], 7);
        assert_eq!(base.len(), 20);
        assert_eq!(
            base,
            hash("python3 migrate.py", Some("api:1"), &[("A", "1")], 7)
        );
        for other in [
            hash("python3 migrate.py --all", Some("api:1"), &[("A", "1")], 7),
            hash("python3 migrate.py", Some("api:2"), &[("A", "1")], 7),
            hash("python3 migrate.py", None, &[("A", "1")], 7),
            hash("python3 migrate.py", Some("api:1"), &[("A", "2")], 7),
            hash(
                "python3 migrate.py",
                Some("api:1"),
                &[("A", "1"), ("B", "")],
                7,
            ),
            hash("python3 migrate.py", Some("api:1"), &[("A", "1")], 8),
        ] {
            assert_ne!(base, other);
        }
    }
}

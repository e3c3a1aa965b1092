//! Secret values: read from where the app file says (an environment variable or a file) at
//! render or deploy time, never from the app file itself.
//!
//! Apps receive every secret `NAME` as a read-only file `/run/secrets/zeppelin/NAME`,
//! announced by `NAME_FILE`, exactly like the local runtime does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use zeppelin_core::App;
use zeppelin_core::model::SecretSource;

/// Where secret files are mounted in every container.
pub const MOUNT_DIR: &str = zeppelin_core::SECRETS_MOUNT_DIR;

/// Resolved secret values by secret name.
pub type SecretValues = BTreeMap<String, Vec<u8>>;

/// A secret whose value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "secret `{secret}` is read from the environment variable `{var}`, which is not set; export it, or render without secrets"
    )]
    EnvMissing { secret: String, var: String },
    #[error(
        "cannot read secret `{secret}` from {}; create the file or fix `secrets.{secret}.file`",
        .path.display()
    )]
    File {
        secret: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads every secret of `app`: environment variables of this process, files relative to
/// the app folder.
pub fn resolve(app: &App) -> Result<SecretValues, SecretError> {
    resolve_with(app, |var| std::env::var_os(var))
}

/// [`resolve`] with the environment given, so callers and tests need not change their own.
pub fn resolve_with(
    app: &App,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<SecretValues, SecretError> {
    let mut values = SecretValues::new();
    for (name, secret) in &app.secrets {
        values.insert(name.clone(), resolve_one(app, name, &secret.source, &env)?);
    }
    Ok(values)
}

/// Reads one secret of `app` from `source`, as [`resolve_with`] does: a rollback reads only
/// the secrets its revision has.
pub fn resolve_one(
    app: &App,
    name: &str,
    source: &SecretSource,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Vec<u8>, SecretError> {
    match source {
        SecretSource::Env(var) => env(var)
            .map(std::ffi::OsString::into_encoded_bytes)
            .ok_or_else(|| SecretError::EnvMissing {
                secret: name.to_owned(),
                var: var.clone(),
            }),
        SecretSource::File(path) => {
            let path = app.dir().join(path);
            std::fs::read(&path).map_err(|source| SecretError::File {
                secret: name.to_owned(),
                path,
                source,
            })
        }
    }
}

/// Where a secret is read from, in a few words (`env SHOP_TOKEN`, `file db.txt`).
pub fn describe(source: &SecretSource) -> String {
    match source {
        SecretSource::Env(var) => format!("env {var}"),
        SecretSource::File(path) => format!("file {}", path.display()),
    }
}

/// The file a container reads secret `name` from.
pub fn file_path(name: &str) -> String {
    format!("{MOUNT_DIR}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(dir: &std::path::Path) -> App {
        let text = r#"
name = "shop"
[secrets]
TOKEN = { env = "SHOP_TOKEN" }
DB = { file = "db.txt" }
"#;
        zeppelin_core::parse(text, &dir.join("zeppelin.toml")).unwrap()
    }

    #[test]
    fn reads_env_and_files_relative_to_the_app() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db.txt"), "hunter2").unwrap();
        let values = resolve_with(&app(dir.path()), |var| {
            (var == "SHOP_TOKEN").then(|| "t0k".into())
        })
        .unwrap();
        assert_eq!(values["TOKEN"], b"t0k");
        assert_eq!(values["DB"], b"hunter2");
    }

    #[test]
    fn a_missing_variable_names_the_secret_and_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db.txt"), "hunter2").unwrap();
        let err = resolve_with(&app(dir.path()), |_| None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`TOKEN`") && text.contains("`SHOP_TOKEN`"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_file_names_the_secret_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_with(&app(dir.path()), |_| Some("x".into())).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`DB`") && text.contains("db.txt"), "{text}");
        assert!(std::error::Error::source(&err).is_some());
    }
}

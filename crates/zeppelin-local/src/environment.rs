//! The environment every replica starts with: `[conf]`, the app folder's `.env`, the sub's
//! `env`, `<SUB>_ADDR` for every sub with a port, and `NAME_FILE` for every secret, whose
//! value is written to a 0600 file under `.zeppelin/secrets/`.
//!
//! `PORT`, `ZEPPELIN_REPLICA` and the process marker are added per replica by `replica`.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use zeppelin_core::App;
use zeppelin_core::model::SecretSource;

use crate::error::Error;
use crate::paths::AppPaths;

/// Variables for every replica of every sub, before the sub's own `env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppEnv {
    base: BTreeMap<String, String>,
    /// Variables a secret is read from: replicas get the secret's file, not the variable.
    pub(crate) hidden: Vec<String>,
    /// A hash of the secrets' values: replicas started with other values must be replaced,
    /// though their variables (file names) stay the same.
    pub(crate) secrets_digest: u64,
}

impl AppEnv {
    /// Resolves the app's conf, `.env` and secrets; secrets are written to their files here,
    /// so a secret that cannot be read stops the start before any process runs.
    pub(crate) fn resolve(app: &App, paths: &AppPaths) -> Result<Self, Error> {
        Self::resolve_in(app, &paths.secrets())
    }

    /// [`Self::resolve`], with the secret files written in `dir` (made 0700 if missing)
    /// instead of the app's own secrets folder.
    pub(crate) fn resolve_in(app: &App, dir: &Path) -> Result<Self, Error> {
        let mut base = app.conf.clone();
        let hidden = app
            .secrets
            .values()
            .filter_map(|s| match &s.source {
                SecretSource::Env(var) => Some(var.clone()),
                SecretSource::File(_) => None,
            })
            .collect();
        let dotenv = app.dir().join(".env");
        match std::fs::read_to_string(&dotenv) {
            Ok(text) => base.extend(parse_dotenv(&text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Read {
                    path: dotenv,
                    source,
                });
            }
        }
        for sub in app.subs.values() {
            if let Some(port) = sub.port {
                base.insert(App::addr_var(&sub.name), format!("127.0.0.1:{port}"));
            }
        }
        let mut digest = Vec::new();
        if !app.secrets.is_empty() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| Error::Write {
                    path: dir.to_path_buf(),
                    source,
                })?;
            for (name, secret) in &app.secrets {
                let value = read_secret(app.dir(), name, &secret.source)?;
                digest.extend_from_slice(name.as_bytes());
                digest.push(0);
                digest.extend_from_slice(&value);
                digest.push(0);
                let file = dir.join(name);
                write_private(&file, &value)?;
                base.insert(App::secret_file_var(name), file.display().to_string());
                if secret.expose_env {
                    base.insert(name.clone(), String::from_utf8_lossy(&value).into_owned());
                }
            }
        }
        Ok(Self {
            base,
            hidden,
            secrets_digest: crate::paths::fnv1a(&digest),
        })
    }

    /// The variables of one sub: the app's, overridden by the sub's own `env`.
    pub(crate) fn for_sub(&self, env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut vars = self.base.clone();
        vars.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }
}

fn read_secret(dir: &Path, name: &str, source: &SecretSource) -> Result<Vec<u8>, Error> {
    match source {
        SecretSource::Env(var) => std::env::var_os(var)
            .map(std::ffi::OsString::into_encoded_bytes)
            .ok_or_else(|| Error::SecretEnv {
                secret: name.to_owned(),
                var: var.clone(),
            }),
        SecretSource::File(file) => {
            let path: PathBuf = dir.join(file);
            std::fs::read(&path).map_err(|source| Error::SecretFile {
                secret: name.to_owned(),
                path,
                source,
            })
        }
    }
}

/// Writes `value` to a file only this user can read, replacing what was there.
fn write_private(path: &Path, value: &[u8]) -> Result<(), Error> {
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(value)
    };
    write().map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a `.env` file: `KEY=value` lines, optional `export `, `#` comments, and values in
/// single or double quotes.
fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            Some((key.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_are_parsed() {
        let vars = parse_dotenv("# comment\nA=1\nexport B = \"two words\"\n\nC='x=y'\nnot a var\n");
        assert_eq!(
            vars,
            vec![
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "two words".to_owned()),
                ("C".to_owned(), "x=y".to_owned()),
            ]
        );
    }
}

//! `[sub.NAME]` tables: one sub-component each.

use std::collections::BTreeMap;

use toml::de::DeValue;

use super::{Decoder, TableView, Value};
use crate::diagnostic::ErrorKind;
use crate::model::{
    Autoscale, Balance, Health, HealthCheck, Resources, RestartPolicy, Sub, Volume,
};
use crate::names::{MAX_LABEL, dns_label_problem, env_name_problem};

pub(super) fn subs(dec: &mut Decoder, value: &Value<'_>) -> BTreeMap<String, Sub> {
    named_tables(dec, "sub", value, MAX_LABEL, sub)
}

/// Reads a table of tables keyed by names that become Kubernetes names (`[sub.NAME]`,
/// `[job.NAME]`), checking each name is a label of at most `max` characters.
pub(super) fn named_tables<T>(
    dec: &mut Decoder,
    kind: &str,
    value: &Value<'_>,
    max: usize,
    read: impl Fn(&mut Decoder, String, TableView<'_, '_>) -> T,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    let Some(view) = dec.table(kind, value) else {
        return out;
    };
    for (key, v) in view.entries() {
        let name = key.get_ref().to_string();
        let path = view.path_of(&name);
        let Some(t) = dec.table(&path, v) else {
            continue;
        };
        dec.record_name(&path, key);
        let name_value = toml::Spanned::new(key.span(), DeValue::String(name.clone().into()));
        super::app::check_label(dec, &path, &name_value, &name, max);
        out.insert(name.clone(), read(dec, name, t));
    }
    out
}

fn sub(dec: &mut Decoder, name: String, t: TableView<'_, '_>) -> Sub {
    let p = |key: &str| t.path_of(key);
    let Command {
        run,
        image,
        depends_on,
        env,
        resources,
    } = command(dec, &t, "sub", "starts this sub");
    let port = t.get("port").and_then(|v| dec.port(&p("port"), v));
    let replicas = t
        .get("replicas")
        .and_then(|v| dec.count(&p("replicas"), v, 0, ErrorKind::InvalidReplicas));
    let health = t.get("health").and_then(|v| health(dec, &p("health"), v));
    let restart = t
        .get("restart")
        .and_then(|v| restart(dec, &p("restart"), v))
        .unwrap_or_default();
    let autoscale = t
        .get("autoscale")
        .and_then(|v| autoscale(dec, &p("autoscale"), v));
    let stop_timeout = t
        .get("stop_timeout")
        .and_then(|v| dec.duration(&p("stop_timeout"), v))
        .unwrap_or(Sub::DEFAULT_STOP_TIMEOUT);
    let balance = t
        .get("balance")
        .and_then(|v| balance(dec, &p("balance"), v))
        .unwrap_or_default();
    let volumes = t
        .get("volumes")
        .map(|v| volumes(dec, &p("volumes"), v))
        .unwrap_or_default();
    t.finish(dec);
    Sub {
        name,
        run,
        image,
        port,
        replicas,
        depends_on,
        env,
        health,
        restart,
        resources,
        autoscale,
        stop_timeout,
        balance,
        volumes,
    }
}

/// What subs and jobs both have: what runs, locally and in a container, with which
/// environment and resources, after which subs.
pub(super) struct Command {
    pub(super) run: Option<String>,
    pub(super) image: Option<String>,
    pub(super) depends_on: Vec<String>,
    pub(super) env: BTreeMap<String, String>,
    pub(super) resources: Resources,
}

/// Reads the keys of [`Command`]; `kind` (`sub`, `job`) and `purpose` word the errors.
pub(super) fn command(
    dec: &mut Decoder,
    t: &TableView<'_, '_>,
    kind: &str,
    purpose: &str,
) -> Command {
    let p = |key: &str| t.path_of(key);
    let run = t
        .get("run")
        .and_then(|v| dec.string(&p("run"), v))
        .filter(|run| {
            let blank = run.trim().is_empty();
            if blank {
                dec.invalid(
                    ErrorKind::InvalidValue,
                    dec.spans.nearest(&p("run")),
                    format!("`{}` is empty", p("run")),
                )
                .help = Some(format!(
                    "give the command that {purpose}, such as `python3 app/web.py`"
                ));
            }
            !blank
        });
    let image = t
        .get("image")
        .and_then(|v| dec.string(&p("image"), v))
        .filter(|image| {
            let bad = image.is_empty() || image.chars().any(char::is_whitespace);
            if bad {
                dec.invalid(
                    ErrorKind::InvalidValue,
                    dec.spans.nearest(&p("image")),
                    format!("`{}` = \"{image}\" is not an image reference", p("image")),
                )
                .help = Some("write an image such as `ghcr.io/acme/shop-api:1.4.2`".to_owned());
            }
            !bad
        });
    if run.is_none() && image.is_none() && t.get("run").is_none() && t.get("image").is_none() {
        dec.missing(
            t,
            "run",
            &format!("a {kind} needs `run` (its local command) or `image` (its container, for Kubernetes), or both"),
        );
    }
    let depends_on = t
        .get("depends_on")
        .and_then(|v| dec.array(&p("depends_on"), v, super::Decoder::string))
        .unwrap_or_default();
    let env = t
        .get("env")
        .map(|v| dec.string_map(&p("env"), v, env_name_problem))
        .unwrap_or_default();
    let resources = t
        .get("resources")
        .map(|v| resources(dec, &p("resources"), v))
        .unwrap_or_default();
    Command {
        run,
        image,
        depends_on,
        env,
        resources,
    }
}

/// Mount paths a volume may not take on Kubernetes: the root, and what every pod already
/// mounts (the writable `/tmp` and the secrets folder).
const RESERVED_PATHS: [&str; 3] = ["/", "/tmp", crate::SECRETS_MOUNT_DIR];

fn volumes(dec: &mut Decoder, path: &str, value: &Value<'_>) -> BTreeMap<String, Volume> {
    let mut out = BTreeMap::new();
    let Some(view) = dec.table(path, value) else {
        return out;
    };
    // Mount paths seen so far, normalised, with the volume that took each.
    let mut taken: Vec<(String, String)> = Vec::new();
    for (key, v) in view.entries() {
        let name = key.get_ref().to_string();
        let volume_path = view.path_of(&name);
        dec.record_name(&volume_path, key);
        let problem = dns_label_problem(&name)
            .or_else(|| {
                name.starts_with(|c: char| c.is_ascii_digit())
                    .then(|| "it must start with a letter".to_owned())
            })
            .or_else(|| {
                crate::POD_VOLUME_NAMES
                    .contains(&name.as_str())
                    .then(|| "every pod on Kubernetes already has a volume by that name".to_owned())
            });
        if let Some(problem) = problem {
            dec.invalid(
                ErrorKind::InvalidName,
                key.span(),
                format!("volume name `{volume_path}` is not allowed: {problem}"),
            )
            .help = Some(
                "a volume name becomes a claim name on Kubernetes and a `<NAME>_DIR` variable; use lower-case letters, digits and `-`, starting with a letter, such as `data`"
                    .to_owned(),
            );
        }
        let Some(t) = dec.table(&volume_path, v) else {
            continue;
        };
        let mount = match t.get("path") {
            Some(v) => dec.string(&t.path_of("path"), v).and_then(|mount| {
                mount_path(dec, &t.path_of("path"), v, &mount, &mut taken, &name)
            }),
            None => {
                dec.missing(
                    &t,
                    "path",
                    "say where the container mounts the volume: `path = \"/data\"`",
                );
                None
            }
        };
        let size = t
            .get("size")
            .and_then(|v| dec.quantity(&t.path_of("size"), v));
        t.finish(dec);
        if let Some(mount) = mount {
            out.insert(
                name.clone(),
                Volume {
                    name,
                    path: mount,
                    size,
                },
            );
        }
    }
    out
}

/// Checks a volume's mount path: absolute, plain, not reserved, not another volume's.
fn mount_path(
    dec: &mut Decoder,
    path: &str,
    value: &Value<'_>,
    mount: &str,
    taken: &mut Vec<(String, String)>,
    volume: &str,
) -> Option<String> {
    let normal = if mount.len() > 1 {
        mount.trim_end_matches('/')
    } else {
        mount
    };
    let problem = if !mount.starts_with('/') {
        Some((
            format!("`{path}` = \"{mount}\" is not an absolute path"),
            format!(
                "write the path inside the container, such as `/{}`",
                mount.trim_start_matches("./")
            ),
        ))
    } else if normal.split('/').any(|part| part == "." || part == "..") {
        Some((
            format!("`{path}` = \"{mount}\" has `.` or `..` in it"),
            "write the path plainly, such as `/data`".to_owned(),
        ))
    } else if RESERVED_PATHS.contains(&normal)
        || normal.starts_with(&format!("{}/", crate::SECRETS_MOUNT_DIR))
    {
        Some((
            format!("`{path}` = \"{mount}\" is a path every pod already mounts"),
            format!(
                "pick another path; {} are taken",
                RESERVED_PATHS.map(|p| format!("`{p}`")).join(", ")
            ),
        ))
    } else if let Some((_, other)) = taken.iter().find(|(p, _)| p == normal) {
        Some((
            format!("`{path}` = \"{mount}\" is also the path of volume `{other}`"),
            "give each volume its own path".to_owned(),
        ))
    } else {
        None
    };
    if let Some((message, help)) = problem {
        dec.invalid(ErrorKind::InvalidValue, value.span(), message)
            .help = Some(help);
        return None;
    }
    taken.push((normal.to_owned(), volume.to_owned()));
    Some(normal.to_owned())
}

/// Reads a string that must be one of `choices`, suggesting the nearest on a miss.
fn choice<T: Copy>(
    dec: &mut Decoder,
    path: &str,
    value: &Value<'_>,
    choices: &[(&'static str, T)],
) -> Option<T> {
    let s = dec.string(path, value)?;
    if let Some((_, t)) = choices.iter().find(|(name, _)| *name == s) {
        return Some(*t);
    }
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    let help = match super::suggest(&s, &names) {
        Some(near) => format!("did you mean \"{near}\"?"),
        None => format!(
            "expected one of: {}",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    dec.invalid(
        ErrorKind::InvalidValue,
        value.span(),
        format!("`{path}` = \"{s}\" is not allowed"),
    )
    .help = Some(help);
    None
}

fn restart(dec: &mut Decoder, path: &str, value: &Value<'_>) -> Option<RestartPolicy> {
    choice(
        dec,
        path,
        value,
        &[
            ("always", RestartPolicy::Always),
            ("on-failure", RestartPolicy::OnFailure),
            ("never", RestartPolicy::Never),
        ],
    )
}

fn balance(dec: &mut Decoder, path: &str, value: &Value<'_>) -> Option<Balance> {
    choice(
        dec,
        path,
        value,
        &[
            ("round-robin", Balance::RoundRobin),
            ("least-connections", Balance::LeastConnections),
        ],
    )
}

fn health(dec: &mut Decoder, path: &str, value: &Value<'_>) -> Option<Health> {
    let t = dec.table(path, value)?;
    let http = t.get("http");
    let tcp = t.get("tcp");
    let exec = t.get("exec");
    let interval = t
        .get("interval")
        .and_then(|v| dec.duration(&t.path_of("interval"), v));
    let timeout = t
        .get("timeout")
        .and_then(|v| dec.duration(&t.path_of("timeout"), v));
    let retries = t
        .get("retries")
        .and_then(|v| dec.count(&t.path_of("retries"), v, 1, ErrorKind::InvalidHealth));
    let grace = t
        .get("grace")
        .and_then(|v| dec.duration(&t.path_of("grace"), v));
    let kinds = [http, tcp, exec].iter().filter(|v| v.is_some()).count();
    let check = match (http, tcp, exec) {
        _ if kinds > 1 => {
            dec.invalid(
                ErrorKind::InvalidHealth,
                value.span(),
                format!("`{path}` has more than one of `http`, `tcp` and `exec`"),
            )
            .help = Some("keep one kind of check".to_owned());
            None
        }
        (Some(v), None, None) => dec.string(&t.path_of("http"), v).and_then(|path_str| {
            if path_str.starts_with('/') {
                Some(HealthCheck::Http { path: path_str })
            } else {
                dec.invalid(
                    ErrorKind::InvalidHealth,
                    v.span(),
                    format!("health check path `{path_str}` must start with `/`"),
                )
                .help = Some(format!("write `http = \"/{path_str}\"`"));
                None
            }
        }),
        (None, Some(v), None) => match dec.boolean(&t.path_of("tcp"), v) {
            Some(true) => Some(HealthCheck::Tcp),
            Some(false) => {
                dec.invalid(
                    ErrorKind::InvalidHealth,
                    v.span(),
                    "`tcp = false` is not a health check",
                )
                .help = Some("write `tcp = true`, or remove `health` to have no check".to_owned());
                None
            }
            None => None,
        },
        (None, None, Some(v)) => dec
            .string(&t.path_of("exec"), v)
            .map(|command| HealthCheck::Exec { command }),
        _ => {
            dec.invalid(
                ErrorKind::InvalidHealth,
                value.span(),
                format!("`{path}` says how to probe but not what"),
            )
            .help = Some(
                "add one of `http = \"/healthz\"`, `tcp = true` or `exec = \"command\"`".to_owned(),
            );
            None
        }
    };
    t.finish(dec);
    Some(Health {
        check: check?,
        interval: interval.unwrap_or(Health::DEFAULT_INTERVAL),
        timeout: timeout.unwrap_or(Health::DEFAULT_TIMEOUT),
        retries: retries.unwrap_or(Health::DEFAULT_RETRIES),
        grace: grace.unwrap_or(Health::DEFAULT_GRACE),
    })
}

fn resources(dec: &mut Decoder, path: &str, value: &Value<'_>) -> Resources {
    let Some(t) = dec.table(path, value) else {
        return Resources::default();
    };
    let resources = Resources {
        cpu: t
            .get("cpu")
            .and_then(|v| dec.quantity(&t.path_of("cpu"), v)),
        memory: t
            .get("memory")
            .and_then(|v| dec.quantity(&t.path_of("memory"), v)),
        ephemeral_storage: t
            .get("ephemeral_storage")
            .and_then(|v| dec.quantity(&t.path_of("ephemeral_storage"), v)),
    };
    t.finish(dec);
    resources
}

fn autoscale(dec: &mut Decoder, path: &str, value: &Value<'_>) -> Option<Autoscale> {
    let t = dec.table(path, value)?;
    let min_value = t.get("min");
    let min =
        min_value.and_then(|v| dec.count(&t.path_of("min"), v, 1, ErrorKind::InvalidAutoscale));
    let max = match t.get("max") {
        Some(v) => dec.count(&t.path_of("max"), v, 1, ErrorKind::InvalidAutoscale),
        None => {
            dec.missing(&t, "max", "an autoscaler needs an upper bound: `max = 10`");
            None
        }
    };
    let cpu_percent = t
        .get("cpu_percent")
        .and_then(|v| dec.count(&t.path_of("cpu_percent"), v, 1, ErrorKind::InvalidAutoscale));
    t.finish(dec);
    let min = if min_value.is_some() { min? } else { 1 };
    let max = max?;
    if min > max {
        let span = min_value.map_or_else(|| dec.spans.nearest(path), toml::Spanned::span);
        dec.invalid(
            ErrorKind::InvalidAutoscale,
            span,
            format!("`{path}.min` ({min}) is above `max` ({max})"),
        )
        .help = Some("make `min` at most `max`".to_owned());
        return None;
    }
    Some(Autoscale {
        min,
        max,
        cpu_percent: cpu_percent.unwrap_or(Autoscale::DEFAULT_CPU_PERCENT),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn volumes_are_read_with_their_variable() {
        let text = "name = \"shop\"\n[sub.db]\nrun = \"x\"\nimage = \"db:1\"\nvolumes = { data = { path = \"/var/lib/db/\", size = \"2Gi\" }, cache-files = { path = \"/cache\", size = \"1Gi\" } }\n";
        let app = crate::parse(text, Path::new("zeppelin.toml")).unwrap();
        let db = &app.subs["db"];
        assert!(db.is_stateful());
        let data = &db.volumes["data"];
        assert_eq!(data.path, "/var/lib/db", "a trailing slash is dropped");
        assert_eq!(
            data.size.as_ref().map(ToString::to_string).as_deref(),
            Some("2Gi")
        );
        assert_eq!(data.dir_var(), "DATA_DIR");
        assert_eq!(db.volumes["cache-files"].dir_var(), "CACHE_FILES_DIR");
    }

    #[test]
    fn a_local_only_volume_needs_no_size() {
        let text =
            "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { data = { path = \"/data\" } }\n";
        let app = crate::parse(text, Path::new("zeppelin.toml")).unwrap();
        assert_eq!(app.subs["db"].volumes["data"].size, None);
        let plain = "name = \"shop\"\n[sub.web]\nrun = \"x\"\n";
        let app = crate::parse(plain, Path::new("zeppelin.toml")).unwrap();
        assert!(!app.subs["web"].is_stateful());
    }
}

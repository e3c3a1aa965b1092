//! `[sub.NAME]` tables: one sub-component each.

use std::collections::BTreeMap;

use toml::de::DeValue;

use super::{Decoder, TableView, Value};
use crate::diagnostic::ErrorKind;
use crate::model::{Autoscale, Balance, Health, HealthCheck, Resources, RestartPolicy, Sub};
use crate::names::{MAX_LABEL, env_name_problem};

pub(super) fn subs(dec: &mut Decoder, value: &Value<'_>) -> BTreeMap<String, Sub> {
    let mut out = BTreeMap::new();
    let Some(view) = dec.table("sub", value) else {
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
        super::app::check_label(dec, &path, &name_value, &name, MAX_LABEL);
        out.insert(name.clone(), sub(dec, name, t));
    }
    out
}

fn sub(dec: &mut Decoder, name: String, t: TableView<'_, '_>) -> Sub {
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
                .help = Some(
                    "give the command that starts this sub, such as `python3 app/web.py`"
                        .to_owned(),
                );
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
        dec.missing(&t, "run", "a sub needs `run` (its local command) or `image` (its container, for Kubernetes), or both");
    }
    let port = t.get("port").and_then(|v| dec.port(&p("port"), v));
    let replicas = t
        .get("replicas")
        .and_then(|v| dec.count(&p("replicas"), v, 0, ErrorKind::InvalidReplicas));
    let depends_on = t
        .get("depends_on")
        .and_then(|v| dec.array(&p("depends_on"), v, super::Decoder::string))
        .unwrap_or_default();
    let env = t
        .get("env")
        .map(|v| dec.string_map(&p("env"), v, env_name_problem))
        .unwrap_or_default();
    let health = t.get("health").and_then(|v| health(dec, &p("health"), v));
    let restart = t
        .get("restart")
        .and_then(|v| restart(dec, &p("restart"), v))
        .unwrap_or_default();
    let resources = t
        .get("resources")
        .map(|v| resources(dec, &p("resources"), v))
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
    }
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

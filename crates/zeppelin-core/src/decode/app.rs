//! The top level of the app file: `name`, `namespace`, `[conf]`, `[secrets]`, `[sub.*]`,
//! `[job.*]`, `[[route]]`, `[gateway]`, `[logs]` and `[kubernetes]`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::de::DeValue;

use super::{Decoder, TableView, Value};
use crate::diagnostic::ErrorKind;
use crate::model::{App, AppSource, Gateway, Logs, Route, Secret, SecretSource};
use crate::names::{MAX_APP_NAME, dns_label_problem, dns_label_suggestion, env_name_problem};

pub(crate) fn decode_app(dec: &mut Decoder, root: TableView<'_, '_>, source: AppSource) -> App {
    let name = match root.get("name") {
        Some(v) => dec
            .string("name", v)
            .inspect(|name| check_label(dec, "name", v, name, MAX_APP_NAME)),
        None => {
            dec.missing(
                &root,
                "name",
                "add `name = \"my-app\"` at the top: a lower-case DNS label",
            );
            None
        }
    };
    let namespace = root.get("namespace").and_then(|v| {
        dec.string("namespace", v)
            .inspect(|ns| check_label(dec, "namespace", v, ns, 63))
    });
    let conf = root
        .get("conf")
        .map(|v| dec.string_map("conf", v, env_name_problem))
        .unwrap_or_default();
    let secrets = root
        .get("secrets")
        .map(|v| secrets(dec, v))
        .unwrap_or_default();
    let subs = root
        .get("sub")
        .map(|v| super::sub::subs(dec, v))
        .unwrap_or_default();
    let jobs = root
        .get("job")
        .map(|v| super::job::jobs(dec, v))
        .unwrap_or_default();
    let routes = root
        .get("route")
        .map(|v| routes(dec, v))
        .unwrap_or_default();
    let gateway = root
        .get("gateway")
        .map(|v| gateway(dec, v))
        .unwrap_or_default();
    let logs = root.get("logs").map(|v| logs(dec, v)).unwrap_or_default();
    let kubernetes = root
        .get("kubernetes")
        .map(|v| super::kubernetes::kubernetes(dec, v))
        .unwrap_or_default();
    root.finish(dec);
    App {
        // A missing name is already reported; decoding goes on so later checks run too.
        name: name.unwrap_or_default(),
        namespace,
        conf,
        secrets,
        subs,
        jobs,
        routes,
        gateway,
        logs,
        kubernetes,
        source,
    }
}

/// Reports `name` when it is not a DNS-1123 label of at most `max` characters.
pub(super) fn check_label(
    dec: &mut Decoder,
    path: &str,
    value: &Value<'_>,
    name: &str,
    max: usize,
) {
    let problem = dns_label_problem(name).or_else(|| {
        (name.len() > max).then(|| {
            format!(
                "it is {} characters long; at most {max} are allowed",
                name.len()
            )
        })
    });
    if let Some(problem) = problem {
        let kind = if dns_label_problem(name).is_none() {
            ErrorKind::NameTooLong
        } else {
            ErrorKind::InvalidName
        };
        let suggestion = dns_label_suggestion(name);
        let finding = dec.invalid(
            kind,
            value.span(),
            format!("`{path}` = \"{name}\" is not a valid name: {problem}"),
        );
        "not a DNS-1123 label".clone_into(&mut finding.label);
        finding.help = Some(if suggestion.is_empty() || suggestion == name {
            format!(
                "names become Kubernetes names: lower-case letters, digits and `-`, at most {max} characters"
            )
        } else {
            format!("names become Kubernetes names; try \"{suggestion}\"")
        });
    }
}

fn secrets(dec: &mut Decoder, value: &Value<'_>) -> BTreeMap<String, Secret> {
    let mut out = BTreeMap::new();
    let Some(view) = dec.table("secrets", value) else {
        return out;
    };
    for (key, v) in view.entries() {
        let name = key.get_ref().to_string();
        let path = view.path_of(&name);
        dec.record_name(&path, key);
        if let Some(problem) = env_name_problem(&name) {
            dec.invalid_env_name(
                key.span(),
                format!("secret `{name}`: {problem}"),
                "secrets are announced as `NAME_FILE` variables",
                &name,
            );
        }
        let Some(t) = secret_table(dec, &path, v) else {
            continue;
        };
        let env = t.get("env").and_then(|v| dec.string(&t.path_of("env"), v));
        let file = t
            .get("file")
            .and_then(|v| dec.string(&t.path_of("file"), v));
        let expose_env = t
            .get("expose_env")
            .and_then(|v| dec.boolean(&t.path_of("expose_env"), v))
            .unwrap_or(false);
        let source = match (env, file) {
            (Some(env), None) => Some(SecretSource::Env(env)),
            (None, Some(file)) => Some(SecretSource::File(PathBuf::from(file))),
            (Some(_), Some(_)) => {
                dec.invalid(
                    ErrorKind::InvalidSecret,
                    v.span(),
                    format!("secret `{name}` has both `env` and `file`"),
                )
                .help = Some("keep one: `{ env = \"VAR\" }` or `{ file = \"path\" }`".to_owned());
                None
            }
            (None, None)
                if t.entries().all(|(k, _)| {
                    ["env", "file", "expose_env"].contains(&k.get_ref().as_ref())
                }) =>
            {
                dec.invalid(
                    ErrorKind::InvalidSecret,
                    v.span(),
                    format!("secret `{name}` has neither `env` nor `file`"),
                )
                .help = Some(format!(
                    "say where the value comes from: `{name} = {{ env = \"VAR\" }}` or `{name} = {{ file = \"secrets/{}\" }}`",
                    name.to_lowercase()
                ));
                None
            }
            (None, None) => None,
        };
        t.finish(dec);
        if let Some(source) = source {
            out.insert(name, Secret { source, expose_env });
        }
    }
    out
}

/// A secret must be a table; a bare string is the most common slip, so it gets its own help.
fn secret_table<'a, 'i>(
    dec: &mut Decoder,
    path: &str,
    v: &'a Value<'i>,
) -> Option<TableView<'a, 'i>> {
    if let DeValue::String(s) = v.get_ref() {
        dec.invalid(
            ErrorKind::InvalidSecret,
            v.span(),
            format!("`{path}` must not hold the secret's value"),
        )
        .help = Some(format!(
            "secret values never live in the app file; write `{{ env = \"{}\" }}` or `{{ file = \"…\" }}`",
            if s.is_empty() { "VAR" } else { "VAR_NAME" }
        ));
        return None;
    }
    dec.table(path, v)
}

fn routes(dec: &mut Decoder, value: &Value<'_>) -> Vec<Route> {
    dec.array("route", value, |dec, path, v| {
        let t = dec.table(path, v)?;
        let host = match t.get("host") {
            Some(v) => dec
                .string(&t.path_of("host"), v)
                .inspect(|h| check_host(dec, &t.path_of("host"), v, h)),
            None => {
                dec.missing(&t, "host", "add `host = \"app.localhost\"`");
                None
            }
        };
        let path_value = t.get("path");
        let route_path = match path_value {
            Some(v) => dec.string(&t.path_of("path"), v).inspect(|p| {
                if !p.starts_with('/') {
                    dec.invalid(
                        ErrorKind::InvalidRoute,
                        v.span(),
                        format!("route path `{p}` must start with `/`"),
                    )
                    .help = Some(format!("write \"/{p}\""));
                }
            }),
            None => Some("/".to_owned()),
        };
        let sub = match t.get("sub") {
            Some(v) => dec.string(&t.path_of("sub"), v),
            None => {
                dec.missing(
                    &t,
                    "sub",
                    "add `sub = \"web\"`: the sub that serves this route",
                );
                None
            }
        };
        t.finish(dec);
        Some(Route {
            host: host?,
            path: route_path?,
            sub: sub?,
        })
    })
    .unwrap_or_default()
}

/// Hosts are DNS names, optionally with one leading `*.` wildcard label.
fn check_host(dec: &mut Decoder, path: &str, value: &Value<'_>, host: &str) {
    let bare = host.strip_prefix("*.").unwrap_or(host);
    let bad = bare.is_empty()
        || bare.len() > 253
        || bare
            .split('.')
            .any(|label| dns_label_problem(label).is_some());
    if bad {
        dec.invalid(ErrorKind::InvalidRoute, value.span(), format!("`{path}` = \"{host}\" is not a host name"))
            .help = Some("write a lower-case DNS name such as `shop.localhost`, or `*.shop.localhost` for any subdomain".to_owned());
    }
}

fn gateway(dec: &mut Decoder, value: &Value<'_>) -> Gateway {
    let mut gateway = Gateway::default();
    let Some(t) = dec.table("gateway", value) else {
        return gateway;
    };
    if let Some(port) = t.get("port").and_then(|v| dec.port("gateway.port", v)) {
        gateway.port = port;
    }
    t.finish(dec);
    gateway
}

fn logs(dec: &mut Decoder, value: &Value<'_>) -> Logs {
    let mut logs = Logs::default();
    let Some(t) = dec.table("logs", value) else {
        return logs;
    };
    if let Some(q) = t
        .get("max_size")
        .and_then(|v| dec.quantity("logs.max_size", v))
    {
        if q.value() < 1024.0 {
            dec.invalid(
                ErrorKind::InvalidValue,
                dec.spans.nearest("logs.max_size"),
                "`logs.max_size` must be at least 1Ki",
            )
            .help = Some("write a size such as `10Mi`".to_owned());
        } else {
            // Truncation is intended: sizes are whole bytes.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            {
                logs.max_bytes = q.value() as u64;
            }
        }
    }
    if let Some(keep) = t
        .get("keep")
        .and_then(|v| dec.count("logs.keep", v, 1, ErrorKind::InvalidValue))
    {
        logs.keep = keep;
    }
    t.finish(dec);
    logs
}

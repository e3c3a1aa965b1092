//! `zeppelin routes`: the gateway's routes in the order it tries them, and where each goes.
//!
//! Asks the running supervisor (which knows a `--gateway-port` given to `run`); when the app
//! is not running, the routes come from the app file and say so.

use std::process::ExitCode;

use comfy_table::{Table, presets};
use zeppelin_local::control::{Reply, Request};
use zeppelin_local::gateway::{RouteTarget, route_targets};

use crate::args::Format;
use crate::settings::{GlobalSettings, RoutesSettings};
use crate::supervisor::{Answer, SupervisorClient};

/// The JSON `zeppelin routes --format json` prints.
#[derive(serde::Serialize)]
struct RouteList<'a> {
    running: bool,
    gateway_port: u16,
    routes: Vec<Route<'a>>,
}

#[derive(serde::Serialize)]
struct Route<'a> {
    host: &'a str,
    path: &'a str,
    sub: &'a str,
    target: String,
    url: String,
}

pub(crate) fn routes(
    routes: &RoutesSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let format = routes.format;
    let app = settings.load_app()?;
    let answer = SupervisorClient::of(&app).ask(&Request::Routes, |reply| match reply {
        Reply::Routes {
            gateway_port,
            routes,
        } => Ok((gateway_port, routes)),
        other => Err(other),
    })?;
    let (running, gateway_port, targets) = match answer {
        Answer::Given((gateway_port, routes)) => (true, gateway_port, routes),
        Answer::NotRunning(_) => (false, app.gateway.port, route_targets(&app)),
    };
    let rows: Vec<Route> = targets
        .iter()
        .map(|t: &RouteTarget| Route {
            host: &t.host,
            path: &t.path,
            sub: &t.sub,
            target: t.target.to_string(),
            url: t.url(gateway_port),
        })
        .collect();
    match format {
        Format::Json => {
            let routes = RouteList {
                running,
                gateway_port,
                routes: rows,
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&routes).expect("routes serialize")
            );
        }
        Format::Text if rows.is_empty() => {
            eprintln!(
                "zeppelin: {} has no [[route]]; the gateway does not run",
                app.name
            );
        }
        Format::Text => {
            let mut table = Table::new();
            table
                .load_style(presets::NOTHING)
                .set_header(["HOST", "PATH", "SUB", "TARGET", "URL"]);
            for row in &rows {
                table.add_row([row.host, row.path, row.sub, &row.target, &row.url]);
            }
            println!("{}", table.trim_fmt());
            if !running {
                eprintln!(
                    "zeppelin: {} is not running; these are the app file's routes (`zeppelin run` serves them)",
                    app.name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

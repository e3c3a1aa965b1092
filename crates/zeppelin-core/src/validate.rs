//! Checks that need the whole app at once: references between subs, dependency cycles,
//! port and route clashes, and the lengths of generated names.

use std::collections::BTreeMap;

use crate::decode::{Spans, suggest};
use crate::diagnostic::{ErrorKind, Finding};
use crate::model::{App, HealthCheck};
use crate::names::MAX_LABEL;

pub(crate) fn validate(app: &App, spans: &Spans) -> Vec<Finding> {
    let mut out = Vec::new();
    names(app, spans, &mut out);
    dependencies(app, spans, &mut out);
    cycles(app, spans, &mut out);
    ports(app, spans, &mut out);
    routes(app, spans, &mut out);
    kubernetes_subs(app, spans, &mut out);
    stateful(app, spans, &mut out);
    jobs(app, spans, &mut out);
    out
}

fn sub_names(app: &App) -> Vec<&str> {
    app.subs.keys().map(String::as_str).collect()
}

fn unknown_sub(app: &App, span: std::ops::Range<usize>, what: String, name: &str) -> Finding {
    let known = sub_names(app);
    let help = match suggest(name, &known) {
        Some(near) => format!("did you mean \"{near}\"?"),
        None if known.is_empty() => "the app has no subs; add a `[sub.NAME]` table".to_owned(),
        None => format!("the app's subs are: {}", known.join(", ")),
    };
    Finding::new(ErrorKind::UnknownSub, span, what)
        .label("no sub by this name")
        .help(help)
}

/// Reports a sub or job whose generated names (`<app>-<name>`) would not be DNS labels.
fn generated_names(app: &App, spans: &Spans, kind: &str, name: &str, out: &mut Vec<Finding>) {
    let generated = format!("{}-{name}", app.name);
    if generated.len() > MAX_LABEL && name.len() <= MAX_LABEL {
        out.push(
            Finding::new(
                ErrorKind::NameTooLong,
                spans.nearest(&format!("{kind}.{name}")),
                format!(
                    "{kind} `{name}` is too long for app `{}`: generated names such as `{generated}` would be {} characters, over Kubernetes' {MAX_LABEL}",
                    app.name,
                    generated.len()
                ),
            )
            .label("name too long")
            .help(format!(
                "shorten the {kind} name to at most {} characters, or the app name",
                MAX_LABEL.saturating_sub(app.name.len() + 1)
            )),
        );
    }
}

fn names(app: &App, spans: &Spans, out: &mut Vec<Finding>) {
    for job in app.jobs.keys() {
        generated_names(app, spans, "job", job, out);
        if app.subs.contains_key(job) {
            out.push(
                Finding::new(
                    ErrorKind::InvalidName,
                    spans.nearest(&format!("job.{job}")),
                    format!("job `{job}` has the name of a sub"),
                )
                .label("also a sub")
                .help("a job and a sub share a log file and Kubernetes names, so each needs its own name"),
            );
        }
    }
    for sub in app.subs.values() {
        let path = format!("sub.{}", sub.name);
        generated_names(app, spans, "sub", &sub.name, out);
        if sub.port.is_some() && sub.name.starts_with(|c: char| c.is_ascii_digit()) {
            out.push(
                Finding::new(
                    ErrorKind::InvalidName,
                    spans.nearest(&path),
                    format!(
                        "sub `{}` has a port, so its name must start with a letter",
                        sub.name
                    ),
                )
                .label("starts with a digit")
                .help("the name becomes a Kubernetes Service name, which must begin with a letter"),
            );
        }
        if let Some(health) = &sub.health
            && sub.port.is_none()
            && matches!(health.check, HealthCheck::Http { .. } | HealthCheck::Tcp)
        {
            out.push(
                Finding::new(
                    ErrorKind::InvalidHealth,
                    spans.nearest(&format!("{path}.health")),
                    format!(
                        "sub `{}` has an http or tcp health check but no `port` to probe",
                        sub.name
                    ),
                )
                .label("nothing to probe")
                .help("add `port = …` to the sub, or use `health = { exec = \"…\" }`"),
            );
        }
    }
}

fn dependencies(app: &App, spans: &Spans, out: &mut Vec<Finding>) {
    for sub in app.subs.values() {
        for (i, dep) in sub.depends_on.iter().enumerate() {
            let path = format!("sub.{}.depends_on[{i}]", sub.name);
            if app.jobs.contains_key(dep) {
                out.push(
                    Finding::new(
                        ErrorKind::NotForJobs,
                        spans.nearest(&path),
                        format!("sub `{}` depends on `{dep}`, which is a job", sub.name),
                    )
                    .label("a job, not a sub")
                    .help(format!(
                        "to run `{dep}` to success before `{}` starts, add `before = [\"{}\"]` to [job.{dep}]",
                        sub.name, sub.name
                    )),
                );
            } else if !app.subs.contains_key(dep) {
                out.push(unknown_sub(
                    app,
                    spans.nearest(&path),
                    format!(
                        "sub `{}` depends on `{dep}`, which is not a sub of this app",
                        sub.name
                    ),
                    dep,
                ));
            }
        }
    }
}

/// Finds each dependency cycle once and reports it on the edge that closes it.
fn cycles(app: &App, spans: &Spans, out: &mut Vec<Finding>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit<'a>(
        app: &'a App,
        name: &'a str,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
        found: &mut Vec<(Vec<&'a str>, usize)>,
    ) {
        marks.insert(name, Mark::Active);
        stack.push(name);
        let sub = &app.subs[name];
        for (i, dep) in sub.depends_on.iter().enumerate() {
            match marks.get(dep.as_str()).copied() {
                Some(Mark::New) => visit(app, dep, marks, stack, found),
                Some(Mark::Active) => {
                    let start = stack
                        .iter()
                        .position(|s| s == dep)
                        .expect("active subs are on the stack");
                    let mut cycle: Vec<&str> = stack[start..].to_vec();
                    cycle.push(dep);
                    found.push((cycle, i));
                }
                Some(Mark::Done) | None => {}
            }
        }
        stack.pop();
        marks.insert(name, Mark::Done);
    }

    let mut marks: BTreeMap<&str, Mark> =
        app.subs.keys().map(|k| (k.as_str(), Mark::New)).collect();
    let mut found = Vec::new();
    for name in app.subs.keys() {
        if marks[name.as_str()] == Mark::New {
            visit(app, name, &mut marks, &mut Vec::new(), &mut found);
        }
    }
    for (cycle, edge) in found {
        let closing = cycle[cycle.len() - 2];
        let path = format!("sub.{closing}.depends_on[{edge}]");
        let shown = cycle.join(" → ");
        out.push(
            Finding::new(ErrorKind::DependencyCycle, spans.nearest(&path), format!("dependency cycle: {shown}"))
                .label("this closes the cycle")
                .help("subs start after what they depend on, so a cycle can never start; remove one of these dependencies"),
        );
    }
}

fn ports(app: &App, spans: &Spans, out: &mut Vec<Finding>) {
    let mut taken: Vec<(u16, String, std::ops::Range<usize>)> = Vec::new();
    for sub in app.subs.values() {
        if let Some(port) = sub.port {
            let path = format!("sub.{}.port", sub.name);
            taken.push((port, format!("sub `{}`", sub.name), spans.nearest(&path)));
        }
    }
    let implicit_gateway = spans.get("gateway.port").is_none();
    if !app.routes.is_empty() {
        // An implicit gateway port has no place in the file: it sorts first (span 0..0) so
        // the sub that collides with it is the one reported.
        let span = spans.get("gateway.port").unwrap_or(0..0);
        taken.push((app.gateway.port, "the gateway".to_owned(), span));
    }
    // Report the later of two clashing places, so the first one reads as the original.
    taken.sort_by_key(|(_, _, span)| span.start);
    for (i, (port, who, span)) in taken.iter().enumerate() {
        if let Some((_, first, _)) = taken[..i].iter().find(|(p, _, _)| p == port) {
            let help = if who == "the gateway" {
                "set `[gateway] port` to another port".to_owned()
            } else if first == "the gateway" && implicit_gateway {
                format!(
                    "{port} is the gateway's default port; pick another port for {who}, or set `[gateway] port`"
                )
            } else {
                "every sub needs its own port".to_owned()
            };
            out.push(
                Finding::new(
                    ErrorKind::DuplicatePort,
                    span.clone(),
                    format!("port {port} of {who} is already used by {first}"),
                )
                .label("port already taken")
                .help(help),
            );
        }
    }
}

fn routes(app: &App, spans: &Spans, out: &mut Vec<Finding>) {
    for (i, route) in app.routes.iter().enumerate() {
        let path = format!("route[{i}]");
        match app.subs.get(&route.sub) {
            None => out.push(unknown_sub(
                app,
                spans.nearest(&format!("{path}.sub")),
                format!(
                    "route {} goes to `{}`, which is not a sub of this app",
                    route_name(route),
                    route.sub
                ),
                &route.sub,
            )),
            Some(sub) if sub.port.is_none() => out.push(
                Finding::new(
                    ErrorKind::RouteWithoutPort,
                    spans.nearest(&format!("{path}.sub")),
                    format!(
                        "route {} goes to sub `{}`, which has no port",
                        route_name(route),
                        route.sub
                    ),
                )
                .label("this sub does not listen")
                .help(format!(
                    "add `port = …` to [sub.{}], or route to a sub that has one",
                    route.sub
                )),
            ),
            Some(_) => {}
        }
        if let Some(first) = app.routes[..i]
            .iter()
            .position(|r| r.host == route.host && r.path == route.path)
        {
            out.push(
                Finding::new(
                    ErrorKind::DuplicateRoute,
                    spans.nearest(&format!("{path}.host")),
                    format!(
                        "route {} is defined twice (first as route {})",
                        route_name(route),
                        first + 1
                    ),
                )
                .label("same host and path as an earlier route")
                .help("remove one of them, or change its host or path"),
            );
        }
    }
}

fn route_name(route: &crate::model::Route) -> String {
    format!("`{}{}`", route.host, route.path)
}

fn kubernetes_subs(app: &App, spans: &Spans, out: &mut Vec<Finding>) {
    for (name, kube) in &app.kubernetes.subs {
        if kube.storage_class.is_some() && app.subs.get(name).is_some_and(|sub| !sub.is_stateful())
        {
            out.push(
                Finding::new(
                    ErrorKind::InvalidValue,
                    spans.nearest(&format!("kubernetes.sub.{name}.storage_class")),
                    format!("[kubernetes.sub.{name}] sets `storage_class`, but sub `{name}` has no volumes"),
                )
                .label("nothing to store")
                .help(format!("add `volumes` to [sub.{name}], or remove `storage_class`")),
            );
        }
        if !app.subs.contains_key(name) {
            out.push(unknown_sub(
                app,
                spans.nearest(&format!("kubernetes.sub.{name}")),
                format!("[kubernetes.sub.{name}] names `{name}`, which is not a sub of this app"),
                name,
            ));
        }
    }
}

/// What a stateful sub cannot have: an autoscaler (replicas are identities with data, not
/// interchangeable capacity) and, when it can be deployed, a volume without a size.
fn stateful(app: &App, spans: &Spans, out: &mut Vec<Finding>) {
    for sub in app.subs.values().filter(|s| s.is_stateful()) {
        let path = format!("sub.{}", sub.name);
        if sub.autoscale.is_some() {
            out.push(
                Finding::new(
                    ErrorKind::InvalidAutoscale,
                    spans.nearest(&format!("{path}.autoscale")),
                    format!("sub `{}` has volumes, so it cannot autoscale", sub.name),
                )
                .label("stateful subs do not autoscale")
                .help("each replica of a stateful sub owns its data; set `replicas` instead, and scale with `zeppelin scale`"),
            );
        }
        if sub.image.is_some() {
            for volume in sub.volumes.values().filter(|v| v.size.is_none()) {
                out.push(
                    Finding::new(
                        ErrorKind::MissingKey,
                        spans.nearest(&format!("{path}.volumes.{}", volume.name)),
                        format!(
                            "volume `{}` of sub `{}` has no `size`, which Kubernetes needs to claim storage",
                            volume.name, sub.name
                        ),
                    )
                    .label("no size")
                    .help("add `size = \"1Gi\"` to the volume (the sub has an `image`, so it can be deployed)"),
                );
            }
        }
    }
}

/// What a job may refer to: subs it waits for and subs it runs `before`, never other jobs,
/// and never in a circle (a job that waits for a sub it must run before).
fn jobs(app: &App, spans: &Spans, out: &mut Vec<Finding>) {
    for job in app.jobs.values() {
        let lists = [("depends_on", &job.depends_on), ("before", &job.before)];
        for (key, names) in lists {
            for (i, name) in names.iter().enumerate() {
                let path = format!("job.{}.{key}[{i}]", job.name);
                if app.jobs.contains_key(name) {
                    out.push(
                        Finding::new(
                            ErrorKind::NotForJobs,
                            spans.nearest(&path),
                            format!("`{key}` of job `{}` names `{name}`, which is a job", job.name),
                        )
                        .label("a job, not a sub")
                        .help("jobs are ordered around subs only; to run two steps in order, run both in one job's `run`"),
                    );
                } else if !app.subs.contains_key(name) {
                    out.push(unknown_sub(
                        app,
                        spans.nearest(&path),
                        format!(
                            "`{key}` of job `{}` names `{name}`, which is not a sub of this app",
                            job.name
                        ),
                        name,
                    ));
                }
            }
        }
        for (i, target) in job.before.iter().enumerate() {
            if let Some(chain) = waits_for(app, job, target) {
                let shown = chain.join(" → ");
                out.push(
                    Finding::new(
                        ErrorKind::DependencyCycle,
                        spans.nearest(&format!("job.{}.before[{i}]", job.name)),
                        format!(
                            "dependency cycle: job `{}` runs before `{target}` but waits for it: {shown} → {}",
                            job.name, job.name
                        ),
                    )
                    .label("this closes the cycle")
                    .help("a job starts after the subs it depends on, so it cannot also run before them; remove one of these"),
                );
            }
        }
    }
}

/// The chain of waits from `job` to sub `target` (`job`, `a`, ..., `target`), if the job
/// waits for it: through `depends_on` of subs and jobs, and the jobs a sub runs after.
fn waits_for<'a>(app: &'a App, job: &'a crate::model::Job, target: &str) -> Option<Vec<&'a str>> {
    fn visit<'a>(
        app: &'a App,
        waits: &'a [String],
        target: &str,
        chain: &mut Vec<&'a str>,
        seen: &mut Vec<&'a str>,
    ) -> bool {
        for sub in waits {
            if seen.contains(&sub.as_str()) {
                continue;
            }
            seen.push(sub);
            chain.push(sub);
            if sub == target {
                return true;
            }
            if let Some(s) = app.subs.get(sub) {
                if visit(app, &s.depends_on, target, chain, seen) {
                    return true;
                }
                for earlier in app.jobs_before(sub) {
                    chain.push(&earlier.name);
                    if visit(app, &earlier.depends_on, target, chain, seen) {
                        return true;
                    }
                    chain.pop();
                }
            }
            chain.pop();
        }
        false
    }
    let mut chain = vec![job.name.as_str()];
    visit(app, &job.depends_on, target, &mut chain, &mut Vec::new()).then_some(chain)
}

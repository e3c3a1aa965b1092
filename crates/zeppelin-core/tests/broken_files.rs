//! A corpus of broken app files, one mistake each: every case asserts the error kind, the
//! line and column it points at, and that it is the only error reported. A few files with
//! several mistakes check that all are reported in one run.

use std::path::Path;

use zeppelin_core::{Diagnostic, ErrorKind};

/// One broken file: its name, text, and the single mistake expected at `line:column`.
struct Case {
    name: &'static str,
    text: &'static str,
    kind: ErrorKind,
    line: usize,
    column: usize,
}

const fn case(
    name: &'static str,
    text: &'static str,
    kind: ErrorKind,
    line: usize,
    column: usize,
) -> Case {
    Case {
        name,
        text,
        kind,
        line,
        column,
    }
}

use ErrorKind as K;

const CASES: &[Case] = &[
    // TOML syntax.
    case("unclosed string", "name = \"shop\n", K::Syntax, 1, 13),
    case(
        "missing value",
        "name = \"shop\"\nport =\n",
        K::Syntax,
        2,
        7,
    ),
    case(
        "unclosed table header",
        "name = \"shop\"\n[sub.web\nrun = \"x\"\n",
        K::Syntax,
        2,
        9,
    ),
    case(
        "duplicate key",
        "name = \"shop\"\nname = \"shop\"\n",
        K::Syntax,
        2,
        1,
    ),
    // Required keys and types.
    case("no name", "[sub.web]\nrun = \"x\"\n", K::MissingKey, 1, 1),
    case("name not a string", "name = 5\n", K::WrongType, 1, 8),
    case(
        "replicas as a word",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nreplicas = \"two\"\n",
        K::WrongType,
        4,
        12,
    ),
    case(
        "port as a string",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = \"8080\"\n",
        K::WrongType,
        4,
        8,
    ),
    case(
        "depends_on not a list",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\ndepends_on = \"api\"\n[sub.api]\nrun = \"y\"\n",
        K::WrongType,
        4,
        14,
    ),
    case(
        "sub not a table",
        "name = \"shop\"\n[sub]\nweb = \"python3 web.py\"\n",
        K::WrongType,
        3,
        7,
    ),
    case(
        "conf value a table",
        "name = \"shop\"\n[conf]\nLOG = { level = \"info\" }\n",
        K::WrongType,
        3,
        7,
    ),
    case(
        "sub without run or image",
        "name = \"shop\"\n[sub.web]\nport = 8080\n",
        K::MissingKey,
        2,
        1,
    ),
    case(
        "empty run",
        "name = \"shop\"\n[sub.web]\nrun = \"  \"\n",
        K::InvalidValue,
        3,
        7,
    ),
    case(
        "image with spaces",
        "name = \"shop\"\n[sub.web]\nimage = \"my image\"\n",
        K::InvalidValue,
        3,
        9,
    ),
    // Unknown keys.
    case(
        "top-level typo",
        "name = \"shop\"\nnamspace = \"x\"\n",
        K::UnknownKey,
        2,
        1,
    ),
    case(
        "replica for replicas",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nreplica = 2\n",
        K::UnknownKey,
        4,
        1,
    ),
    case(
        "depend_on for depends_on",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\ndepend_on = []\n",
        K::UnknownKey,
        4,
        1,
    ),
    case(
        "unknown health key",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 1\nhealth = { http = \"/\", intervall = \"5s\" }\n",
        K::UnknownKey,
        5,
        24,
    ),
    case(
        "unknown route key",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 80\n[[route]]\nhost = \"a.b\"\nsub = \"web\"\nweight = 2\n",
        K::UnknownKey,
        8,
        1,
    ),
    case(
        "unknown kubernetes key",
        "name = \"shop\"\n[kubernetes]\ningress = \"nginx\"\n",
        K::UnknownKey,
        3,
        1,
    ),
    // Names.
    case(
        "upper-case app name",
        "name = \"Shop\"\n",
        K::InvalidName,
        1,
        8,
    ),
    case(
        "app name with underscore",
        "name = \"my_shop\"\n",
        K::InvalidName,
        1,
        8,
    ),
    case(
        "app name too long",
        "name = \"a-very-long-application-name-that-goes-on-and-on-and-on-x\"\n",
        K::NameTooLong,
        1,
        8,
    ),
    case(
        "sub name with a dot",
        "name = \"shop\"\n[sub.\"web.ui\"]\nrun = \"x\"\n",
        K::InvalidName,
        2,
        6,
    ),
    case(
        "sub name ending in a dash",
        "name = \"shop\"\n[sub.web-]\nrun = \"x\"\n",
        K::InvalidName,
        2,
        6,
    ),
    case(
        "object name too long",
        "name = \"a-shop-with-a-long-name-here\"\n[sub.a-sub-with-a-rather-long-name-too-x]\nrun = \"x\"\n",
        K::NameTooLong,
        2,
        6,
    ),
    case(
        "port-bearing sub starting with a digit",
        "name = \"shop\"\n[sub.2web]\nrun = \"x\"\nport = 8080\n",
        K::InvalidName,
        2,
        6,
    ),
    case(
        "conf key not a variable name",
        "name = \"shop\"\n[conf]\n\"LOG-LEVEL\" = \"info\"\n",
        K::InvalidName,
        3,
        1,
    ),
    case(
        "secret name not a variable name",
        "name = \"shop\"\n[secrets]\n\"api token\" = { env = \"T\" }\n",
        K::InvalidName,
        3,
        1,
    ),
    // References and cycles.
    case(
        "depends_on an unknown sub",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\ndepends_on = [\"db\"]\n",
        K::UnknownSub,
        4,
        15,
    ),
    case(
        "depends on itself",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\ndepends_on = [\"web\"]\n",
        K::DependencyCycle,
        4,
        15,
    ),
    case(
        "two-sub cycle",
        "name = \"shop\"\n[sub.api]\nrun = \"x\"\ndepends_on = [\"web\"]\n[sub.web]\nrun = \"y\"\ndepends_on = [\"api\"]\n",
        K::DependencyCycle,
        7,
        15,
    ),
    case(
        "route to an unknown sub",
        "name = \"shop\"\n[[route]]\nhost = \"a.b\"\nsub = \"web\"\n",
        K::UnknownSub,
        4,
        7,
    ),
    case(
        "kubernetes override of an unknown sub",
        "name = \"shop\"\n[kubernetes.sub.web]\nreplicas = 2\n",
        K::UnknownSub,
        2,
        17,
    ),
    // Ports and routes.
    case(
        "port zero",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 0\n",
        K::PortOutOfRange,
        4,
        8,
    ),
    case(
        "port too high",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 70000\n",
        K::PortOutOfRange,
        4,
        8,
    ),
    case(
        "negative port",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = -1\n",
        K::PortOutOfRange,
        4,
        8,
    ),
    case(
        "duplicate port",
        "name = \"shop\"\n[sub.api]\nrun = \"x\"\nport = 8080\n[sub.web]\nrun = \"y\"\nport = 8080\n",
        K::DuplicatePort,
        7,
        8,
    ),
    case(
        "sub on the gateway port",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 8000\n[[route]]\nhost = \"a.b\"\nsub = \"web\"\n",
        K::DuplicatePort,
        4,
        8,
    ),
    case(
        "gateway port out of range",
        "name = \"shop\"\n[gateway]\nport = 0\n",
        K::PortOutOfRange,
        3,
        8,
    ),
    case(
        "route to a sub without a port",
        "name = \"shop\"\n[sub.worker]\nrun = \"x\"\n[[route]]\nhost = \"a.b\"\nsub = \"worker\"\n",
        K::RouteWithoutPort,
        6,
        7,
    ),
    case(
        "two routes with the same host and path",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 80\n[[route]]\nhost = \"a.b\"\nsub = \"web\"\n[[route]]\nhost = \"a.b\"\npath = \"/\"\nsub = \"web\"\n",
        K::DuplicateRoute,
        9,
        8,
    ),
    case(
        "route path without slash",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 80\n[[route]]\nhost = \"a.b\"\npath = \"api\"\nsub = \"web\"\n",
        K::InvalidRoute,
        7,
        8,
    ),
    case(
        "route host with a scheme",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 80\n[[route]]\nhost = \"http://a.b\"\nsub = \"web\"\n",
        K::InvalidRoute,
        6,
        8,
    ),
    // Replicas and autoscale.
    case(
        "negative replicas",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nreplicas = -1\n",
        K::InvalidReplicas,
        4,
        12,
    ),
    case(
        "autoscale min above max",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nautoscale = { min = 5, max = 2 }\n",
        K::InvalidAutoscale,
        4,
        21,
    ),
    case(
        "autoscale min zero",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nautoscale = { min = 0, max = 2 }\n",
        K::InvalidAutoscale,
        4,
        21,
    ),
    case(
        "autoscale without max",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nautoscale = { min = 1 }\n",
        K::MissingKey,
        4,
        13,
    ),
    // Health checks.
    case(
        "health with two kinds",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 80\nhealth = { http = \"/\", tcp = true }\n",
        K::InvalidHealth,
        5,
        10,
    ),
    case(
        "health with no kind",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nhealth = { interval = \"5s\" }\n",
        K::InvalidHealth,
        4,
        10,
    ),
    case(
        "http health path without slash",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 80\nhealth = { http = \"healthz\" }\n",
        K::InvalidHealth,
        5,
        19,
    ),
    case(
        "tcp health false",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nport = 80\nhealth = { tcp = false }\n",
        K::InvalidHealth,
        5,
        18,
    ),
    case(
        "http health without a port",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nhealth = { http = \"/healthz\" }\n",
        K::InvalidHealth,
        4,
        10,
    ),
    case(
        "zero retries",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nhealth = { exec = \"true\", retries = 0 }\n",
        K::InvalidHealth,
        4,
        37,
    ),
    // Durations and quantities.
    case(
        "duration without unit",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nstop_timeout = \"10\"\n",
        K::InvalidDuration,
        4,
        16,
    ),
    case(
        "duration with unknown unit",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nhealth = { exec = \"true\", interval = \"5 sec\" }\n",
        K::InvalidDuration,
        4,
        38,
    ),
    case(
        "cpu with a bad suffix",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nresources = { cpu = \"250mc\" }\n",
        K::InvalidQuantity,
        4,
        21,
    ),
    case(
        "memory with a lower-case unit",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nresources = { memory = \"256mi\" }\n",
        K::InvalidQuantity,
        4,
        24,
    ),
    // Secrets and choices.
    case(
        "secret with neither env nor file",
        "name = \"shop\"\n[secrets]\nTOKEN = { expose_env = true }\n",
        K::InvalidSecret,
        3,
        9,
    ),
    case(
        "secret with both env and file",
        "name = \"shop\"\n[secrets]\nTOKEN = { env = \"T\", file = \"t\" }\n",
        K::InvalidSecret,
        3,
        9,
    ),
    case(
        "secret value in the file",
        "name = \"shop\"\n[secrets]\nTOKEN = \"hunter2\"\n",
        K::InvalidSecret,
        3,
        9,
    ),
    case(
        "unknown restart policy",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nrestart = \"sometimes\"\n",
        K::InvalidValue,
        4,
        11,
    ),
    case(
        "unknown balance policy",
        "name = \"shop\"\n[sub.web]\nrun = \"x\"\nbalance = \"random\"\n",
        K::InvalidValue,
        4,
        11,
    ),
    case(
        "volume path not absolute",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { data = { path = \"data\" } }\n",
        K::InvalidValue,
        4,
        29,
    ),
    case(
        "volume path with dot-dot",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { data = { path = \"/srv/../etc\" } }\n",
        K::InvalidValue,
        4,
        29,
    ),
    case(
        "volume over the pod's /tmp",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { data = { path = \"/tmp/\" } }\n",
        K::InvalidValue,
        4,
        29,
    ),
    case(
        "two volumes on one path",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { a = { path = \"/d\" }, b = { path = \"/d/\" } }\n",
        K::InvalidValue,
        4,
        47,
    ),
    case(
        "volume name starts with a digit",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { 2data = { path = \"/d\" } }\n",
        K::InvalidName,
        4,
        13,
    ),
    case(
        "volume name not a label",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { my_data = { path = \"/d\" } }\n",
        K::InvalidName,
        4,
        13,
    ),
    case(
        "volume named like a pod's own",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { tmp = { path = \"/d\" } }\n",
        K::InvalidName,
        4,
        13,
    ),
    case(
        "volume without path",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { data = { size = \"1Gi\" } }\n",
        K::MissingKey,
        4,
        20,
    ),
    case(
        "volume size not a quantity",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { data = { path = \"/d\", size = \"lots\" } }\n",
        K::InvalidQuantity,
        4,
        42,
    ),
    case(
        "stateful sub that autoscales",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\nvolumes = { data = { path = \"/d\" } }\nautoscale = { max = 3 }\n",
        K::InvalidAutoscale,
        5,
        13,
    ),
    case(
        "deployable volume without size",
        "name = \"shop\"\n[sub.db]\nimage = \"db:1\"\nvolumes = { data = { path = \"/d\" } }\n",
        K::MissingKey,
        4,
        20,
    ),
    case(
        "storage class of a stateless sub",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[kubernetes.sub.db]\nstorage_class = \"fast\"\n",
        K::InvalidValue,
        5,
        17,
    ),
    // Jobs.
    case(
        "job with a port",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nport = 8080\n",
        K::NotForJobs,
        8,
        8,
    ),
    case(
        "job with replicas",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nreplicas = 2\n",
        K::NotForJobs,
        8,
        12,
    ),
    case(
        "job with a health check",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nhealth = { exec = \"true\" }\n",
        K::NotForJobs,
        8,
        10,
    ),
    case(
        "job before a job",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nbefore = [\"api\"]\n[job.seed]\nrun = \"s\"\nbefore = [\"migrate\"]\n",
        K::NotForJobs,
        11,
        11,
    ),
    case(
        "job before an unknown sub",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nbefore = [\"apii\"]\n",
        K::UnknownSub,
        8,
        11,
    ),
    case(
        "job depends on an unknown sub",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\ndepends_on = [\"dbb\"]\n",
        K::UnknownSub,
        8,
        15,
    ),
    case(
        "job before a sub it waits for",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\ndepends_on = [\"db\"]\n[job.migrate]\nrun = \"m\"\ndepends_on = [\"api\"]\nbefore = [\"db\"]\n",
        K::DependencyCycle,
        10,
        11,
    ),
    case(
        "job both before and scheduled",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nbefore = [\"api\"]\nschedule = \"0 3 * * *\"\n",
        K::InvalidValue,
        9,
        12,
    ),
    case(
        "job schedule not cron",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nschedule = \"every night\"\n",
        K::InvalidSchedule,
        8,
        12,
    ),
    case(
        "job schedule with seconds",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nschedule = \"0 0 3 * * *\"\n",
        K::InvalidSchedule,
        8,
        12,
    ),
    case(
        "job time zone unknown",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\nschedule = \"0 3 * * *\"\ntimezone = \"Mars/Olympus\"\n",
        K::InvalidSchedule,
        9,
        12,
    ),
    case(
        "job time zone without schedule",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\ntimezone = \"UTC\"\n",
        K::InvalidSchedule,
        8,
        12,
    ),
    case(
        "job timeout of zero",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"m\"\ntimeout = \"0s\"\n",
        K::InvalidDuration,
        8,
        11,
    ),
    case(
        "job named like a sub",
        "name = \"shop\"\n[sub.api]\nrun = \"x\"\n[job.api]\nrun = \"m\"\n",
        K::InvalidName,
        4,
        6,
    ),
    case(
        "job name too long for its kubernetes job",
        "name = \"shop\"\n[job.mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm]\nrun = \"m\"\n",
        K::NameTooLong,
        2,
        6,
    ),
    case(
        "sub depends on a job",
        "name = \"shop\"\n[sub.db]\nrun = \"x\"\n[sub.api]\nrun = \"x\"\ndepends_on = [\"migrate\"]\n[job.migrate]\nrun = \"m\"\n",
        K::NotForJobs,
        6,
        15,
    ),
    case(
        "job without run or image",
        "name = \"shop\"\n[job.migrate]\nretries = 1\n",
        K::MissingKey,
        2,
        1,
    ),
];

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match zeppelin_core::parse(text, Path::new("zeppelin.toml")) {
        Ok(_) => Vec::new(),
        Err(err) => err.diagnostics,
    }
}

fn show(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("{:?} at {}:{}: {}", d.kind, d.line, d.column, d.message))
        .collect::<Vec<_>>()
        .join("\n  ")
}

#[test]
fn corpus_has_at_least_forty_distinct_cases() {
    assert!(CASES.len() >= 40, "only {} cases", CASES.len());
    let mut names: Vec<_> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CASES.len(), "case names repeat");
}

#[test]
fn each_broken_file_reports_its_one_mistake_where_it_is() {
    let mut failures = Vec::new();
    for case in CASES {
        let found = diagnostics(case.text);
        let ok = matches!(found.as_slice(), [d] if d.kind == case.kind && d.line == case.line && d.column == case.column);
        if !ok {
            failures.push(format!(
                "{}: expected {:?} at {}:{}, got\n  {}",
                case.name,
                case.kind,
                case.line,
                case.column,
                show(&found)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_diagnostic_says_what_is_expected() {
    for case in CASES {
        for d in diagnostics(case.text) {
            assert!(
                d.help.is_some() || !d.label.is_empty(),
                "{}: `{}` has neither a label nor a help line",
                case.name,
                d.message
            );
            assert!(
                d.span.end <= case.text.len(),
                "{}: span past the end",
                case.name
            );
        }
    }
}

#[test]
fn all_mistakes_are_reported_in_one_run() {
    let text = "\
name = \"Shop\"
[sub.api]
run = \"python3 api.py\"
port = 80800
replica = 2
[sub.web]
run = \"python3 web.py\"
port = 8080
depends_on = [\"api\", \"db\"]
replicas = \"two\"
autoscale = { min = 3, max = 1 }
[secrets]
TOKEN = {}
";
    let found: Vec<_> = diagnostics(text)
        .into_iter()
        .map(|d| (d.kind, d.line))
        .collect();
    assert_eq!(
        found,
        [
            (K::InvalidName, 1),
            (K::PortOutOfRange, 4),
            (K::UnknownKey, 5),
            (K::UnknownSub, 9),
            (K::WrongType, 10),
            (K::InvalidAutoscale, 11),
            (K::InvalidSecret, 13),
        ]
    );
}

#[test]
fn a_cycle_is_printed_as_a_path() {
    let text = "\
name = \"shop\"
[sub.web]
run = \"x\"
depends_on = [\"api\"]
[sub.api]
run = \"y\"
depends_on = [\"db\"]
[sub.db]
run = \"z\"
depends_on = [\"web\"]
";
    let found = diagnostics(text);
    let cycles: Vec<_> = found
        .iter()
        .filter(|d| d.kind == K::DependencyCycle)
        .collect();
    assert_eq!(
        cycles.len(),
        1,
        "one cycle, reported once: {}",
        show(&found)
    );
    assert!(
        cycles[0].message.contains("api → db → web → api"),
        "{}",
        cycles[0].message
    );
}

#[test]
fn near_misses_get_a_suggestion() {
    let found =
        diagnostics("name = \"shop\"\n[sub.web]\nrun = \"x\"\nreplica = 2\ndepend_on = []\n");
    let helps: Vec<_> = found.iter().filter_map(|d| d.help.as_deref()).collect();
    assert_eq!(
        helps,
        ["did you mean `replicas`?", "did you mean `depends_on`?"]
    );
}

#[test]
fn the_example_app_is_valid() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/zeppelin.toml");
    let app = zeppelin_core::load(&file).expect("examples/shop is valid");
    assert_eq!(app.name, "shop");
    assert_eq!(
        app.start_order()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["api", "web", "worker"]
    );
}

#[test]
fn the_guestbook_example_is_valid_and_redis_is_stateful() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/guestbook/zeppelin.toml");
    let app = zeppelin_core::load(&file).expect("examples/guestbook is valid");
    assert_eq!(app.name, "guestbook");
    assert_eq!(
        app.start_order()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["redis", "frontend"]
    );
    let redis = &app.subs["redis"];
    assert!(redis.is_stateful() && !app.subs["frontend"].is_stateful());
    let data = &redis.volumes["data"];
    assert_eq!(
        (data.dir_var().as_str(), data.path.as_str()),
        ("DATA_DIR", "/data")
    );
    assert_eq!(
        data.size.as_ref().map(zeppelin_core::Quantity::as_str),
        Some("1Gi")
    );
    let run = redis.run.as_deref().unwrap();
    for flag in [
        "--dir $DATA_DIR",
        "--appendonly yes",
        "--appendfsync always",
    ] {
        assert!(run.contains(flag), "{flag} missing from {run}");
    }
    let command = app.kubernetes.subs["redis"].command.clone().unwrap();
    assert!(
        command
            .join(" ")
            .contains("--dir /data --appendonly yes --appendfsync always"),
        "{command:?}"
    );
}

//! Readiness, liveness and startup probes from a sub's `health`.
//!
//! - **readiness** follows `health` exactly: a replica leaves the Service's endpoints after
//!   `retries` failed checks, `interval` apart.
//! - **liveness** runs the same check but is deliberately less aggressive: every
//!   `max(2 × interval, 10s)`, restarting only after `max(retries, 3)` failures, so a replica
//!   that is briefly overloaded is taken out of rotation, not killed.
//! - **startup** holds both back until the first success, allowing `grace` plus two minutes,
//!   so slow starts are not mistaken for deadlocks.

use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zeppelin_core::model::{Health, HealthCheck};

/// The name of the container port probes and Services use.
pub(crate) const PORT_NAME: &str = "http";

/// How long a starting replica has to pass its first check, on top of `grace`.
const STARTUP_WINDOW_SECS: u64 = 120;

/// Shortest period between liveness checks.
const MIN_LIVENESS_PERIOD_SECS: u64 = 10;

/// The three probes of a sub.
pub(crate) struct Probes {
    pub(crate) readiness: Probe,
    pub(crate) liveness: Probe,
    pub(crate) startup: Probe,
}

pub(crate) fn probes(health: &Health) -> Probes {
    let interval = health.interval.ceil_secs().max(1);
    let timeout = health.timeout.ceil_secs().max(1);
    let base = check(&health.check);
    let readiness = Probe {
        period_seconds: Some(secs(interval)),
        timeout_seconds: Some(secs(timeout)),
        failure_threshold: Some(int(health.retries.max(1))),
        success_threshold: Some(1),
        ..base.clone()
    };
    let liveness = Probe {
        period_seconds: Some(secs((2 * interval).max(MIN_LIVENESS_PERIOD_SECS))),
        timeout_seconds: Some(secs(timeout)),
        failure_threshold: Some(int(health.retries.max(3))),
        success_threshold: Some(1),
        ..base.clone()
    };
    let window = health.grace.ceil_secs() + STARTUP_WINDOW_SECS;
    let startup = Probe {
        period_seconds: Some(secs(interval)),
        timeout_seconds: Some(secs(timeout)),
        failure_threshold: Some(secs(window.div_ceil(interval))),
        success_threshold: Some(1),
        ..base
    };
    Probes {
        readiness,
        liveness,
        startup,
    }
}

/// What one probe does, without timing.
fn check(check: &HealthCheck) -> Probe {
    let port = IntOrString::String(PORT_NAME.to_owned());
    match check {
        HealthCheck::Http { path } => Probe {
            http_get: Some(HTTPGetAction {
                path: Some(path.clone()),
                port,
                scheme: Some("HTTP".to_owned()),
                ..HTTPGetAction::default()
            }),
            ..Probe::default()
        },
        HealthCheck::Tcp => Probe {
            tcp_socket: Some(TCPSocketAction { port, host: None }),
            ..Probe::default()
        },
        HealthCheck::Exec { command } => Probe {
            exec: Some(ExecAction {
                command: Some(vec!["sh".to_owned(), "-c".to_owned(), command.clone()]),
            }),
            ..Probe::default()
        },
    }
}

fn secs(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use zeppelin_core::AppDuration;

    use super::*;

    fn health(check: HealthCheck) -> Health {
        Health {
            check,
            interval: AppDuration::from_secs(2),
            timeout: AppDuration::from_millis(1500),
            retries: 3,
            grace: AppDuration::from_secs(30),
        }
    }

    #[test]
    fn readiness_follows_health_exactly() {
        let p = probes(&health(HealthCheck::Http {
            path: "/healthz".to_owned(),
        }));
        assert_eq!(p.readiness.period_seconds, Some(2));
        assert_eq!(p.readiness.timeout_seconds, Some(2), "1.5s rounds up");
        assert_eq!(p.readiness.failure_threshold, Some(3));
        let get = p.readiness.http_get.unwrap();
        assert_eq!(get.path.as_deref(), Some("/healthz"));
        assert_eq!(get.port, IntOrString::String("http".to_owned()));
    }

    #[test]
    fn liveness_is_less_aggressive_than_readiness() {
        let p = probes(&health(HealthCheck::Tcp));
        let tolerated = |p: &Probe| p.period_seconds.unwrap() * p.failure_threshold.unwrap();
        assert_ne!(p.liveness, p.readiness);
        assert!(tolerated(&p.liveness) > tolerated(&p.readiness));
        assert!(p.liveness.period_seconds >= Some(10));
        assert!(p.liveness.tcp_socket.is_some());
    }

    #[test]
    fn startup_allows_the_grace_plus_a_window() {
        let p = probes(&health(HealthCheck::Exec {
            command: "test -f /tmp/ok".to_owned(),
        }));
        let allowed = p.startup.period_seconds.unwrap() * p.startup.failure_threshold.unwrap();
        assert!(allowed >= 150, "{allowed}");
        assert_eq!(
            p.startup.exec.unwrap().command.unwrap(),
            ["sh", "-c", "test -f /tmp/ok"]
        );
    }
}

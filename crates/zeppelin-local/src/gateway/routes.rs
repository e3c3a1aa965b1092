//! Which sub serves a request: the app's `[[route]]` entries, matched by host and path.
//!
//! The rules follow a Kubernetes Ingress, so a request goes to the same sub locally and on
//! the cluster: an exact host beats a `*.example.com` wildcard (which stands for exactly
//! one label), and among the routes of the chosen host the longest path prefix wins.
//! Prefixes match whole path segments: `/api` takes `/api` and `/api/users`, not `/apix`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};

use zeppelin_core::App;
use zeppelin_core::model::Route;

/// One route as the gateway applies it, in the order routes are tried.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteTarget {
    /// Exact host, or `*.example.com`.
    pub host: String,
    /// Path prefix, always starting with `/`.
    pub path: String,
    pub sub: String,
    /// The sub's balancer, where the route's traffic goes.
    pub target: SocketAddr,
}

impl RouteTarget {
    /// The URL a browser uses to reach this route through a gateway on `gateway_port`.
    pub fn url(&self, gateway_port: u16) -> String {
        format!("http://{}:{gateway_port}{}", self.host, self.path)
    }
}

/// The app's routes and their targets, in the order the gateway tries them: what
/// `zeppelin routes` prints. Routes to a sub without a port (refused by validation) are
/// left out.
pub fn route_targets(app: &App) -> Vec<RouteTarget> {
    let mut targets: Vec<RouteTarget> = app
        .routes
        .iter()
        .filter_map(|route| {
            let port = app.subs.get(&route.sub)?.port?;
            Some(RouteTarget {
                host: route.host.clone(),
                path: normalize_prefix(&route.path),
                sub: route.sub.clone(),
                target: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            })
        })
        .collect();
    targets.sort_by_key(|t| precedence(&t.host, &t.path));
    targets
}

/// The routes compiled for matching, most specific first.
#[derive(Debug)]
pub(crate) struct RouteTable<T> {
    entries: Vec<Entry<T>>,
}

#[derive(Debug)]
struct Entry<T> {
    host: HostPattern,
    prefix: String,
    route: Route,
    target: T,
}

#[derive(Debug)]
enum HostPattern {
    Exact(String),
    /// The part after `*`, with its leading dot: `*.example.com` → `.example.com`.
    Wildcard(String),
}

impl HostPattern {
    fn new(host: &str) -> Self {
        let host = host.to_ascii_lowercase();
        match host.strip_prefix('*') {
            Some(suffix) => Self::Wildcard(suffix.to_owned()),
            None => Self::Exact(host),
        }
    }

    /// Whether `host` (any case) is this pattern's; patterns are stored in lower case.
    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(exact) => host.eq_ignore_ascii_case(exact),
            Self::Wildcard(suffix) => {
                let Some(cut) = host.len().checked_sub(suffix.len()) else {
                    return false;
                };
                let (label, rest) = host.as_bytes().split_at(cut);
                rest.eq_ignore_ascii_case(suffix.as_bytes())
                    && !label.is_empty()
                    && !label.contains(&b'.')
            }
        }
    }
}

impl<T> RouteTable<T> {
    /// Compiles routes, each paired with where its traffic goes.
    pub(crate) fn new(routes: impl IntoIterator<Item = (Route, T)>) -> Self {
        let mut entries: Vec<Entry<T>> = routes
            .into_iter()
            .map(|(route, target)| Entry {
                host: HostPattern::new(&route.host),
                prefix: normalize_prefix(&route.path),
                route,
                target,
            })
            .collect();
        entries.sort_by_key(|e| precedence(&e.route.host, &e.prefix));
        Self { entries }
    }

    /// The route for a request to `host` (no port, any case) and `path`.
    pub(crate) fn find(&self, host: &str, path: &str) -> Option<(&Route, &T)> {
        self.entries
            .iter()
            .find(|e| e.host.matches(host) && prefix_matches(&e.prefix, path))
            .map(|e| (&e.route, &e.target))
    }

    /// The known routes, for the body of a 404.
    pub(crate) fn known(&self) -> impl fmt::Display + '_ {
        Known(self)
    }
}

struct Known<'a, T>(&'a RouteTable<T>);

impl<T> fmt::Display for Known<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.entries.is_empty() {
            return writeln!(
                f,
                "this app has no routes; add [[route]] entries to zeppelin.toml"
            );
        }
        writeln!(f, "known routes:")?;
        for e in &self.0.entries {
            writeln!(f, "  {}{} -> {}", e.route.host, e.prefix, e.route.sub)?;
        }
        Ok(())
    }
}

/// Sort key: exact hosts first, then wildcards; within each, longest prefix first.
fn precedence(host: &str, prefix: &str) -> (bool, std::cmp::Reverse<usize>) {
    (host.starts_with('*'), std::cmp::Reverse(prefix.len()))
}

/// `api/` and `/api/` both mean the prefix `/api`; an empty path means `/`.
fn normalize_prefix(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    format!("/{trimmed}")
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, &str, &str)]) -> RouteTable<()> {
        RouteTable::new(routes.iter().map(|(host, path, sub)| {
            (
                Route {
                    host: (*host).to_owned(),
                    path: (*path).to_owned(),
                    sub: (*sub).to_owned(),
                },
                (),
            )
        }))
    }

    fn sub<'a>(table: &'a RouteTable<()>, host: &str, path: &str) -> Option<&'a str> {
        table.find(host, path).map(|(route, ())| route.sub.as_str())
    }

    #[test]
    fn longest_prefix_wins_on_whole_segments() {
        let t = table(&[
            ("shop.test", "/", "web"),
            ("shop.test", "/api", "api"),
            ("shop.test", "/api/admin/", "admin"),
        ]);
        assert_eq!(sub(&t, "shop.test", "/"), Some("web"));
        assert_eq!(sub(&t, "shop.test", "/api"), Some("api"));
        assert_eq!(sub(&t, "shop.test", "/api/users"), Some("api"));
        assert_eq!(sub(&t, "shop.test", "/apix"), Some("web"));
        assert_eq!(sub(&t, "shop.test", "/api/admin/x"), Some("admin"));
        assert_eq!(sub(&t, "other.test", "/"), None);
    }

    #[test]
    fn wildcard_takes_exactly_one_label_and_loses_to_exact_hosts() {
        let t = table(&[
            ("*.shop.test", "/", "tenant"),
            ("www.shop.test", "/", "web"),
        ]);
        assert_eq!(sub(&t, "www.shop.test", "/"), Some("web"));
        assert_eq!(sub(&t, "WWW.Shop.Test", "/"), Some("web"));
        assert_eq!(sub(&t, "acme.shop.test", "/x"), Some("tenant"));
        assert_eq!(sub(&t, "a.b.shop.test", "/"), None);
        assert_eq!(sub(&t, "shop.test", "/"), None);
        assert_eq!(sub(&t, ".shop.test", "/"), None);
    }

    #[test]
    fn exact_host_without_a_matching_path_falls_back_to_a_wildcard() {
        let t = table(&[
            ("www.shop.test", "/admin", "admin"),
            ("*.shop.test", "/", "web"),
        ]);
        assert_eq!(sub(&t, "www.shop.test", "/admin/x"), Some("admin"));
        assert_eq!(sub(&t, "www.shop.test", "/cart"), Some("web"));
    }

    #[test]
    fn known_routes_list_every_route() {
        let t = table(&[("shop.test", "/", "web"), ("shop.test", "/api", "api")]);
        assert_eq!(
            t.known().to_string(),
            "known routes:\n  shop.test/api -> api\n  shop.test/ -> web\n"
        );
    }
}

//! The `[kubernetes]` table: cluster-only settings.

use std::collections::BTreeMap;

use super::{Decoder, Value};
use crate::diagnostic::ErrorKind;
use crate::kubernetes::{Egress, IngressController, KubeSub, Kubernetes, SecurityOptOuts, Tls};

pub(super) fn kubernetes(dec: &mut Decoder, value: &Value<'_>) -> Kubernetes {
    let mut k = Kubernetes::default();
    let Some(t) = dec.table("kubernetes", value) else {
        return k;
    };
    let p = |key: &str| t.path_of(key);
    if let Some(b) = t
        .get("create_namespace")
        .and_then(|v| dec.boolean(&p("create_namespace"), v))
    {
        k.create_namespace = b;
    }
    k.ingress_class = t
        .get("ingress_class")
        .and_then(|v| dec.string(&p("ingress_class"), v));
    k.tls = t.get("tls").and_then(|v| tls(dec, &p("tls"), v));
    k.image_pull_secrets = t
        .get("image_pull_secrets")
        .and_then(|v| {
            dec.array(&p("image_pull_secrets"), v, |dec, path, v| {
                dec.string(path, v)
            })
        })
        .unwrap_or_default();
    let no_check = |_: &str| None;
    k.labels = t
        .get("labels")
        .map(|v| dec.string_map(&p("labels"), v, no_check))
        .unwrap_or_default();
    k.annotations = t
        .get("annotations")
        .map(|v| dec.string_map(&p("annotations"), v, no_check))
        .unwrap_or_default();
    if let Some(ic) = t
        .get("ingress_controller")
        .and_then(|v| ingress_controller(dec, &p("ingress_controller"), v))
    {
        k.ingress_controller = ic;
    }
    k.subs = t
        .get("sub")
        .map(|v| subs(dec, &p("sub"), v))
        .unwrap_or_default();
    t.finish(dec);
    k
}

fn tls(dec: &mut Decoder, path: &str, value: &Value<'_>) -> Option<Tls> {
    let t = dec.table(path, value)?;
    let tls = Tls {
        secret: t
            .get("secret")
            .and_then(|v| dec.string(&t.path_of("secret"), v)),
        cluster_issuer: t
            .get("cluster_issuer")
            .and_then(|v| dec.string(&t.path_of("cluster_issuer"), v)),
    };
    t.finish(dec);
    Some(tls)
}

fn ingress_controller(
    dec: &mut Decoder,
    path: &str,
    value: &Value<'_>,
) -> Option<IngressController> {
    let t = dec.table(path, value)?;
    let mut ic = IngressController::default();
    if let Some(ns) = t
        .get("namespace")
        .and_then(|v| dec.string(&t.path_of("namespace"), v))
    {
        ic.namespace = ns;
    }
    if let Some(v) = t.get("pod_labels") {
        ic.pod_labels = dec.string_map(&t.path_of("pod_labels"), v, |_| None);
    }
    t.finish(dec);
    Some(ic)
}

fn subs(dec: &mut Decoder, path: &str, value: &Value<'_>) -> BTreeMap<String, KubeSub> {
    let mut out = BTreeMap::new();
    let Some(view) = dec.table(path, value) else {
        return out;
    };
    for (key, v) in view.entries() {
        let name = key.get_ref().to_string();
        let sub_path = view.path_of(&name);
        let Some(t) = dec.table(&sub_path, v) else {
            continue;
        };
        dec.record_name(&sub_path, key);
        let replicas = t
            .get("replicas")
            .and_then(|v| dec.count(&t.path_of("replicas"), v, 0, ErrorKind::InvalidReplicas));
        let command = t
            .get("command")
            .and_then(|v| dec.array(&t.path_of("command"), v, super::Decoder::string));
        let egress = t
            .get("egress")
            .and_then(|v| dec.array(&t.path_of("egress"), v, egress))
            .unwrap_or_default();
        let storage_class = t
            .get("storage_class")
            .and_then(|v| dec.string(&t.path_of("storage_class"), v));
        let mut security = SecurityOptOuts::default();
        if let Some(b) = t
            .get("read_only_root_filesystem")
            .and_then(|v| dec.boolean(&t.path_of("read_only_root_filesystem"), v))
        {
            security.read_only_root_filesystem = b;
        }
        // 0 is root, which the pods' `runAsNonRoot` refuses.
        security.run_as_user = t
            .get("run_as_user")
            .and_then(|v| dec.count(&t.path_of("run_as_user"), v, 1, ErrorKind::InvalidValue));
        security.run_as_group = t
            .get("run_as_group")
            .and_then(|v| dec.count(&t.path_of("run_as_group"), v, 1, ErrorKind::InvalidValue));
        t.finish(dec);
        out.insert(
            name,
            KubeSub {
                security,
                replicas,
                command,
                egress,
                storage_class,
            },
        );
    }
    out
}

fn egress(dec: &mut Decoder, path: &str, value: &Value<'_>) -> Option<Egress> {
    let t = dec.table(path, value)?;
    let cidr = match t.get("cidr") {
        Some(v) => dec.string(&t.path_of("cidr"), v).filter(|cidr| {
            let ok = cidr.parse::<IpNet>().is_ok();
            if !ok {
                dec.invalid(
                    ErrorKind::InvalidValue,
                    v.span(),
                    format!("`{}` = \"{cidr}\" is not a CIDR block", t.path_of("cidr")),
                )
                .help = Some(
                    "write an address block such as `10.0.0.0/8` or `203.0.113.7/32`".to_owned(),
                );
            }
            ok
        }),
        None => {
            dec.missing(
                &t,
                "cidr",
                "say where the sub may connect to: `cidr = \"10.0.0.0/8\"`",
            );
            None
        }
    };
    let ports = t
        .get("ports")
        .and_then(|v| dec.array(&t.path_of("ports"), v, super::Decoder::port))
        .unwrap_or_default();
    t.finish(dec);
    Some(Egress { cidr: cidr?, ports })
}

/// An IPv4 or IPv6 network in CIDR notation, checked the way `NetworkPolicy`'s `ipBlock` is.
struct IpNet;

impl std::str::FromStr for IpNet {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (addr, bits) = s.split_once('/').ok_or(())?;
        let addr: std::net::IpAddr = addr.parse().map_err(|_| ())?;
        let bits: u8 = bits.parse().map_err(|_| ())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if bits <= max { Ok(Self) } else { Err(()) }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const APP: &str = "name = \"shop\"\n[sub.api]\nimage = \"api:1\"\n[kubernetes.sub.api]\n";

    #[test]
    fn security_opt_outs_default_to_hardened() {
        let app = crate::parse(APP, Path::new("zeppelin.toml")).unwrap();
        let security = &app.kubernetes.subs["api"].security;
        assert!(security.read_only_root_filesystem);
        assert_eq!((security.run_as_user, security.run_as_group), (None, None));
    }

    #[test]
    fn security_opt_outs_are_read() {
        let text = format!(
            "{APP}read_only_root_filesystem = false\nrun_as_user = 1000\nrun_as_group = 2000\n"
        );
        let app = crate::parse(&text, Path::new("zeppelin.toml")).unwrap();
        let security = &app.kubernetes.subs["api"].security;
        assert!(!security.read_only_root_filesystem);
        assert_eq!(
            (security.run_as_user, security.run_as_group),
            (Some(1000), Some(2000))
        );
    }

    #[test]
    fn running_as_root_is_refused() {
        let text = format!("{APP}run_as_user = 0\n");
        let err = crate::parse(&text, Path::new("zeppelin.toml")).unwrap_err();
        let message = &err.diagnostics[0].message;
        assert!(message.contains("run_as_user"), "{message}");
    }
}

//! Pod Security Standards `restricted`, and the availability rules, as code: every pod
//! template (of Deployments and `StatefulSets`) of every rendered test app is walked and each
//! control asserted. This covers
//! the controls checkov does not check (volume types, `procMount`, sysctls, `SELinux` and
//! `AppArmor` types, host fields in probes and hooks, UID ≠ 0) as well as those it does.

mod support;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LifecycleHandler, PodSecurityContext, PodSpec, Probe, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zeppelin_kube::{Object, Rendered, labels};

/// Sysctls the `baseline` profile allows (and so `restricted`).
const SAFE_SYSCTLS: [&str; 8] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
];

fn rendered_apps() -> Vec<(String, Rendered)> {
    support::app_files()
        .iter()
        .map(|file| {
            let app = support::load(file);
            (app.name.clone(), support::render_with_secrets(&app))
        })
        .collect()
}

/// A container-level setting, falling back to the pod's.
fn effective<T: Clone>(
    container: Option<&SecurityContext>,
    pod: Option<&PodSecurityContext>,
    c: impl Fn(&SecurityContext) -> Option<T>,
    p: impl Fn(&PodSecurityContext) -> Option<T>,
) -> Option<T> {
    container.and_then(c).or_else(|| pod.and_then(p))
}

fn assert_no_host_in_probe(what: &str, probe: Option<&Probe>) {
    if let Some(probe) = probe {
        assert!(
            probe.http_get.as_ref().is_none_or(|g| g.host.is_none()),
            "{what}: httpGet.host"
        );
        assert!(
            probe.tcp_socket.as_ref().is_none_or(|t| t.host.is_none()),
            "{what}: tcpSocket.host"
        );
    }
}

fn assert_no_host_in_hook(what: &str, hook: Option<&LifecycleHandler>) {
    if let Some(hook) = hook {
        assert!(
            hook.http_get.as_ref().is_none_or(|g| g.host.is_none()),
            "{what}: httpGet.host"
        );
        assert!(
            hook.tcp_socket.as_ref().is_none_or(|t| t.host.is_none()),
            "{what}: tcpSocket.host"
        );
    }
}

/// Every control of the `baseline` and `restricted` profiles, for one pod.
fn assert_restricted(what: &str, spec: &PodSpec) {
    // Host namespaces and ports.
    assert_ne!(spec.host_network, Some(true), "{what}: hostNetwork");
    assert_ne!(spec.host_pid, Some(true), "{what}: hostPID");
    assert_ne!(spec.host_ipc, Some(true), "{what}: hostIPC");
    assert_ne!(spec.host_users, Some(true), "{what}: hostUsers");
    // Volume types: only those `restricted` allows.
    for volume in spec.volumes.iter().flatten() {
        let allowed = volume.config_map.is_some()
            || volume.csi.is_some()
            || volume.downward_api.is_some()
            || volume.empty_dir.is_some()
            || volume.ephemeral.is_some()
            || volume.persistent_volume_claim.is_some()
            || volume.projected.is_some()
            || volume.secret.is_some();
        assert!(
            allowed,
            "{what}: volume {} has a type restricted refuses",
            volume.name
        );
        assert!(volume.host_path.is_none(), "{what}: hostPath");
    }
    let pod_sc = spec.security_context.as_ref();
    if let Some(sc) = pod_sc {
        for sysctl in sc.sysctls.iter().flatten() {
            assert!(
                SAFE_SYSCTLS.contains(&sysctl.name.as_str()),
                "{what}: sysctl {}",
                sysctl.name
            );
        }
        assert_no_selinux_escape(what, sc.se_linux_options.as_ref());
        assert_apparmor(what, sc.app_armor_profile.as_ref());
        assert_ne!(sc.run_as_user, Some(0), "{what}: pod runAsUser 0");
        if let Some(w) = &sc.windows_options {
            assert_ne!(w.host_process, Some(true), "{what}: hostProcess");
        }
    }
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    for c in containers {
        let what = format!("{what}, container {}", c.name);
        let sc = c.security_context.as_ref();
        // Privileged, escalation, capabilities.
        assert_ne!(
            sc.and_then(|s| s.privileged),
            Some(true),
            "{what}: privileged"
        );
        assert_eq!(
            sc.and_then(|s| s.allow_privilege_escalation),
            Some(false),
            "{what}: allowPrivilegeEscalation"
        );
        let caps = sc.and_then(|s| s.capabilities.as_ref());
        let dropped = caps.and_then(|c| c.drop.clone()).unwrap_or_default();
        assert!(
            dropped.iter().any(|d| d == "ALL"),
            "{what}: capabilities not dropped"
        );
        for added in caps.and_then(|c| c.add.clone()).unwrap_or_default() {
            assert_eq!(added, "NET_BIND_SERVICE", "{what}: adds a capability");
        }
        // Non-root, with a UID other than 0.
        let non_root = effective(sc, pod_sc, |s| s.run_as_non_root, |p| p.run_as_non_root);
        assert_eq!(non_root, Some(true), "{what}: runAsNonRoot");
        let uid = effective(sc, pod_sc, |s| s.run_as_user, |p| p.run_as_user);
        assert!(
            uid.is_some_and(|u| u != 0),
            "{what}: runAsUser must be set and not 0"
        );
        // Seccomp.
        let seccomp = effective(
            sc,
            pod_sc,
            |s| s.seccomp_profile.clone(),
            |p| p.seccomp_profile.clone(),
        );
        assert!(
            seccomp.is_some_and(|s| s.type_ == "RuntimeDefault" || s.type_ == "Localhost"),
            "{what}: seccompProfile"
        );
        if let Some(sc) = sc {
            assert!(
                sc.proc_mount.as_deref().is_none_or(|m| m == "Default"),
                "{what}: procMount"
            );
            assert_no_selinux_escape(&what, sc.se_linux_options.as_ref());
            assert_apparmor(&what, sc.app_armor_profile.as_ref());
            if let Some(w) = &sc.windows_options {
                assert_ne!(w.host_process, Some(true), "{what}: hostProcess");
            }
        }
        // Host ports, and host fields in probes and hooks.
        for port in c.ports.iter().flatten() {
            assert!(port.host_port.is_none_or(|p| p == 0), "{what}: hostPort");
        }
        assert_no_host_in_probe(&what, c.readiness_probe.as_ref());
        assert_no_host_in_probe(&what, c.liveness_probe.as_ref());
        assert_no_host_in_probe(&what, c.startup_probe.as_ref());
        if let Some(lifecycle) = &c.lifecycle {
            assert_no_host_in_hook(&what, lifecycle.pre_stop.as_ref());
            assert_no_host_in_hook(&what, lifecycle.post_start.as_ref());
        }
    }
}

fn assert_no_selinux_escape(
    what: &str,
    options: Option<&k8s_openapi::api::core::v1::SELinuxOptions>,
) {
    if let Some(o) = options {
        let allowed = [
            "container_t",
            "container_init_t",
            "container_kvm_t",
            "container_engine_t",
        ];
        assert!(
            o.type_.as_deref().is_none_or(|t| allowed.contains(&t)),
            "{what}: SELinux type"
        );
        assert!(
            o.user.is_none() && o.role.is_none(),
            "{what}: SELinux user or role"
        );
    }
}

fn assert_apparmor(what: &str, profile: Option<&k8s_openapi::api::core::v1::AppArmorProfile>) {
    if let Some(p) = profile {
        assert_ne!(p.type_, "Unconfined", "{what}: AppArmor Unconfined");
    }
}

#[test]
fn every_pod_meets_the_restricted_profile() {
    let mut pods = 0;
    for (app, r) in rendered_apps() {
        for w in support::workloads(&r) {
            assert_restricted(&format!("{app}/{}", w.name()), w.pod());
            pods += 1;
        }
    }
    assert!(pods >= 14, "only {pods} pod templates were checked");
}

#[test]
fn every_pod_is_hardened_beyond_restricted_unless_the_app_file_opts_out() {
    for (app, r) in rendered_apps() {
        for w in support::workloads(&r) {
            let what = format!("{app}/{}", w.name());
            let opt_outs = w
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(labels::SECURITY_OPT_OUTS).cloned())
                .unwrap_or_default();
            let spec = w.pod();
            assert_eq!(spec.automount_service_account_token, Some(false), "{what}");
            assert_eq!(spec.enable_service_links, Some(false), "{what}");
            assert!(
                spec.service_account_name
                    .as_deref()
                    .is_some_and(|s| s != "default"),
                "{what}"
            );
            let c = &spec.containers[0];
            let sc = c.security_context.as_ref().unwrap();
            if !opt_outs.contains("readOnlyRootFilesystem") {
                assert_eq!(sc.read_only_root_filesystem, Some(true), "{what}");
            }
            if !opt_outs.contains("runAsUser") {
                assert!(sc.run_as_user.unwrap() >= 10000, "{what}: high UID");
            }
            if !opt_outs.contains("runAsGroup") {
                assert!(
                    spec.security_context.as_ref().unwrap().fs_group.unwrap() >= 10000,
                    "{what}: high GID"
                );
            }
            assert!(
                c.volume_mounts
                    .iter()
                    .flatten()
                    .any(|m| m.mount_path == "/tmp"),
                "{what}: writable /tmp"
            );
            let res = c.resources.as_ref().unwrap();
            let (req, lim) = (res.requests.as_ref().unwrap(), res.limits.as_ref().unwrap());
            for key in ["cpu", "memory", "ephemeral-storage"] {
                assert!(
                    req.contains_key(key) && lim.contains_key(key),
                    "{what}: {key}"
                );
            }
            assert_eq!(
                req["memory"], lim["memory"],
                "{what}: memory limit = request"
            );
        }
    }
}

#[test]
fn every_workload_is_highly_available() {
    for (app, r) in rendered_apps() {
        let hpas: BTreeMap<&str, _> = r
            .objects
            .iter()
            .filter_map(|o| match o {
                Object::HorizontalPodAutoscaler(h) => {
                    Some((h.spec.as_ref()?.scale_target_ref.name.as_str(), h))
                }
                _ => None,
            })
            .collect();
        for w in support::workloads(&r) {
            let name = w.name();
            let what = format!("{app}/{name}");
            let has_pdb = r
                .objects
                .iter()
                .any(|o| o.kind() == "PodDisruptionBudget" && o.name() == name);
            match (w.kind, hpas.get(name)) {
                (_, Some(hpa)) => {
                    assert_eq!(w.kind, "Deployment", "{what}: only Deployments autoscale");
                    assert_eq!(w.replicas, None, "{what}: the autoscaler owns replicas");
                    assert!(hpa.spec.as_ref().unwrap().min_replicas >= Some(2), "{what}");
                    assert!(has_pdb, "{what}: no PodDisruptionBudget");
                }
                ("Deployment", None) => {
                    assert!(
                        w.replicas >= Some(2),
                        "{what}: replicas ≥ 2 or an autoscaler"
                    );
                    assert!(has_pdb, "{what}: no PodDisruptionBudget");
                }
                // Each replica of a stateful sub owns its data, so one replica is allowed;
                // from two on, a budget keeps drains from taking more than one away.
                (_, None) => assert_eq!(
                    has_pdb,
                    w.replicas >= Some(2),
                    "{what}: a PodDisruptionBudget exactly with 2+ replicas"
                ),
            }
            let pod = w.pod();
            let anti = pod
                .affinity
                .as_ref()
                .unwrap()
                .pod_anti_affinity
                .as_ref()
                .unwrap();
            let term = &anti
                .preferred_during_scheduling_ignored_during_execution
                .as_ref()
                .unwrap()[0];
            assert_eq!(
                term.pod_affinity_term.topology_key, "kubernetes.io/hostname",
                "{what}"
            );
            let spread = &pod.topology_spread_constraints.as_ref().unwrap()[0];
            assert_eq!(
                (
                    spread.topology_key.as_str(),
                    spread.when_unsatisfiable.as_str()
                ),
                ("topology.kubernetes.io/zone", "ScheduleAnyway"),
                "{what}"
            );
            let c = &pod.containers[0];
            let (ready, live) = (
                c.readiness_probe.as_ref().unwrap(),
                c.liveness_probe.as_ref().unwrap(),
            );
            assert_ne!(ready, live, "{what}: readiness and liveness must differ");
            assert!(c.startup_probe.is_some(), "{what}: startup probe");
            assert!(pod.termination_grace_period_seconds.unwrap() > 5, "{what}");
        }
        for object in &r.objects {
            match object {
                Object::Deployment(d) => {
                    let strategy = d.spec.as_ref().unwrap().strategy.as_ref().unwrap();
                    assert_eq!(
                        strategy.rolling_update.as_ref().unwrap().max_unavailable,
                        Some(IntOrString::Int(0)),
                        "{app}/{}",
                        object.name()
                    );
                }
                Object::StatefulSet(s) => {
                    let spec = s.spec.as_ref().unwrap();
                    let strategy = spec.update_strategy.as_ref().unwrap();
                    assert_eq!(
                        strategy.type_.as_deref(),
                        Some("RollingUpdate"),
                        "{app}/{}",
                        object.name()
                    );
                    assert_eq!(
                        spec.pod_management_policy.as_deref(),
                        Some("OrderedReady"),
                        "{app}/{}: replicas start in order",
                        object.name()
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn every_volume_is_writable_by_the_non_root_user_and_nothing_else_is() {
    let mut claims = 0;
    for (app, r) in rendered_apps() {
        for object in &r.objects {
            let Object::StatefulSet(s) = object else {
                continue;
            };
            let what = format!("{app}/{}", object.name());
            let spec = s.spec.as_ref().unwrap();
            let pod = spec.template.spec.as_ref().unwrap();
            let pod_sc = pod.security_context.as_ref().unwrap();
            let c = &pod.containers[0];
            let sc = c.security_context.as_ref().unwrap();
            // Kubernetes gives each claim's files to the pod's group, once.
            assert_eq!(pod_sc.fs_group, sc.run_as_group, "{what}: fsGroup");
            assert_eq!(
                pod_sc.fs_group_change_policy.as_deref(),
                Some("OnRootMismatch"),
                "{what}"
            );
            assert_eq!(sc.read_only_root_filesystem, Some(true), "{what}");
            for template in spec.volume_claim_templates.iter().flatten() {
                let name = template.metadata.name.as_deref().unwrap();
                let mount = c
                    .volume_mounts
                    .iter()
                    .flatten()
                    .find(|m| m.name == name)
                    .unwrap_or_else(|| panic!("{what}: claim {name} is not mounted"));
                assert_ne!(mount.read_only, Some(true), "{what}: {name} is writable");
                assert!(
                    pod.volumes.iter().flatten().all(|v| v.name != name),
                    "{what}: a pod volume would shadow claim {name}"
                );
                claims += 1;
            }
        }
    }
    assert!(claims >= 3, "only {claims} claims were checked");
}

#[test]
fn every_pod_is_selected_by_a_network_policy_of_its_own() {
    for (app, r) in rendered_apps() {
        for w in support::workloads(&r) {
            let name = w.name();
            let pod_labels = w.pod_metadata().labels.clone().unwrap();
            let selecting = r.objects.iter().filter(|o| match o {
                Object::NetworkPolicy(p) => p
                    .spec
                    .as_ref()
                    .and_then(|s| s.pod_selector.as_ref()?.match_labels.clone())
                    .is_some_and(|m| m.iter().all(|(k, v)| pod_labels.get(k) == Some(v))),
                _ => false,
            });
            assert!(
                selecting.count() >= 3,
                "{app}/{name}: default deny, DNS and its own policy"
            );
        }
    }
}

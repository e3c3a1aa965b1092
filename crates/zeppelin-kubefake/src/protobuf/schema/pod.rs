//! The messages of a pod template, below [`super`]'s Job and `CronJob`.

use super::Kind::{self, Bool, Int, IntOrString, Quantity, QuantityMap, Str, StrMap};
use super::{LABEL_SELECTOR, Message, OBJECT_META, list, one, ptr};

pub(super) static POD_TEMPLATE_SPEC: Message = Message {
    name: "PodTemplateSpec",
    fields: &[
        one(1, "metadata", Kind::Message(&OBJECT_META)),
        one(2, "spec", Kind::Message(&POD_SPEC)),
    ],
};

static POD_SPEC: Message = Message {
    name: "PodSpec",
    fields: &[
        list(1, "volumes", Kind::Message(&VOLUME)),
        list(2, "containers", Kind::Message(&CONTAINER)),
        one(3, "restartPolicy", Str),
        ptr(4, "terminationGracePeriodSeconds", Int),
        ptr(5, "activeDeadlineSeconds", Int),
        one(6, "dnsPolicy", Str),
        one(7, "nodeSelector", StrMap),
        one(8, "serviceAccountName", Str),
        one(9, "serviceAccount", Str),
        one(10, "nodeName", Str),
        one(11, "hostNetwork", Bool),
        one(12, "hostPID", Bool),
        one(13, "hostIPC", Bool),
        ptr(14, "securityContext", Kind::Message(&POD_SECURITY_CONTEXT)),
        list(
            15,
            "imagePullSecrets",
            Kind::Message(&LOCAL_OBJECT_REFERENCE),
        ),
        one(16, "hostname", Str),
        one(17, "subdomain", Str),
        ptr(18, "affinity", Kind::Message(&AFFINITY)),
        one(19, "schedulerName", Str),
        list(20, "initContainers", Kind::Message(&CONTAINER)),
        ptr(21, "automountServiceAccountToken", Bool),
        list(22, "tolerations", Kind::Message(&TOLERATION)),
        one(24, "priorityClassName", Str),
        ptr(25, "priority", Int),
        ptr(27, "shareProcessNamespace", Bool),
        ptr(29, "runtimeClassName", Str),
        ptr(30, "enableServiceLinks", Bool),
        ptr(31, "preemptionPolicy", Str),
        list(
            33,
            "topologySpreadConstraints",
            Kind::Message(&TOPOLOGY_SPREAD_CONSTRAINT),
        ),
        ptr(35, "setHostnameAsFQDN", Bool),
        ptr(37, "hostUsers", Bool),
    ],
};

static POD_SECURITY_CONTEXT: Message = Message {
    name: "PodSecurityContext",
    fields: &[
        ptr(2, "runAsUser", Int),
        ptr(3, "runAsNonRoot", Bool),
        list(4, "supplementalGroups", Int),
        ptr(5, "fsGroup", Int),
        ptr(6, "runAsGroup", Int),
        ptr(9, "fsGroupChangePolicy", Str),
        ptr(10, "seccompProfile", Kind::Message(&SECCOMP_PROFILE)),
    ],
};

static SECCOMP_PROFILE: Message = Message {
    name: "SeccompProfile",
    fields: &[one(1, "type", Str), ptr(2, "localhostProfile", Str)],
};

static LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "LocalObjectReference",
    fields: &[one(1, "name", Str)],
};

static AFFINITY: Message = Message {
    name: "Affinity",
    fields: &[
        ptr(2, "podAffinity", Kind::Message(&POD_AFFINITY)),
        ptr(3, "podAntiAffinity", Kind::Message(&POD_AFFINITY)),
    ],
};

/// `PodAffinity` and `PodAntiAffinity` have the same fields.
static POD_AFFINITY: Message = Message {
    name: "PodAffinity",
    fields: &[
        list(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Kind::Message(&POD_AFFINITY_TERM),
        ),
        list(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Kind::Message(&WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
};

static WEIGHTED_POD_AFFINITY_TERM: Message = Message {
    name: "WeightedPodAffinityTerm",
    fields: &[
        one(1, "weight", Int),
        one(2, "podAffinityTerm", Kind::Message(&POD_AFFINITY_TERM)),
    ],
};

static POD_AFFINITY_TERM: Message = Message {
    name: "PodAffinityTerm",
    fields: &[
        ptr(1, "labelSelector", Kind::Message(&LABEL_SELECTOR)),
        list(2, "namespaces", Str),
        one(3, "topologyKey", Str),
        ptr(4, "namespaceSelector", Kind::Message(&LABEL_SELECTOR)),
        list(5, "matchLabelKeys", Str),
        list(6, "mismatchLabelKeys", Str),
    ],
};

static TOLERATION: Message = Message {
    name: "Toleration",
    fields: &[
        one(1, "key", Str),
        one(2, "operator", Str),
        one(3, "value", Str),
        one(4, "effect", Str),
        ptr(5, "tolerationSeconds", Int),
    ],
};

static TOPOLOGY_SPREAD_CONSTRAINT: Message = Message {
    name: "TopologySpreadConstraint",
    fields: &[
        one(1, "maxSkew", Int),
        one(2, "topologyKey", Str),
        one(3, "whenUnsatisfiable", Str),
        ptr(4, "labelSelector", Kind::Message(&LABEL_SELECTOR)),
        ptr(5, "minDomains", Int),
        ptr(6, "nodeAffinityPolicy", Str),
        ptr(7, "nodeTaintsPolicy", Str),
        list(8, "matchLabelKeys", Str),
    ],
};

static CONTAINER: Message = Message {
    name: "Container",
    fields: &[
        one(1, "name", Str),
        one(2, "image", Str),
        list(3, "command", Str),
        list(4, "args", Str),
        one(5, "workingDir", Str),
        list(6, "ports", Kind::Message(&CONTAINER_PORT)),
        list(7, "env", Kind::Message(&ENV_VAR)),
        one(8, "resources", Kind::Message(&RESOURCE_REQUIREMENTS)),
        list(9, "volumeMounts", Kind::Message(&VOLUME_MOUNT)),
        ptr(10, "livenessProbe", Kind::Message(&PROBE)),
        ptr(11, "readinessProbe", Kind::Message(&PROBE)),
        ptr(12, "lifecycle", Kind::Message(&LIFECYCLE)),
        one(13, "terminationMessagePath", Str),
        one(14, "imagePullPolicy", Str),
        ptr(15, "securityContext", Kind::Message(&SECURITY_CONTEXT)),
        one(16, "stdin", Bool),
        one(17, "stdinOnce", Bool),
        one(18, "tty", Bool),
        list(19, "envFrom", Kind::Message(&ENV_FROM_SOURCE)),
        one(20, "terminationMessagePolicy", Str),
        ptr(22, "startupProbe", Kind::Message(&PROBE)),
    ],
};

static CONTAINER_PORT: Message = Message {
    name: "ContainerPort",
    fields: &[
        one(1, "name", Str),
        one(2, "hostPort", Int),
        one(3, "containerPort", Int),
        one(4, "protocol", Str),
        one(5, "hostIP", Str),
    ],
};

static ENV_VAR: Message = Message {
    name: "EnvVar",
    fields: &[
        one(1, "name", Str),
        one(2, "value", Str),
        ptr(3, "valueFrom", Kind::Message(&ENV_VAR_SOURCE)),
    ],
};

static ENV_VAR_SOURCE: Message = Message {
    name: "EnvVarSource",
    fields: &[
        ptr(1, "fieldRef", Kind::Message(&OBJECT_FIELD_SELECTOR)),
        ptr(
            2,
            "resourceFieldRef",
            Kind::Message(&RESOURCE_FIELD_SELECTOR),
        ),
        ptr(3, "configMapKeyRef", Kind::Message(&KEY_SELECTOR)),
        ptr(4, "secretKeyRef", Kind::Message(&KEY_SELECTOR)),
    ],
};

static OBJECT_FIELD_SELECTOR: Message = Message {
    name: "ObjectFieldSelector",
    fields: &[one(1, "apiVersion", Str), one(2, "fieldPath", Str)],
};

static RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "ResourceFieldSelector",
    fields: &[
        one(1, "containerName", Str),
        one(2, "resource", Str),
        one(3, "divisor", Quantity),
    ],
};

/// `ConfigMapKeySelector` and `SecretKeySelector` have the same fields.
static KEY_SELECTOR: Message = Message {
    name: "KeySelector",
    fields: &[
        one(
            1,
            "localObjectReference",
            Kind::Inline(&LOCAL_OBJECT_REFERENCE),
        ),
        one(2, "key", Str),
        ptr(3, "optional", Bool),
    ],
};

static ENV_FROM_SOURCE: Message = Message {
    name: "EnvFromSource",
    fields: &[
        one(1, "prefix", Str),
        ptr(2, "configMapRef", Kind::Message(&ENV_SOURCE)),
        ptr(3, "secretRef", Kind::Message(&ENV_SOURCE)),
    ],
};

/// `ConfigMapEnvSource` and `SecretEnvSource` have the same fields.
static ENV_SOURCE: Message = Message {
    name: "EnvSource",
    fields: &[
        one(
            1,
            "localObjectReference",
            Kind::Inline(&LOCAL_OBJECT_REFERENCE),
        ),
        ptr(2, "optional", Bool),
    ],
};

static RESOURCE_REQUIREMENTS: Message = Message {
    name: "ResourceRequirements",
    fields: &[
        one(1, "limits", QuantityMap),
        one(2, "requests", QuantityMap),
    ],
};

static VOLUME_MOUNT: Message = Message {
    name: "VolumeMount",
    fields: &[
        one(1, "name", Str),
        one(2, "readOnly", Bool),
        one(3, "mountPath", Str),
        one(4, "subPath", Str),
        ptr(5, "mountPropagation", Str),
        one(6, "subPathExpr", Str),
        ptr(7, "recursiveReadOnly", Str),
    ],
};

static PROBE: Message = Message {
    name: "Probe",
    fields: &[
        one(1, "handler", Kind::Inline(&HANDLER)),
        one(2, "initialDelaySeconds", Int),
        one(3, "timeoutSeconds", Int),
        one(4, "periodSeconds", Int),
        one(5, "successThreshold", Int),
        one(6, "failureThreshold", Int),
        ptr(7, "terminationGracePeriodSeconds", Int),
    ],
};

/// A probe's or a lifecycle hook's action (`ProbeHandler`, `LifecycleHandler`: the same
/// numbers for the actions both have).
static HANDLER: Message = Message {
    name: "Handler",
    fields: &[
        ptr(1, "exec", Kind::Message(&EXEC_ACTION)),
        ptr(2, "httpGet", Kind::Message(&HTTP_GET_ACTION)),
        ptr(3, "tcpSocket", Kind::Message(&TCP_SOCKET_ACTION)),
    ],
};

static LIFECYCLE_HANDLER: Message = Message {
    name: "LifecycleHandler",
    fields: &[
        ptr(1, "exec", Kind::Message(&EXEC_ACTION)),
        ptr(2, "httpGet", Kind::Message(&HTTP_GET_ACTION)),
        ptr(3, "tcpSocket", Kind::Message(&TCP_SOCKET_ACTION)),
        ptr(4, "sleep", Kind::Message(&SLEEP_ACTION)),
    ],
};

static EXEC_ACTION: Message = Message {
    name: "ExecAction",
    fields: &[list(1, "command", Str)],
};

static HTTP_GET_ACTION: Message = Message {
    name: "HTTPGetAction",
    fields: &[
        one(1, "path", Str),
        one(2, "port", IntOrString),
        one(3, "host", Str),
        one(4, "scheme", Str),
    ],
};

static TCP_SOCKET_ACTION: Message = Message {
    name: "TCPSocketAction",
    fields: &[one(1, "port", IntOrString), one(2, "host", Str)],
};

static SLEEP_ACTION: Message = Message {
    name: "SleepAction",
    fields: &[one(1, "seconds", Int)],
};

static LIFECYCLE: Message = Message {
    name: "Lifecycle",
    fields: &[
        ptr(1, "postStart", Kind::Message(&LIFECYCLE_HANDLER)),
        ptr(2, "preStop", Kind::Message(&LIFECYCLE_HANDLER)),
    ],
};

static SECURITY_CONTEXT: Message = Message {
    name: "SecurityContext",
    fields: &[
        ptr(1, "capabilities", Kind::Message(&CAPABILITIES)),
        ptr(2, "privileged", Bool),
        ptr(4, "runAsUser", Int),
        ptr(5, "runAsNonRoot", Bool),
        ptr(6, "readOnlyRootFilesystem", Bool),
        ptr(7, "allowPrivilegeEscalation", Bool),
        ptr(8, "runAsGroup", Int),
        ptr(9, "procMount", Str),
        ptr(11, "seccompProfile", Kind::Message(&SECCOMP_PROFILE)),
    ],
};

static CAPABILITIES: Message = Message {
    name: "Capabilities",
    fields: &[list(1, "add", Str), list(2, "drop", Str)],
};

static VOLUME: Message = Message {
    name: "Volume",
    fields: &[
        one(1, "name", Str),
        one(2, "volumeSource", Kind::Inline(&VOLUME_SOURCE)),
    ],
};

static VOLUME_SOURCE: Message = Message {
    name: "VolumeSource",
    fields: &[
        ptr(2, "emptyDir", Kind::Message(&EMPTY_DIR)),
        ptr(6, "secret", Kind::Message(&SECRET_VOLUME)),
        ptr(10, "persistentVolumeClaim", Kind::Message(&CLAIM_VOLUME)),
        ptr(19, "configMap", Kind::Message(&CONFIG_MAP_VOLUME)),
    ],
};

static EMPTY_DIR: Message = Message {
    name: "EmptyDirVolumeSource",
    fields: &[one(1, "medium", Str), ptr(2, "sizeLimit", Quantity)],
};

static SECRET_VOLUME: Message = Message {
    name: "SecretVolumeSource",
    fields: &[
        one(1, "secretName", Str),
        list(2, "items", Kind::Message(&KEY_TO_PATH)),
        ptr(3, "defaultMode", Int),
        ptr(4, "optional", Bool),
    ],
};

static CONFIG_MAP_VOLUME: Message = Message {
    name: "ConfigMapVolumeSource",
    fields: &[
        one(
            1,
            "localObjectReference",
            Kind::Inline(&LOCAL_OBJECT_REFERENCE),
        ),
        list(2, "items", Kind::Message(&KEY_TO_PATH)),
        ptr(3, "defaultMode", Int),
        ptr(4, "optional", Bool),
    ],
};

static CLAIM_VOLUME: Message = Message {
    name: "PersistentVolumeClaimVolumeSource",
    fields: &[one(1, "claimName", Str), one(2, "readOnly", Bool)],
};

static KEY_TO_PATH: Message = Message {
    name: "KeyToPath",
    fields: &[one(1, "key", Str), one(2, "path", Str), ptr(3, "mode", Int)],
};

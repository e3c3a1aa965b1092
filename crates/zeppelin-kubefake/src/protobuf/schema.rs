//! The protobuf messages of the objects kubectl's typed generators post here (a Job from
//! `kubectl create job --from=cronjob/...`, a `CronJob` from `kubectl create cronjob`): their
//! field numbers (from Kubernetes' `generated.proto`) and JSON names, for the fields a pod
//! template of Zeppelin's — or a plain one — has. A field not listed makes the body
//! refused by name, never dropped.

/// What a field holds.
#[derive(Debug)]
pub(super) enum Kind {
    Str,
    Int,
    Bool,
    Message(&'static Message),
    /// An embedded message whose fields JSON puts at this message's level (Go's inlined
    /// structs: a volume's source, a selector's object reference).
    Inline(&'static Message),
    /// `map<string, string>`.
    StrMap,
    /// `map<string, Quantity>`.
    QuantityMap,
    /// A `resource.Quantity`: a message holding its text.
    Quantity,
    /// A `metav1.Time`: seconds and nanoseconds since 1970, RFC 3339 in JSON.
    Time,
    /// An `intstr.IntOrString`: a number or a name in JSON.
    IntOrString,
}

/// One field of a message.
#[derive(Debug)]
pub(super) struct Field {
    pub(super) number: u64,
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    /// A list in JSON.
    pub(super) repeated: bool,
    /// A pointer in Go: kept when present, even at its zero value (`false`, `0`). Other
    /// fields are always on the wire; their zero strings, numbers and booleans are left out
    /// of JSON, as Go's `omitempty` does.
    pub(super) pointer: bool,
}

/// A message: its name (for errors) and fields.
#[derive(Debug)]
pub(super) struct Message {
    pub(super) name: &'static str,
    pub(super) fields: &'static [Field],
}

pub(super) const fn one(number: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        number,
        name,
        kind,
        repeated: false,
        pointer: false,
    }
}

pub(super) const fn ptr(number: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        number,
        name,
        kind,
        repeated: false,
        pointer: true,
    }
}

pub(super) const fn list(number: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        number,
        name,
        kind,
        repeated: true,
        pointer: false,
    }
}

mod pod;

use Kind::{Bool, Int, Str, StrMap, Time};
use pod::POD_TEMPLATE_SPEC;

/// The root message of each kind that can be posted as protobuf.
pub(super) fn root(api_version: &str, kind: &str) -> Option<&'static Message> {
    match (api_version, kind) {
        ("batch/v1", "Job") => Some(&JOB),
        ("batch/v1", "CronJob") => Some(&CRON_JOB),
        _ => None,
    }
}

static JOB: Message = Message {
    name: "Job",
    fields: &[
        one(1, "metadata", Kind::Message(&OBJECT_META)),
        one(2, "spec", Kind::Message(&JOB_SPEC)),
        one(3, "status", Kind::Message(&JOB_STATUS)),
    ],
};

static CRON_JOB: Message = Message {
    name: "CronJob",
    fields: &[
        one(1, "metadata", Kind::Message(&OBJECT_META)),
        one(2, "spec", Kind::Message(&CRON_JOB_SPEC)),
        one(3, "status", Kind::Message(&CRON_JOB_STATUS)),
    ],
};

pub(super) static OBJECT_META: Message = Message {
    name: "ObjectMeta",
    fields: &[
        one(1, "name", Str),
        one(2, "generateName", Str),
        one(3, "namespace", Str),
        one(4, "selfLink", Str),
        one(5, "uid", Str),
        one(6, "resourceVersion", Str),
        one(7, "generation", Int),
        one(8, "creationTimestamp", Time),
        ptr(9, "deletionTimestamp", Time),
        ptr(10, "deletionGracePeriodSeconds", Int),
        one(11, "labels", StrMap),
        one(12, "annotations", StrMap),
        list(13, "ownerReferences", Kind::Message(&OWNER_REFERENCE)),
        list(14, "finalizers", Str),
    ],
};

static OWNER_REFERENCE: Message = Message {
    name: "OwnerReference",
    fields: &[
        one(1, "kind", Str),
        one(3, "name", Str),
        one(4, "uid", Str),
        one(5, "apiVersion", Str),
        ptr(6, "controller", Bool),
        ptr(7, "blockOwnerDeletion", Bool),
    ],
};

pub(super) static LABEL_SELECTOR: Message = Message {
    name: "LabelSelector",
    fields: &[
        one(1, "matchLabels", StrMap),
        list(
            2,
            "matchExpressions",
            Kind::Message(&LABEL_SELECTOR_REQUIREMENT),
        ),
    ],
};

static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "LabelSelectorRequirement",
    fields: &[
        one(1, "key", Str),
        one(2, "operator", Str),
        list(3, "values", Str),
    ],
};

static JOB_SPEC: Message = Message {
    name: "JobSpec",
    fields: &[
        ptr(1, "parallelism", Int),
        ptr(2, "completions", Int),
        ptr(3, "activeDeadlineSeconds", Int),
        ptr(4, "selector", Kind::Message(&LABEL_SELECTOR)),
        ptr(5, "manualSelector", Bool),
        one(6, "template", Kind::Message(&POD_TEMPLATE_SPEC)),
        ptr(7, "backoffLimit", Int),
        ptr(8, "ttlSecondsAfterFinished", Int),
        ptr(9, "completionMode", Str),
        ptr(10, "suspend", Bool),
        ptr(12, "backoffLimitPerIndex", Int),
        ptr(13, "maxFailedIndexes", Int),
        ptr(14, "podReplacementPolicy", Str),
        ptr(15, "managedBy", Str),
    ],
};

/// What a new Job carries of its status: zeros, which are left out.
static JOB_STATUS: Message = Message {
    name: "JobStatus",
    fields: &[
        one(4, "active", Int),
        one(5, "succeeded", Int),
        one(6, "failed", Int),
        one(7, "completedIndexes", Str),
    ],
};

static CRON_JOB_SPEC: Message = Message {
    name: "CronJobSpec",
    fields: &[
        one(1, "schedule", Str),
        ptr(2, "startingDeadlineSeconds", Int),
        one(3, "concurrencyPolicy", Str),
        ptr(4, "suspend", Bool),
        one(5, "jobTemplate", Kind::Message(&JOB_TEMPLATE_SPEC)),
        ptr(6, "successfulJobsHistoryLimit", Int),
        ptr(7, "failedJobsHistoryLimit", Int),
        ptr(8, "timeZone", Str),
    ],
};

static CRON_JOB_STATUS: Message = Message {
    name: "CronJobStatus",
    fields: &[
        ptr(4, "lastScheduleTime", Time),
        ptr(5, "lastSuccessfulTime", Time),
    ],
};

static JOB_TEMPLATE_SPEC: Message = Message {
    name: "JobTemplateSpec",
    fields: &[
        one(1, "metadata", Kind::Message(&OBJECT_META)),
        one(2, "spec", Kind::Message(&JOB_SPEC)),
    ],
};

//! Why an app cannot be rendered for Kubernetes.

/// An app that is valid for the local runtime but cannot become Kubernetes objects.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "sub `{sub}` has no image, which Kubernetes needs; add `image = \"registry/name:tag\"` to [sub.{sub}]"
    )]
    MissingImage { sub: String },
    #[error(
        "job `{job}` has no image, which Kubernetes needs; add `image = \"registry/name:tag\"` to [job.{job}]"
    )]
    JobMissingImage { job: String },
    #[error(
        "volume `{volume}` of sub `{sub}` has no size, which Kubernetes needs to claim storage; add `size = \"1Gi\"` to sub.{sub}.volumes.{volume}"
    )]
    MissingVolumeSize { sub: String, volume: String },
    #[error(
        "volume `{volume}` of sub `{sub}` has the name of a volume every pod already has (`{volume}`); rename it in sub.{sub}.volumes"
    )]
    ReservedVolumeName { sub: String, volume: String },
    #[error(
        "the {kind} name `{name}` is {len} characters long, over Kubernetes' limit of {limit}; shorten the app or sub name"
    )]
    NameTooLong {
        kind: &'static str,
        name: String,
        len: usize,
        limit: usize,
    },
    #[error(
        "two objects would both be the {kind} `{name}`: a sub's name collides with one Zeppelin gives the app's own objects (`<app>-conf`, `<app>-secrets`, `<app>-dns`, `<app>-default-deny`) or a stateful sub's pods (`<sub>-pods`); rename the sub"
    )]
    NameClash { kind: &'static str, name: String },
    #[error(
        "the label value `{value}` of {kind} `{name}` is {len} characters long, over Kubernetes' limit of 63; shorten it"
    )]
    LabelTooLong {
        kind: &'static str,
        name: String,
        value: String,
        len: usize,
    },
}

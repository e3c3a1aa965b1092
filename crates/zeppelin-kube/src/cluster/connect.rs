//! Connecting to a cluster: the kubeconfig (or in-cluster config), a reachability check and
//! API discovery, all before anything is applied.

use std::collections::BTreeSet;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cluster::error::{ApiCause, ClusterError, is_not_found};
use crate::render::manifest::Manifest;

/// Where to connect: the kubeconfig context, if not its current one.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--context`: a context of the kubeconfig other than the current one.
    pub context: Option<String>,
    /// A kubeconfig file to read instead of `KUBECONFIG` or `~/.kube/config`.
    pub kubeconfig: Option<std::path::PathBuf>,
}

/// A connection to one cluster, checked to answer.
#[derive(Clone)]
pub struct Cluster {
    pub(crate) client: Client,
    url: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects with the kubeconfig (`KUBECONFIG` or `~/.kube/config`), or the pod's service
    /// account when there is no kubeconfig, and checks that the server answers and accepts
    /// the credentials.
    pub async fn connect(options: &ConnectOptions) -> Result<Self, ClusterError> {
        let kube_options = KubeConfigOptions {
            context: options.context.clone(),
            ..KubeConfigOptions::default()
        };
        let read = match &options.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        };
        let config = match read {
            Ok(kubeconfig) => Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                .await
                .map_err(ClusterError::Kubeconfig)?,
            Err(read_error) => {
                if options.context.is_some()
                    || options.kubeconfig.is_some()
                    || std::env::var_os("KUBECONFIG").is_some()
                {
                    return Err(ClusterError::Kubeconfig(read_error));
                }
                Config::incluster().map_err(ClusterError::NoConfig)?
            }
        };
        let url = config.cluster_url.to_string();
        let url = url.trim_end_matches('/').to_owned();
        let client = Client::try_from(config).map_err(|source| match source {
            // A credential plugin that cannot get a token (an expired sign-in) fails here.
            kube::Error::Auth(_) => ClusterError::Unauthorized {
                url: url.clone(),
                source: ApiCause(source),
            },
            _ => ClusterError::Client {
                url: url.clone(),
                source: ApiCause(source),
            },
        })?;
        let cluster = Self { client, url };
        if let Err(source) = cluster.client.apiserver_version().await {
            // An auth plugin that cannot get a token fails before any request is sent.
            let refused = matches!(source, kube::Error::Auth(_));
            let source = ApiCause(source);
            return Err(match source.code() {
                _ if refused => ClusterError::Unauthorized {
                    url: cluster.url,
                    source,
                },
                Some(401 | 403) => ClusterError::Unauthorized {
                    url: cluster.url,
                    source,
                },
                _ => ClusterError::Unreachable {
                    url: cluster.url,
                    source,
                },
            });
        }
        Ok(cluster)
    }

    /// The API server's address, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Checks that the cluster serves every kind in `manifest` (Ingress, autoscaling/v2…),
    /// so a deploy never stops halfway for want of an API.
    pub async fn check_apis(&self, manifest: &Manifest) -> Result<(), ClusterError> {
        let needed: BTreeSet<(String, String, String)> = manifest
            .items
            .iter()
            .map(|item| {
                (
                    item.resource.api_version.clone(),
                    item.resource.plural.clone(),
                    item.resource.kind.clone(),
                )
            })
            .collect();
        let mut versions: BTreeSet<&str> = BTreeSet::new();
        for (api_version, _, _) in &needed {
            versions.insert(api_version);
        }
        for api_version in versions {
            let listed = if api_version.contains('/') {
                self.client.list_api_group_resources(api_version).await
            } else {
                self.client.list_core_api_resources(api_version).await
            };
            let served: BTreeSet<String> = match listed {
                Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
                Err(error) if is_not_found(&error) => BTreeSet::new(),
                Err(source) => {
                    return Err(ClusterError::Request {
                        action: format!("discover the {api_version} API of {}", self.url),
                        source: ApiCause(source),
                    });
                }
            };
            for (_, plural, kind) in needed.iter().filter(|(v, _, _)| v == api_version) {
                if !served.contains(plural) {
                    return Err(ClusterError::MissingApi {
                        url: self.url.clone(),
                        kind: kind.clone(),
                        api_version: api_version.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }
}

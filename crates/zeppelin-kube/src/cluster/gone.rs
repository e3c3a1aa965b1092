//! Waiting until a deleted object is gone, shared by everything that deletes and waits.

use std::time::Duration;

use kube::api::Api;
use kube::runtime::wait::{await_condition, conditions};

use crate::cluster::error::{ClusterError, humanize};

/// An object being deleted, as a timeout names it.
pub(crate) struct Gone<'a> {
    pub kind: &'a str,
    pub plural: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
}

/// Waits until the object `what` (with `uid`) is gone, for at most `timeout`.
pub(crate) async fn wait_gone<K>(
    api: Api<K>,
    what: &Gone<'_>,
    uid: &str,
    timeout: Duration,
) -> Result<(), ClusterError>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let object = format!("{}/{}", what.kind, what.name);
    let gone = await_condition(api, what.name, conditions::is_deleted(uid));
    match tokio::time::timeout(timeout, gone).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(source)) => Err(ClusterError::Watch { object, source }),
        Err(_) => Err(ClusterError::StillThere {
            object,
            timeout: humanize(timeout),
            plural: what.plural.to_owned(),
            name: what.name.to_owned(),
            namespace: what.namespace.to_owned(),
        }),
    }
}

//! Secret values never enter a revision: before one is recorded, every Secret among its
//! objects loses its values and keeps, per key, the SHA-256 of the value. A rollback puts
//! values back from where they come from now and says which ones differ from the hashes.
//!
//! Revisions recorded before this held the values; reading one seals it the same way, so
//! nothing from those values survives past the read, and nothing is lost: the values come
//! from their sources again on the way back.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::render::hash::hex;

/// Per Secret object (by name), per key: the hex SHA-256 of the value it held.
pub type SecretHashes = BTreeMap<String, BTreeMap<String, String>>;

/// A secret value as a rollback reads it now, and where from, to tell the user.
#[derive(Debug, Clone)]
pub struct CurrentSecret {
    pub value: Vec<u8>,
    /// `env SHOP_DB_PASSWORD`, `file secrets/db.txt`.
    pub source: String,
}

/// A secret whose value now differs from the one its revision recorded the hash of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDrift {
    pub secret: String,
    /// Where the value used instead was read, as in [`CurrentSecret::source`].
    pub source: String,
}

/// The hex SHA-256 a revision records for a secret value.
pub(crate) fn value_hash(value: &[u8]) -> String {
    hex(&Sha256::digest(value))
}

/// Removes the values of every Secret in `objects` (`data` and `stringData`) and returns
/// their hashes.
pub(crate) fn seal(objects: &mut [Value]) -> SecretHashes {
    let mut hashes = SecretHashes::new();
    for object in objects.iter_mut().filter(|o| o["kind"] == "Secret") {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let Some(fields) = object.as_object_mut() else {
            continue;
        };
        let mut keys = BTreeMap::new();
        if let Some(Value::Object(data)) = fields.remove("data") {
            for (key, encoded) in data {
                // An undecodable value is hashed as written: it still never leaves here.
                let value = serde_json::from_value::<ByteString>(encoded.clone())
                    .map_or_else(|_| encoded.to_string().into_bytes(), |b| b.0);
                keys.insert(key, value_hash(&value));
            }
        }
        if let Some(Value::Object(data)) = fields.remove("stringData") {
            for (key, text) in data {
                keys.insert(
                    key,
                    value_hash(text.as_str().unwrap_or_default().as_bytes()),
                );
            }
        }
        hashes.entry(name).or_default().extend(keys);
    }
    hashes
}

/// Puts values back into the sealed Secrets of `objects`, asking `current` for each key
/// (a secret's name); returns the secrets whose value differs from the recorded hash.
/// Every value is read before any object changes: on an error `objects` stay sealed.
pub(crate) fn unseal<E>(
    objects: &mut [Value],
    hashes: &SecretHashes,
    mut current: impl FnMut(&str) -> Result<CurrentSecret, E>,
) -> Result<Vec<SecretDrift>, E> {
    let mut drift = Vec::new();
    let mut filled: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for (object, keys) in hashes {
        let data = filled.entry(object).or_default();
        for (key, hash) in keys {
            let secret = current(key)?;
            if value_hash(&secret.value) != *hash {
                drift.push(SecretDrift {
                    secret: key.clone(),
                    source: secret.source,
                });
            }
            let encoded =
                serde_json::to_value(ByteString(secret.value)).expect("bytes serialize as base64");
            data.insert(key.clone(), encoded);
        }
    }
    for object in objects.iter_mut().filter(|o| o["kind"] == "Secret") {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if let Some(data) = filled.remove(name) {
            object["data"] = Value::Object(data);
        }
    }
    Ok(drift)
}

/// The values of the Secrets in `objects` by key, for rolling back with what a deploy was
/// about to apply.
pub(crate) fn values_of(objects: &[Value]) -> BTreeMap<String, Vec<u8>> {
    objects
        .iter()
        .filter(|o| o["kind"] == "Secret")
        .filter_map(|o| o["data"].as_object())
        .flatten()
        .filter_map(|(key, encoded)| {
            let value = serde_json::from_value::<ByteString>(encoded.clone()).ok()?;
            Some((key.clone(), value.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn objects() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-conf"},
                   "data": {"MODE": "fast"}}),
            // "hunter2" in base64.
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-secrets"},
                   "data": {"DB": "aHVudGVyMg=="}, "stringData": {"TOKEN": "t0k"}}),
        ]
    }

    #[test]
    fn sealing_keeps_hashes_and_drops_every_value() {
        let mut sealed = objects();
        let hashes = seal(&mut sealed);
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(
            !text.contains("aHVudGVyMg") && !text.contains("t0k"),
            "{text}"
        );
        assert_eq!(sealed[0], objects()[0], "only Secrets change");
        assert_eq!(hashes["shop-secrets"]["DB"], value_hash(b"hunter2"));
        assert_eq!(hashes["shop-secrets"]["TOKEN"], value_hash(b"t0k"));
    }

    #[test]
    fn unsealing_uses_current_values_and_names_those_that_changed() {
        let mut sealed = objects();
        let hashes = seal(&mut sealed);
        let drift = unseal(&mut sealed, &hashes, |key| {
            Ok::<_, ()>(CurrentSecret {
                value: if key == "DB" {
                    b"hunter3".to_vec()
                } else {
                    b"t0k".to_vec()
                },
                source: format!("env SHOP_{key}"),
            })
        })
        .unwrap();
        assert_eq!(
            drift,
            vec![SecretDrift {
                secret: "DB".to_owned(),
                source: "env SHOP_DB".to_owned()
            }]
        );
        let values = values_of(&sealed);
        assert_eq!(values["DB"], b"hunter3");
        assert_eq!(values["TOKEN"], b"t0k");
    }

    #[test]
    fn a_missing_source_stops_unsealing_with_its_error() {
        let mut sealed = objects();
        let hashes = seal(&mut sealed);
        let err = unseal(&mut sealed, &hashes, |key| Err(key.to_owned())).unwrap_err();
        assert_eq!(err, "DB");
    }
}

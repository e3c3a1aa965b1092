//! A revision's objects as stored: gzip-compressed JSON, cut into parts small enough for
//! one Secret each (the API server refuses objects over about 1 MiB), so a revision fits
//! an app of any size.
//!
//! Revisions recorded before compression hold plain JSON under `objects`; [`decode`] still
//! reads them.

use std::io::{Read as _, Write as _};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;

/// The key holding plain JSON objects, in revisions recorded before compression.
pub(crate) const PLAIN_KEY: &str = "objects";
/// The key holding one part of the compressed objects.
pub(crate) const COMPRESSED_KEY: &str = "objects.gz";

/// The most compressed bytes one Secret holds: half the API server's 1 MiB limit on a
/// Secret's data, leaving room for base64 and the revision's other keys.
pub(crate) const PART_SIZE: usize = 512 * 1024;

/// The objects compressed and cut into parts of at most [`PART_SIZE`] bytes, in order.
pub(crate) fn encode(objects: &[Value]) -> Vec<Vec<u8>> {
    let json = serde_json::to_vec(objects).expect("JSON values serialize");
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(&json)
        .expect("writing to memory cannot fail");
    let compressed = encoder.finish().expect("writing to memory cannot fail");
    compressed.chunks(PART_SIZE).map(<[u8]>::to_vec).collect()
}

/// The objects from parts [`encode`] made, given in order.
pub(crate) fn decode<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<Value>, String> {
    let compressed: Vec<u8> = parts.into_iter().flatten().copied().collect();
    let mut json = Vec::new();
    GzDecoder::new(compressed.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| format!("its objects do not decompress ({e})"))?;
    decode_plain(&json)
}

/// The objects of a revision recorded before compression.
pub(crate) fn decode_plain(json: &[u8]) -> Result<Vec<Value>, String> {
    serde_json::from_slice(json).map_err(|_| "its objects are not JSON".to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn objects_come_back_from_their_parts() {
        let objects = vec![json!({"kind": "ConfigMap", "data": {"A": "b"}})];
        let parts = encode(&objects);
        assert_eq!(parts.len(), 1);
        assert_eq!(decode(parts.iter().map(Vec::as_slice)).unwrap(), objects);
    }

    #[test]
    fn incompressible_objects_split_into_parts_read_back_in_order() {
        // Hex digests: about half of it survives compression.
        let noise: String = (0..3 * PART_SIZE / 64)
            .map(|i| crate::render::hash::hex(&sha2::Sha256::digest(i.to_le_bytes())))
            .collect();
        let objects = vec![json!({"kind": "ConfigMap", "data": {"NOISE": noise}})];
        let parts = encode(&objects);
        assert!(parts.len() >= 2, "{} parts", parts.len());
        assert!(parts.iter().all(|p| p.len() <= PART_SIZE));
        assert_eq!(decode(parts.iter().map(Vec::as_slice)).unwrap(), objects);
        let reversed = decode(parts.iter().rev().map(Vec::as_slice));
        assert!(reversed.is_err() || reversed.unwrap() != objects);
    }
}

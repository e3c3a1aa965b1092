//! Request bodies in Kubernetes' protobuf encoding, as kubectl's typed generators send them
//! (`kubectl create job NAME --from=cronjob/...`), turned into the JSON the store keeps.
//!
//! The body is the `k8s\0` magic, then a `runtime.Unknown` holding the object's apiVersion
//! and kind and its own encoding, read with the field numbers in [`schema`]. Only the kinds
//! and fields listed there are understood; anything else is refused with a message naming
//! it, so nothing a client sent is silently lost.

mod schema;
mod wire;

use serde_json::{Map, Value};

use schema::{Field, Kind, Message};
use wire::{Reader, Wire};

/// What starts every protobuf body of the Kubernetes API.
const MAGIC: &[u8] = b"k8s\0";

/// The object a protobuf body holds, as JSON; or why it cannot be read.
pub(crate) fn decode(body: &[u8]) -> Result<Value, String> {
    let unknown = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| "the body does not start with the k8s protobuf magic".to_owned())?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    let mut reader = Reader::new(unknown);
    while let Some(field) = reader.field() {
        match field? {
            (1, Wire::Bytes(type_meta)) => {
                let mut reader = Reader::new(type_meta);
                while let Some(field) = reader.field() {
                    match field? {
                        (1, Wire::Bytes(text)) => api_version = text_of(text)?,
                        (2, Wire::Bytes(text)) => kind = text_of(text)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(bytes)) => raw = Some(bytes),
            (3, Wire::Bytes(encoding)) if !encoding.is_empty() => {
                return Err(format!("content encoding {:?}", text_of(encoding)?));
            }
            _ => {}
        }
    }
    let root = schema::root(&api_version, &kind).ok_or_else(|| {
        format!("{kind} ({api_version}) objects; only batch/v1 Jobs and CronJobs are read")
    })?;
    let mut object = Map::new();
    object.insert("apiVersion".to_owned(), Value::String(api_version));
    object.insert("kind".to_owned(), Value::String(kind));
    message_into(raw.unwrap_or_default(), root, &mut object)?;
    Ok(Value::Object(object))
}

/// Reads the fields of `bytes` as `message`, adding them to `out`.
fn message_into(
    bytes: &[u8],
    message: &Message,
    out: &mut Map<String, Value>,
) -> Result<(), String> {
    let mut reader = Reader::new(bytes);
    while let Some(field) = reader.field() {
        let (number, wire) = field?;
        let field = message
            .fields
            .iter()
            .find(|f| f.number == number)
            .ok_or_else(|| format!("field {number} of {}", message.name))?;
        if let Kind::Inline(inner) = field.kind {
            message_into(bytes_of(wire, field)?, inner, out)?;
            continue;
        }
        if field.repeated {
            let values = out
                .entry(field.name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = values {
                match (&field.kind, wire) {
                    // A packed run of numbers.
                    (Kind::Int, Wire::Bytes(packed)) => {
                        let mut numbers = Reader::new(packed);
                        while !numbers.is_empty() {
                            values.push(int_value(numbers.varint()?));
                        }
                    }
                    _ => values.push(value(wire, field)?),
                }
            }
            continue;
        }
        let value = value(wire, field)?;
        match (&field.kind, out.get_mut(field.name)) {
            // Map entries come one field each.
            (Kind::StrMap | Kind::QuantityMap, Some(Value::Object(entries))) => {
                if let Value::Object(more) = value {
                    entries.extend(more);
                }
            }
            _ if !field.pointer && is_zero(&value) => {}
            _ => {
                out.insert(field.name.to_owned(), value);
            }
        }
    }
    Ok(())
}

/// One value of `field`, as JSON.
fn value(wire: Wire<'_>, field: &Field) -> Result<Value, String> {
    Ok(match &field.kind {
        Kind::Str => Value::String(text_of(bytes_of(wire, field)?)?),
        Kind::Int => int_value(varint_of(wire, field)?),
        Kind::Bool => Value::Bool(varint_of(wire, field)? != 0),
        Kind::Message(inner) => {
            let mut object = Map::new();
            message_into(bytes_of(wire, field)?, inner, &mut object)?;
            Value::Object(object)
        }
        Kind::Inline(_) => unreachable!("inlined before"),
        Kind::StrMap | Kind::QuantityMap => {
            let (mut key, mut text) = (String::new(), String::new());
            let mut reader = Reader::new(bytes_of(wire, field)?);
            while let Some(entry) = reader.field() {
                match entry? {
                    (1, Wire::Bytes(bytes)) => key = text_of(bytes)?,
                    (2, Wire::Bytes(bytes)) if matches!(field.kind, Kind::QuantityMap) => {
                        text = quantity(bytes)?;
                    }
                    (2, Wire::Bytes(bytes)) => text = text_of(bytes)?,
                    (number, _) => {
                        return Err(format!("field {number} of an entry of {}", field.name));
                    }
                }
            }
            let mut entries = Map::new();
            entries.insert(key, Value::String(text));
            Value::Object(entries)
        }
        Kind::Quantity => Value::String(quantity(bytes_of(wire, field)?)?),
        Kind::Time => time(bytes_of(wire, field)?)?,
        Kind::IntOrString => int_or_string(bytes_of(wire, field)?)?,
    })
}

/// A number as JSON: protobuf sends a negative int32 or int64 as its 64-bit two's complement.
fn int_value(raw: u64) -> Value {
    #[expect(
        clippy::cast_possible_wrap,
        reason = "the wire's two's complement, on purpose"
    )]
    Value::from(raw as i64)
}

/// A value Go's `omitempty` leaves out of JSON: a zero string, number or boolean (an empty
/// struct, and the zero time as `null`, stay, as Go writes them).
fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(text) => text.is_empty(),
        Value::Number(number) => number.as_i64() == Some(0),
        Value::Bool(flag) => !flag,
        Value::Null | Value::Object(_) | Value::Array(_) => false,
    }
}

fn bytes_of<'a>(wire: Wire<'a>, field: &Field) -> Result<&'a [u8], String> {
    match wire {
        Wire::Bytes(bytes) => Ok(bytes),
        _ => Err(format!("field {} is not bytes", field.name)),
    }
}

fn varint_of(wire: Wire<'_>, field: &Field) -> Result<u64, String> {
    match wire {
        Wire::Varint(number) => Ok(number),
        _ => Err(format!("field {} is not a number", field.name)),
    }
}

fn text_of(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string that is not UTF-8".to_owned())
}

/// A `resource.Quantity`: `{1: text}`.
fn quantity(bytes: &[u8]) -> Result<String, String> {
    let mut text = String::new();
    let mut reader = Reader::new(bytes);
    while let Some(field) = reader.field() {
        if let (1, Wire::Bytes(bytes)) = field? {
            text = text_of(bytes)?;
        }
    }
    Ok(text)
}

/// A `metav1.Time`: `{1: seconds, 2: nanoseconds}`; the zero time is JSON's `null`.
fn time(bytes: &[u8]) -> Result<Value, String> {
    let mut seconds = 0u64;
    let mut reader = Reader::new(bytes);
    while let Some(field) = reader.field() {
        if let (1, Wire::Varint(number)) = field? {
            seconds = number;
        }
    }
    if seconds == 0 {
        return Ok(Value::Null);
    }
    let at = i64::try_from(seconds)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .ok_or_else(|| format!("time {seconds} is out of range"))?;
    Ok(Value::String(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// An `intstr.IntOrString`: `{1: type (0 a number, 1 a name), 2: number, 3: name}`.
fn int_or_string(bytes: &[u8]) -> Result<Value, String> {
    let (mut is_name, mut number, mut name) = (false, 0u64, String::new());
    let mut reader = Reader::new(bytes);
    while let Some(field) = reader.field() {
        match field? {
            (1, Wire::Varint(kind)) => is_name = kind == 1,
            (2, Wire::Varint(value)) => number = value,
            (3, Wire::Bytes(text)) => name = text_of(text)?,
            _ => {}
        }
    }
    Ok(if is_name {
        Value::String(name)
    } else {
        int_value(number)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn varint(mut value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while value >= 0x80 {
            out.push(u8::try_from(value & 0x7f).unwrap() | 0x80);
            value >>= 7;
        }
        out.push(u8::try_from(value).unwrap());
        out
    }

    /// A length-delimited field.
    fn bytes(number: u64, value: &[u8]) -> Vec<u8> {
        let length = u64::try_from(value.len()).unwrap();
        [varint(number << 3 | 2), varint(length), value.to_vec()].concat()
    }

    /// A varint field.
    fn small(number: u64, value: u64) -> Vec<u8> {
        [varint(number << 3), varint(value)].concat()
    }

    /// A protobuf body of `kind` holding `raw`.
    fn body(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [bytes(1, api_version.as_bytes()), bytes(2, kind.as_bytes())].concat();
        [MAGIC.to_vec(), bytes(1, &type_meta), bytes(2, raw)].concat()
    }

    #[test]
    fn a_job_reads_as_the_json_go_would_write() {
        let entry = [bytes(1, b"app"), bytes(2, b"web")].concat();
        let metadata = [bytes(1, b"migrate"), bytes(2, b""), bytes(11, &entry)].concat();
        let container = [bytes(1, b"migrate"), bytes(3, b"sh"), bytes(3, b"-c")].concat();
        let pod = [
            bytes(2, &container),
            bytes(3, b"Never"),
            small(11, 0),
            small(21, 0),
        ]
        .concat();
        let template = bytes(2, &pod);
        let spec = [small(7, 1), bytes(6, &template)].concat();
        let raw = [bytes(1, &metadata), bytes(2, &spec)].concat();
        let job = decode(&body("batch/v1", "Job", &raw)).unwrap();
        assert_eq!(
            job,
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "migrate", "labels": {"app": "web"}},
                "spec": {
                    "backoffLimit": 1,
                    "template": {"spec": {
                        "containers": [{"name": "migrate", "command": ["sh", "-c"]}],
                        "restartPolicy": "Never",
                        "automountServiceAccountToken": false,
                    }},
                },
            })
        );
    }

    #[test]
    fn what_is_not_known_is_named_not_dropped() {
        let raw = bytes(2, &small(99, 1));
        assert_eq!(
            decode(&body("batch/v1", "Job", &raw)).unwrap_err(),
            "field 99 of JobSpec"
        );
        assert_eq!(
            decode(&body("apps/v1", "Deployment", b"")).unwrap_err(),
            "Deployment (apps/v1) objects; only batch/v1 Jobs and CronJobs are read"
        );
        assert!(decode(b"{}").is_err());
    }
}

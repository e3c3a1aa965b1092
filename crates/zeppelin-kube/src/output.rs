//! Rendered objects as text: a multi-document YAML stream, a JSON `List`, or one file per
//! object. Keys are sorted (`apiVersion` and `kind` first), so the same input always gives
//! the same bytes.

use crate::{Object, Rendered};

/// One object as a YAML document (without the `---` separator).
pub fn yaml(object: &Object) -> String {
    crate::yaml::document(&object.to_json())
}

/// One object as pretty JSON, ending in a newline.
pub fn json(object: &Object) -> String {
    let mut text =
        serde_json::to_string_pretty(object).expect("Kubernetes objects serialize to JSON");
    text.push('\n');
    text
}

/// Every object as one YAML stream, in apply order, each document starting with `---`.
pub fn yaml_stream(rendered: &Rendered) -> String {
    let mut stream = String::new();
    for object in &rendered.objects {
        stream.push_str("---\n");
        stream.push_str(&yaml(object));
    }
    stream
}

/// Every object as one JSON `List`, in apply order, as `kubectl` reads and writes them.
pub fn json_list(rendered: &Rendered) -> String {
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": rendered.objects.iter().map(Object::to_json).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&list).expect("a JSON value serializes");
    text.push('\n');
    text
}

/// The file name of the `index`-th object, such as `05-deployment-api.yaml`: the number
/// keeps apply order when a tool reads the folder in name order.
pub fn file_name(index: usize, object: &Object, extension: &str) -> String {
    format!(
        "{:02}-{}-{}.{extension}",
        index + 1,
        object.kind().to_ascii_lowercase(),
        object.name()
    )
}

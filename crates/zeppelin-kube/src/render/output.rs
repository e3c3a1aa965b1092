//! Rendered objects as text: a multi-document YAML stream, a JSON `List`, or one file per
//! object. Keys are sorted (`apiVersion` and `kind` first), so the same input always gives
//! the same bytes.

use crate::render::object::{Object, Rendered};

/// One object as a YAML document (without the `---` separator).
pub fn yaml(object: &Object) -> String {
    crate::render::yaml::document(&object.to_json())
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

/// The file name of the `index`-th of `count` objects, such as `05-deployment-api.yaml`:
/// the zero-padded number keeps apply order when a tool reads the folder in name order.
pub fn file_name(index: usize, count: usize, object: &Object, extension: &str) -> String {
    let width = count.to_string().len().max(2);
    format!(
        "{:0width$}-{}-{}.{extension}",
        index + 1,
        object.kind().to_ascii_lowercase(),
        object.name()
    )
}

/// The kinds [`file_name`] writes, in lower case.
const FILE_KINDS: [&str; 13] = [
    "namespace",
    "serviceaccount",
    "configmap",
    "secret",
    "service",
    "deployment",
    "statefulset",
    "poddisruptionbudget",
    "horizontalpodautoscaler",
    "networkpolicy",
    "job",
    "cronjob",
    "ingress",
];

/// Whether `name` has the shape of a [`file_name`], so a folder rendered into earlier can be
/// cleared of objects no longer rendered without touching anything else in it.
pub fn is_rendered_file_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".json"))
    else {
        return false;
    };
    let Some((number, rest)) = stem.split_once('-') else {
        return false;
    };
    let Some((kind, object)) = rest.split_once('-') else {
        return false;
    };
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && FILE_KINDS.contains(&kind)
        && !object.is_empty()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    #[test]
    fn file_names_sort_in_apply_order_past_99_objects() {
        let ns = Object::Namespace(Namespace {
            metadata: ObjectMeta {
                name: Some("shop".to_owned()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        });
        assert_eq!(file_name(0, 15, &ns, "yaml"), "01-namespace-shop.yaml");
        assert_eq!(file_name(8, 120, &ns, "json"), "009-namespace-shop.json");
        assert!(file_name(10, 120, &ns, "yaml") < file_name(99, 120, &ns, "yaml"));
        assert!(file_name(99, 120, &ns, "yaml") < file_name(100, 120, &ns, "yaml"));
        assert!(is_rendered_file_name(&file_name(8, 120, &ns, "json")));
    }

    #[test]
    fn only_rendered_file_names_are_recognised() {
        assert!(is_rendered_file_name("06-deployment-api.yaml"));
        assert!(is_rendered_file_name("07-statefulset-redis.yaml"));
        assert!(is_rendered_file_name("13-job-migrate-0123456789.yaml"));
        assert!(is_rendered_file_name("14-cronjob-cleanup.yaml"));
        assert!(is_rendered_file_name(
            "12-networkpolicy-shop-default-deny.json"
        ));
        for other in [
            "README.md",
            "kustomization.yaml",
            "06-deployment-.yaml",
            "06-daemonset-api.yaml",
            "x6-deployment-api.yaml",
            "06-deployment-api.yml",
        ] {
            assert!(!is_rendered_file_name(other), "{other}");
        }
    }
}

//! Snapshots of the rendered test apps: every object, byte for byte, as `zeppelin render`
//! prints it. A change to any mapping rule shows here as a reviewable diff.

mod support;

use zeppelin_kube::{RenderOptions, output, render};

#[test]
fn shop_example() {
    let app = support::load(&support::app_files()[0]);
    let rendered = render(&app, &RenderOptions::default()).unwrap();
    assert!(rendered.objects.iter().all(|o| o.kind() != "Secret"));
    insta::assert_snapshot!("shop", output::yaml_stream(&rendered));
}

#[test]
fn every_feature_with_secrets() {
    let app = support::load(&support::app_files()[1]);
    let rendered = support::render_with_secrets(&app);
    insta::assert_snapshot!("full", output::yaml_stream(&rendered));
    let warnings: Vec<String> = rendered.warnings.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("full-warnings", warnings.join("\n"));
}

#[test]
fn digest_pinned_app_as_json() {
    let app = support::load(&support::app_files()[2]);
    let rendered = support::render_with_secrets(&app);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    insta::assert_snapshot!("pinned-json", output::json_list(&rendered));
}

#[test]
fn stateful_app_with_secrets() {
    let app = support::load(&support::app_files()[4]);
    let rendered = support::render_with_secrets(&app);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    insta::assert_snapshot!("stateful", output::yaml_stream(&rendered));
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    for file in support::app_files() {
        let first = output::yaml_stream(&support::render_with_secrets(&support::load(&file)));
        let second = output::yaml_stream(&support::render_with_secrets(&support::load(&file)));
        assert_eq!(first, second, "{}", file.display());
    }
}

//! End-to-end tests of `zeppelin new`, `check`, `schema`, `completions` and `--help`,
//! through the real binary.

mod harness;

use harness::{TestDir, code};

const BROKEN: &str = "\
name = \"Shop\"
[sub.api]
run = \"python3 api.py\"
port = 80800
replica = 2
[sub.web]
run = \"python3 web.py\"
port = 8080
depends_on = [\"api\", \"db\"]
";

#[test]
fn new_creates_a_valid_app_that_check_accepts() {
    let t = TestDir::new();
    let out = t.zeppelin(&["new", "shop"]);
    assert_eq!(code(&out), 0, "{}", t.redact(&out.stderr));
    insta::assert_snapshot!(t.redact(&out.stdout));
    for file in [
        "zeppelin.toml",
        "app/api.py",
        "app/web.py",
        "app/worker.py",
        "app/migrate.py",
        "app/cleanup.py",
        "Dockerfile",
        ".gitignore",
    ] {
        assert!(t.path().join("shop").join(file).is_file(), "{file} missing");
    }
    assert!(t.path().join("shop/log").is_dir());
    let out = t.zeppelin_in("shop", &["check"]);
    assert_eq!(code(&out), 0, "{}", t.redact(&out.stderr));
    insta::assert_snapshot!(t.redact(&out.stdout), @"[TEMP]/shop/zeppelin.toml is valid: app `shop`, 3 subs (api, web, worker), 2 jobs (cleanup, migrate), 1 route");
}

#[test]
fn new_names_the_app_after_its_argument() {
    let t = TestDir::new();
    assert_eq!(code(&t.zeppelin(&["new", "tea-house"])), 0);
    let toml = std::fs::read_to_string(t.path().join("tea-house/zeppelin.toml")).unwrap();
    assert!(toml.contains("name = \"tea-house\""));
    assert!(toml.contains("host = \"tea-house.localhost\""));
    assert!(toml.contains("image = \"tea-house-api:0.1.0\""));
    assert!(!toml.contains("shop"), "{toml}");
    let out = t.zeppelin_in("tea-house/app", &["check"]);
    assert_eq!(
        code(&out),
        0,
        "found from a sub-folder: {}",
        t.redact(&out.stderr)
    );
}

#[test]
fn new_matches_the_example_in_the_repository() {
    let t = TestDir::new();
    assert_eq!(code(&t.zeppelin(&["new", "shop"])), 0);
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop");
    for file in [
        "zeppelin.toml",
        "app/api.py",
        "app/web.py",
        "app/worker.py",
        "app/migrate.py",
        "app/cleanup.py",
        "Dockerfile",
    ] {
        assert_eq!(
            std::fs::read_to_string(t.path().join("shop").join(file)).unwrap(),
            std::fs::read_to_string(example.join(file)).unwrap(),
            "{file} differs from examples/shop"
        );
    }
}

#[test]
fn new_refuses_a_non_empty_folder_and_writes_nothing() {
    let t = TestDir::new();
    t.write("shop/notes.txt", "mine");
    let out = t.zeppelin(&["new", "shop"]);
    assert_eq!(code(&out), 1);
    insta::assert_snapshot!(t.redact(&out.stderr));
    let entries: Vec<_> = std::fs::read_dir(t.path().join("shop")).unwrap().collect();
    assert_eq!(entries.len(), 1, "only the user's file is there");
    let siblings: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
    assert_eq!(siblings.len(), 1, "no staging folder left behind");
}

#[test]
fn new_fills_an_empty_folder() {
    let t = TestDir::new();
    std::fs::create_dir(t.path().join("shop")).unwrap();
    assert_eq!(code(&t.zeppelin(&["new", "shop"])), 0);
    assert!(t.path().join("shop/zeppelin.toml").is_file());
}

#[test]
fn new_refuses_a_name_that_cannot_be_a_kubernetes_name() {
    let t = TestDir::new();
    let out = t.zeppelin(&["new", "My_Shop"]);
    assert_eq!(code(&out), 1);
    insta::assert_snapshot!(t.redact(&out.stderr));
    assert!(!t.path().join("My_Shop").exists());
}

#[test]
fn check_explains_every_mistake() {
    let t = TestDir::new();
    t.write("zeppelin.toml", BROKEN);
    let out = t.zeppelin(&["check"]);
    assert_eq!(code(&out), 1);
    assert!(out.stdout.is_empty(), "diagnostics go to stderr");
    insta::assert_snapshot!(t.redact(&out.stderr));
}

#[test]
fn check_json_lists_diagnostics_for_tools() {
    let t = TestDir::new();
    t.write("zeppelin.toml", BROKEN);
    let out = t.zeppelin(&["check", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let found: Vec<_> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}@{}:{}",
                d["kind"].as_str().unwrap(),
                d["line"],
                d["column"]
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            "invalid-name@1:8",
            "port-out-of-range@4:8",
            "unknown-key@5:1",
            "unknown-sub@9:22"
        ]
    );
    assert_eq!(report["diagnostics"][2]["help"], "did you mean `replicas`?");
}

#[test]
fn check_json_on_a_valid_file() {
    let t = TestDir::new();
    t.write(
        "zeppelin.toml",
        "name = \"shop\"\n[sub.web]\nrun = \"true\"\n",
    );
    let out = t.zeppelin(&["check", "--format", "json"]);
    assert_eq!(code(&out), 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["app"], "shop");
    assert_eq!(report["diagnostics"], serde_json::json!([]));
}

#[test]
fn check_finds_the_file_in_a_parent_and_honours_dash_f() {
    let t = TestDir::new();
    t.write("app/zeppelin.toml", "name = \"up\"\n");
    t.write("app/deep/er/.keep", "");
    t.write("other/custom.toml", "name = \"custom\"\n");
    let out = t.zeppelin_in("app/deep/er", &["check"]);
    assert_eq!(code(&out), 0);
    assert!(t.redact(&out.stdout).contains("app `up`"));
    let out = t.zeppelin_in("app", &["-f", "../other/custom.toml", "check"]);
    assert_eq!(code(&out), 0);
    assert!(t.redact(&out.stdout).contains("app `custom`"));
}

#[test]
fn check_without_an_app_file_says_how_to_make_one() {
    let t = TestDir::new();
    let out = t.zeppelin(&["check"]);
    assert_eq!(code(&out), 1);
    insta::assert_snapshot!(t.redact(&out.stderr));
    let out = t.zeppelin(&["check", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .starts_with("no zeppelin.toml in")
    );
}

#[test]
fn check_of_a_missing_dash_f_file_names_it() {
    let t = TestDir::new();
    let out = t.zeppelin(&["-f", "nope.toml", "check"]);
    assert_eq!(code(&out), 1);
    let stderr = t.redact(&out.stderr);
    assert!(
        stderr.contains("cannot read app file [TEMP]/nope.toml"),
        "{stderr}"
    );
}

#[test]
fn schema_is_json_schema_for_the_app_file() {
    let t = TestDir::new();
    let out = t.zeppelin(&["schema"]);
    assert_eq!(code(&out), 0);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["title"], "zeppelin.toml");
    insta::assert_json_snapshot!(schema);
}

#[test]
fn completions_are_generated_for_each_shell() {
    let t = TestDir::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = t.zeppelin(&["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("check") && script.contains("schema"),
            "{shell}"
        );
    }
    let out = t.zeppelin(&["completions", "tcsh"]);
    assert_eq!(code(&out), 2, "an unknown shell is a usage error");
}

#[test]
fn help_and_version() {
    let t = TestDir::new();
    let out = t.zeppelin(&["--help"]);
    assert_eq!(code(&out), 0);
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
    for command in ["new", "check", "schema", "completions"] {
        let out = t.zeppelin(&[command, "--help"]);
        assert_eq!(code(&out), 0);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Example"),
            "`{command} --help` shows an example"
        );
    }
    let out = t.zeppelin(&["--version"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("zeppelin {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn colour_follows_no_color_and_the_flag() {
    let t = TestDir::new();
    t.write("zeppelin.toml", BROKEN);
    let plain = t.zeppelin(&["check"]);
    assert!(!plain.stderr.contains(&0x1b), "NO_COLOR: no escape codes");
    let coloured = t.zeppelin(&["--color", "always", "check"]);
    assert!(
        coloured.stderr.contains(&0x1b),
        "--color always: escape codes"
    );
}

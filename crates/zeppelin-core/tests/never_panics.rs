//! Property tests: whatever the input, parsing returns a model or diagnostics — it never
//! panics, and every diagnostic points inside the file.

use std::path::Path;

use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../../../examples/shop/zeppelin.toml");

/// Parses and checks the invariants every result must hold.
fn check(text: &str) {
    match zeppelin_core::parse(text, Path::new("zeppelin.toml")) {
        Ok(app) => assert!(!app.name.is_empty()),
        Err(err) => {
            assert!(!err.diagnostics.is_empty(), "an error with no diagnostics");
            for d in &err.diagnostics {
                assert!(d.span.start <= d.span.end && d.span.end <= text.len());
                assert!(text.is_char_boundary(d.span.start) || d.span.start == text.len());
                assert!(d.line >= 1 && d.column >= 1);
                assert!(!d.message.is_empty());
            }
        }
    }
}

/// One edit of a text: cut a range out, or put a fragment in.
#[derive(Debug, Clone)]
enum Edit {
    Cut { at: usize, len: usize },
    Insert { at: usize, fragment: String },
}

fn apply(text: &str, edit: &Edit) -> String {
    let boundary = |at: usize| {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    match edit {
        Edit::Cut { at, len } => {
            let start = boundary(*at);
            let end = boundary(start + len);
            let end = end.max(start);
            format!("{}{}", &text[..start], &text[end..])
        }
        Edit::Insert { at, fragment } => {
            let at = boundary(*at);
            format!("{}{fragment}{}", &text[..at], &text[at..])
        }
    }
}

/// Fragments that make TOML and app-file mistakes likely.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("=".to_owned()),
        Just("\n".to_owned()),
        Just("[sub.x]\n".to_owned()),
        Just("port = 99999\n".to_owned()),
        Just("depends_on = [\"web\"]\n".to_owned()),
        Just("replicas = -3\n".to_owned()),
        Just("{ }".to_owned()),
        Just("é".to_owned()),
        "[ -~]{0,12}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Edit::Cut { at, len }),
        (any::<usize>(), fragment()).prop_map(|(at, fragment)| Edit::Insert { at, fragment }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
    }

    #[test]
    fn edited_example_never_panics(edits in prop::collection::vec(edit(), 1..6)) {
        let text = edits.iter().fold(EXAMPLE.to_owned(), |text, e| apply(&text, e));
        check(&text);
    }
}

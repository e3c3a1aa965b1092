//! `zeppelin schema`: the app file's JSON Schema on stdout.

use std::process::ExitCode;

pub(crate) fn schema() -> ExitCode {
    let schema = zeppelin_core::schema::app_file_schema();
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).expect("a schema serializes")
    );
    ExitCode::SUCCESS
}

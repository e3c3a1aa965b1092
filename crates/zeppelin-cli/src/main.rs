//! The `zeppelin` binary: turns arguments into calls and results into output.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: zeppelin APP_FILE");
        return ExitCode::from(2);
    };
    match zeppelin_core::load(std::path::Path::new(&path)) {
        Ok(app) => {
            println!("{} is valid: {} subs", app.name, app.subs.len());
            ExitCode::SUCCESS
        }
        Err(zeppelin_core::LoadError::Invalid(err)) => {
            for d in err.diagnostics {
                eprintln!("{:?}", miette::Report::new(d));
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            ExitCode::FAILURE
        }
    }
}

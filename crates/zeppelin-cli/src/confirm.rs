//! Asking before data is deleted: the one thing Zeppelin does that cannot be undone, so
//! it happens only when a person names what goes, or a script says `--yes`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use miette::miette;

/// Asks at the terminal to type `answer` (a sub or app name) before `what` is deleted.
/// With `yes` nothing is asked; away from a terminal, without `yes`, nothing is deleted.
pub(crate) fn confirm_deletion(what: &str, answer: &str, yes: bool) -> miette::Result<()> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(miette!(
            help = "pass --yes to delete it without asking (from a script or CI)",
            "not deleting {what}: nobody is at a terminal to confirm"
        ));
    }
    let mut stderr = std::io::stderr().lock();
    // A failed prompt write only loses the prompt; the answer still decides.
    let _ = write!(
        stderr,
        "This deletes {what}, and it cannot be undone.\nType `{answer}` to delete it: "
    );
    let _ = stderr.flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|err| miette!("cannot read the answer: {err}"))?;
    if line.trim() == answer {
        Ok(())
    } else {
        Err(miette!(
            "not deleting {what}: the answer was {:?}, not `{answer}`",
            line.trim()
        ))
    }
}

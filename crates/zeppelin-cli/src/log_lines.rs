//! Printing replica output as `web.0 | text`, one colour per sub: the foreground
//! `zeppelin run` stream and `zeppelin logs`.

use std::io::Write;

use zeppelin_local::Stream;

/// ANSI colours given to subs in turn.
pub(crate) const PALETTE: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

/// Prefixes lines with their replica's name (a job's, which has one process, with its
/// name alone: `migrate | line`), aligned and coloured.
#[derive(Debug, Clone)]
pub(crate) struct LinePrinter {
    subs: Vec<String>,
    /// The names among `subs` that are jobs.
    jobs: Vec<String>,
    width: usize,
    color: bool,
}

impl LinePrinter {
    /// A printer for `subs` of `app` (their order picks the colours; job names may be
    /// among them), wide enough for its largest replica number.
    pub(crate) fn for_app(app: &zeppelin_core::App, subs: Vec<String>, color: bool) -> Self {
        let max_replicas = app
            .subs
            .values()
            .map(zeppelin_core::Sub::local_replicas)
            .max()
            .unwrap_or(1);
        let jobs = app.jobs.keys().cloned().collect();
        Self::with_jobs(subs, jobs, max_replicas, color)
    }

    fn with_jobs(subs: Vec<String>, jobs: Vec<String>, max_replicas: u32, color: bool) -> Self {
        let digits = max_replicas.max(1).saturating_sub(1).to_string().len();
        let width = subs
            .iter()
            .map(|name| {
                if jobs.contains(name) {
                    name.len()
                } else {
                    name.len() + 1 + digits
                }
            })
            .max()
            .unwrap_or(0);
        Self {
            subs,
            jobs,
            width,
            color,
        }
    }

    /// Writes one line; errors (a closed pipe) are the caller's to act on.
    pub(crate) fn write(
        &self,
        out: &mut impl Write,
        time: Option<&str>,
        sub: &str,
        replica: u32,
        stream: Stream,
        text: &[u8],
    ) -> std::io::Result<()> {
        let name = if self.jobs.iter().any(|job| job == sub) {
            sub.to_owned()
        } else {
            format!("{sub}.{replica}")
        };
        let time = time.map(|t| format!("{t} ")).unwrap_or_default();
        let marker = if stream == Stream::Err { '!' } else { '|' };
        if self.color {
            let index = self.subs.iter().position(|s| s == sub).unwrap_or(0);
            let colour = PALETTE[index % PALETTE.len()];
            write!(
                out,
                "{time}\x1b[{colour}m{name:<width$} {marker}\x1b[0m ",
                width = self.width
            )?;
        } else {
            write!(out, "{time}{name:<width$} {marker} ", width = self.width)?;
        }
        out.write_all(text)?;
        out.write_all(b"\n")
    }
}

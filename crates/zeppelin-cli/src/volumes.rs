//! What the CLI says about the data of stateful subs: its size in words, that a removed
//! sub's data was kept (where, and the one command that deletes it), and the gap a rolled
//! stateful sub with one replica has.

use zeppelin_local::{AppPaths, Rolled};

/// `0 B`, `512 B`, `4.0 KiB`, `1.5 MiB`, `2.0 GiB`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[expect(clippy::cast_precision_loss, reason = "one decimal is shown")]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// For a sub that left the app, or no longer has volumes: where its data was kept and how to delete it, when it had
/// any.
pub(crate) fn kept(paths: &AppPaths, sub: &str) -> Option<String> {
    let data = zeppelin_local::volumes::sub_data(paths, sub).ok()??;
    Some(format!(
        "zeppelin: kept the data of {sub} ({}) in {}; delete it with `zeppelin stop --delete-data {sub}`",
        size(data.bytes),
        data.path.display()
    ))
}

/// For stateful subs the supervisor just rolled in place: each replica stopped before its
/// replacement started, so a sub with one replica was briefly unavailable.
pub(crate) fn rolled(rolled: &[Rolled]) -> Vec<String> {
    rolled
        .iter()
        .map(|rolled| {
            let gap = if rolled.replicas == 1 {
                "; with one replica it was unavailable meanwhile"
            } else {
                ", highest first"
            };
            format!(
                "zeppelin: {} is stateful: each replica stopped before its replacement started on the same data{gap}",
                rolled.sub
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_like_du_h() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(4096), "4.0 KiB");
        assert_eq!(size(1_572_864), "1.5 MiB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}

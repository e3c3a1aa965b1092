//! Typed values of arguments, parsed by clap (`value_parser = ...`), so a bad value is a
//! usage error that names its flag: durations (`--timeout 90s`, `--since 10m`) and the
//! `SUB=N` pairs of `scale`.

use std::time::Duration;

use zeppelin_core::AppDuration;
use zeppelin_core::duration::DurationError;

/// `500ms`, `90s`, `5m`, `1h`, `1m30s`: the app file's duration syntax.
pub(crate) fn duration(text: &str) -> Result<Duration, DurationError> {
    AppDuration::parse(text).map(AppDuration::get)
}

/// One `SUB=N` pair of `zeppelin scale`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubCount {
    pub(crate) sub: String,
    pub(crate) count: u32,
}

/// `web=4`: a sub and its replica count.
pub(crate) fn sub_count(pair: &str) -> Result<SubCount, String> {
    let (sub, count) = pair
        .split_once('=')
        .ok_or_else(|| format!("{pair:?} is not SUB=N; write it like web=4"))?;
    let count = count
        .parse()
        .map_err(|_| format!("{pair:?}: {count:?} is not a replica count; write it like web=4"))?;
    Ok(SubCount {
        sub: sub.to_owned(),
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_parsed() {
        assert_eq!(
            sub_count("web=4").unwrap(),
            SubCount {
                sub: "web".to_owned(),
                count: 4
            }
        );
        assert_eq!(sub_count("worker=0").unwrap().count, 0);
        assert_eq!(
            sub_count("web").unwrap_err(),
            "\"web\" is not SUB=N; write it like web=4"
        );
        assert_eq!(
            sub_count("web=-1").unwrap_err(),
            "\"web=-1\": \"-1\" is not a replica count; write it like web=4"
        );
    }

    #[test]
    fn durations_are_parsed() {
        assert_eq!(duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(
            duration("10 parsecs")
                .unwrap_err()
                .to_string()
                .starts_with("`10 parsecs` is not a duration")
        );
    }
}

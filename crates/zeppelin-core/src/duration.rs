//! Durations as the app file writes them: `500ms`, `5s`, `2m`, `1h`, or a sum such as `1m30s`.
//!
//! Kept as a newtype over [`std::time::Duration`] so the model prints them back the way a
//! person wrote them (`ps`, `render` annotations, error messages).

use std::fmt;
use std::time::Duration;

/// A duration read from the app file; displays in the same notation it parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(into = "String")]
pub struct AppDuration(Duration);

/// Why a duration string was refused; the decoder turns it into a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a duration: {reason}")]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl AppDuration {
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    pub const fn get(self) -> Duration {
        self.0
    }

    /// Whole seconds, rounded up, for Kubernetes fields that only take seconds.
    pub fn ceil_secs(self) -> u64 {
        let d = self.0;
        d.as_secs() + u64::from(d.subsec_nanos() > 0)
    }

    /// Parses `500ms`, `5s`, `2m`, `1h`, `1d` and sums of them (`1m30s`).
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let err = |reason| DurationError {
            input: input.to_owned(),
            reason,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty; write a number and a unit, such as `5s`"));
        }
        let mut total = Duration::ZERO;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err("expected a number followed by ms, s, m, h or d"));
            }
            let (number, tail) = rest.split_at(digits);
            let number: u64 = number.parse().map_err(|_| err("the number is too large"))?;
            let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
            let (unit, tail) = tail.split_at(unit_len);
            let part = match unit {
                "ms" => Duration::from_millis(number),
                "s" => Duration::from_secs(number),
                "m" => Duration::from_secs(number.saturating_mul(60)),
                "h" => Duration::from_secs(number.saturating_mul(3600)),
                "d" => Duration::from_secs(number.saturating_mul(86_400)),
                "" => return Err(err("a unit is missing; use ms, s, m, h or d")),
                _ => return Err(err("unknown unit; use ms, s, m, h or d")),
            };
            total = total
                .checked_add(part)
                .ok_or_else(|| err("it is too long"))?;
            rest = tail;
        }
        Ok(Self(total))
    }
}

impl From<Duration> for AppDuration {
    fn from(d: Duration) -> Self {
        Self(d)
    }
}

impl From<AppDuration> for String {
    fn from(d: AppDuration) -> Self {
        d.to_string()
    }
}

impl fmt::Display for AppDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis == 0 {
            return f.write_str("0s");
        }
        let units: [(u128, &str); 5] = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1000, "s"),
            (1, "ms"),
        ];
        let mut rest = millis;
        for (size, unit) in units {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_units_and_sums() {
        assert_eq!(
            AppDuration::parse("500ms").unwrap().get(),
            Duration::from_millis(500)
        );
        assert_eq!(
            AppDuration::parse("5s").unwrap().get(),
            Duration::from_secs(5)
        );
        assert_eq!(
            AppDuration::parse("2m").unwrap().get(),
            Duration::from_secs(120)
        );
        assert_eq!(
            AppDuration::parse("1h").unwrap().get(),
            Duration::from_secs(3600)
        );
        assert_eq!(
            AppDuration::parse("1m30s").unwrap().get(),
            Duration::from_secs(90)
        );
    }

    #[test]
    fn refuses_missing_or_unknown_units() {
        assert!(AppDuration::parse("5").is_err());
        assert!(AppDuration::parse("5x").is_err());
        assert!(AppDuration::parse("").is_err());
        assert!(AppDuration::parse("s").is_err());
        assert!(AppDuration::parse("-5s").is_err());
    }

    #[test]
    fn displays_as_parsed() {
        for s in ["500ms", "5s", "2m", "1m30s", "1h", "0s", "1d2h"] {
            assert_eq!(AppDuration::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn ceil_secs_rounds_up() {
        assert_eq!(AppDuration::parse("1500ms").unwrap().ceil_secs(), 2);
        assert_eq!(AppDuration::parse("2s").unwrap().ceil_secs(), 2);
    }
}

//! Kubernetes resource quantities (`250m`, `1.5`, `256Mi`, `1G`, `1e3`), checked with the
//! grammar the API server uses (`k8s.io/apimachinery/pkg/api/resource`), so a value the app
//! file accepts is never refused by the cluster later.

use std::fmt;

/// A quantity as written, plus its value in base units for comparisons.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(into = "String")]
pub struct Quantity {
    text: String,
    value: f64,
}

/// Why a quantity string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a Kubernetes quantity: {reason}")]
pub struct QuantityError {
    input: String,
    reason: &'static str,
}

impl Quantity {
    /// Parses `<number><suffix>` where suffix is a binary SI suffix (`Ki`…`Ei`), a decimal SI
    /// suffix (`m`, `k`, `M`, `G`, `T`, `P`, `E`) or a decimal exponent (`e3`, `E-2`).
    /// Negative quantities are refused: no resource Zeppelin writes can be negative.
    pub fn parse(input: &str) -> Result<Self, QuantityError> {
        let err = |reason| QuantityError {
            input: input.to_owned(),
            reason,
        };
        let s = input;
        if s.is_empty() {
            return Err(err("it is empty; write a number such as `250m` or `256Mi`"));
        }
        let s_unsigned = s.strip_prefix('+').unwrap_or(s);
        if s_unsigned.starts_with('-') {
            return Err(err("it is negative"));
        }
        let number_len = s_unsigned
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let (number, suffix) = s_unsigned.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err(
                "expected a number first, such as `250m`, `1.5` or `256Mi`",
            ));
        }
        let base: f64 = number
            .parse()
            .map_err(|_| err("the number cannot be read"))?;
        let multiplier = match suffix {
            "" => 1.0,
            "Ki" => 1024f64,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            exp if exp.starts_with(['e', 'E']) => {
                let digits = &exp[1..];
                let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("the exponent must be a whole number, as in `1e3`"));
                }
                let exp: i32 = digits
                    .parse()
                    .map_err(|_| err("the exponent is too large"))?;
                10f64.powi(exp)
            }
            _ => {
                return Err(err(
                    "unknown suffix; use m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent",
                ));
            }
        };
        Ok(Self {
            text: input.to_owned(),
            value: base * multiplier,
        })
    }

    /// The value in base units (cores for cpu, bytes for memory).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The quantity exactly as written, which is what Kubernetes objects carry.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<Quantity> for String {
    fn from(q: Quantity) -> Self {
        q.text
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_kubernetes_accepts() {
        let cases = [
            ("250m", 0.25),
            ("1.5", 1.5),
            ("256Mi", 268_435_456.0),
            ("1G", 1e9),
            ("1e3", 1000.0),
            ("1E-3", 0.001),
            (".5", 0.5),
            ("5.", 5.0),
            ("+2", 2.0),
        ];
        for (text, value) in cases {
            let q = Quantity::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!((q.value() - value).abs() < 1e-9, "{text}: {}", q.value());
            assert_eq!(q.as_str(), text);
        }
    }

    #[test]
    fn refuses_what_kubernetes_refuses() {
        for text in [
            "", "abc", "256MB", "1.2.3", "-1", "Mi", "1e", "1ex", "250 m", ".",
        ] {
            assert!(Quantity::parse(text).is_err(), "{text} should be refused");
        }
    }
}

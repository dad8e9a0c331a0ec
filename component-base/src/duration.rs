//! Go-style durations (`15s`, `1m30s`, `1.5h`, `250ms`), the syntax Kubernetes components
//! take for every time flag, parsed once for every Berth binary.

use std::time::Duration;

/// A duration that does not parse, naming the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: expected e.g. 500ms, 15s, 1m30s or 2h")]
pub struct DurationError(pub String);

/// Parses a Go-style duration: `<number><unit>` repeated, units ms, s, m and h, or `0`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let bad = || DurationError(text.to_owned());
    let mut rest = text.trim();
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert!(parse("").is_err());
        assert!(parse("10").is_err());
        assert!(parse("5d").is_err());
    }
}

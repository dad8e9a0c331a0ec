//! Parsing of the flags whose syntax Kubernetes fixed: the `--controllers` list and Go-style
//! durations (`15s`, `1m30s`, `500ms`). Pure functions, so the rules are tested without a
//! process.

use std::collections::BTreeSet;
use std::time::Duration;

/// A flag value that does not parse, naming the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// A `--controllers` entry names no known controller.
    #[error("{name:?} is not in the list of known controllers ({known})")]
    UnknownController {
        /// The entry as written, without its `-`.
        name: String,
        /// The known controllers, comma-separated.
        known: String,
    },
    /// A duration is not a sequence of `<number><unit>` with unit ms, s, m or h.
    #[error("invalid duration {0:?}: expected e.g. 500ms, 15s, 1m30s or 2h")]
    Duration(String),
}

/// The controllers enabled by a `--controllers` list, in the order of `known`.
///
/// `*` enables every controller that is on by default, `name` enables one and `-name`
/// disables one; an explicit entry wins over `*` whatever the order.
pub fn enabled_controllers(
    list: &[String],
    known: &[&'static str],
    on_by_default: &[&'static str],
) -> Result<Vec<&'static str>, FlagError> {
    let mut star = false;
    let mut on = BTreeSet::new();
    let mut off = BTreeSet::new();
    for entry in list.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if entry == "*" {
            star = true;
            continue;
        }
        let (name, enable) = match entry.strip_prefix('-') {
            Some(name) => (name, false),
            None => (entry, true),
        };
        if !known.contains(&name) {
            return Err(FlagError::UnknownController {
                name: name.to_owned(),
                known: known.join(", "),
            });
        }
        if enable {
            on.insert(name);
        } else {
            off.insert(name);
        }
    }
    Ok(known
        .iter()
        .copied()
        .filter(|c| !off.contains(c) && (on.contains(c) || (star && on_by_default.contains(c))))
        .collect())
}

/// Parses a Go-style duration such as `15s`, `1m30s`, `1.5h` or `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, FlagError> {
    berth_component_base::duration::parse(text).map_err(|e| FlagError::Duration(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["a", "b", "c"];
    const DEFAULT: &[&str] = &["a", "b"];

    fn enabled(list: &[&str]) -> Result<Vec<&'static str>, FlagError> {
        let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        enabled_controllers(&list, KNOWN, DEFAULT)
    }

    #[test]
    fn star_enables_the_defaults_only() {
        assert_eq!(enabled(&["*"]).unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn explicit_entries_win_over_star_in_any_order() {
        assert_eq!(enabled(&["*", "-a"]).unwrap(), vec!["b"]);
        assert_eq!(enabled(&["-a", "*"]).unwrap(), vec!["b"]);
        assert_eq!(enabled(&["c", "*"]).unwrap(), vec!["a", "b", "c"]);
        assert_eq!(enabled(&["b"]).unwrap(), vec!["b"]);
        assert!(enabled(&[]).unwrap().is_empty());
    }

    #[test]
    fn unknown_names_are_refused() {
        let err = enabled(&["*", "-nope"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"nope\" is not in the list of known controllers (a, b, c)"
        );
    }

    #[test]
    fn durations_parse_as_go_writes_them() {
        assert_eq!(parse_duration("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "15", "s", "1x", "-1s", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
    }
}

//! Times as tables print them: ages such as `5m` or `2d3h`, and creation times.
//!
//! Objects carry RFC 3339 timestamps; a missing or unreadable one counts as Kubernetes' zero
//! time, which tables print as `<unknown>`. The current time is passed in by the caller, so
//! the module stays pure and tests are exact.

use serde_json::Value;

use super::value::opt_str_at;
use crate::k8s::jiff::Timestamp;

/// Seconds from the Unix epoch to `0001-01-01T00:00:00Z`, Kubernetes' zero time.
const ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Nanoseconds in a second.
const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Reads an RFC 3339 timestamp; the zero time and unreadable text give `None`.
pub(super) fn parse_time(text: &str) -> Option<Timestamp> {
    let time: Timestamp = text.trim().parse().ok()?;
    if time.as_second() == ZERO_TIME_SECONDS && time.subsec_nanosecond() == 0 {
        return None;
    }
    Some(time)
}

/// The timestamp at `path` in `object`, `None` when absent, zero or unreadable.
pub(super) fn time_at(object: &Value, path: &[&str]) -> Option<Timestamp> {
    opt_str_at(object, path).and_then(parse_time)
}

/// Whole seconds from `earlier` to `later` (negative when `later` comes first).
///
/// Like Kubernetes, the difference saturates at about 292 years and drops the fraction of a
/// second towards zero.
pub(super) fn seconds_between(earlier: Timestamp, later: Timestamp) -> i64 {
    let nanos = |t: Timestamp| {
        i128::from(t.as_second()) * NANOS_PER_SECOND + i128::from(t.subsec_nanosecond())
    };
    let difference =
        (nanos(later) - nanos(earlier)).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    i64::try_from(difference / NANOS_PER_SECOND).unwrap_or(0)
}

/// The instant `now_unix` seconds after the Unix epoch, clamped to the range a timestamp holds.
pub(super) fn timestamp_from_unix(now_unix: i64) -> Timestamp {
    Timestamp::from_second(now_unix).unwrap_or(if now_unix < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// The age of `time` at `now`, or `<unknown>` for the zero time.
pub(super) fn since(time: Option<Timestamp>, now: Timestamp) -> String {
    match time {
        Some(time) => human_duration(seconds_between(time, now)),
        None => "<unknown>".to_owned(),
    }
}

/// The age column of an object: the time since `metadata.creationTimestamp`.
pub(super) fn age(object: &Value, now: Timestamp) -> String {
    since(time_at(object, &["metadata", "creationTimestamp"]), now)
}

/// A creation time as the fallback table prints it: RFC 3339 in UTC, whole seconds.
pub(super) fn created_at(object: &Value) -> String {
    match time_at(object, &["metadata", "creationTimestamp"]) {
        Some(time) => time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".to_owned(),
    }
}

/// Formats a duration in whole seconds the way `kubectl get` shows ages, with two or three
/// significant figures: `45s`, `119s`, `2m5s`, `15m`, `3h4m`, `20h`, `2d3h`, `30d`, `2y30d`,
/// `9y`.
///
/// Up to one second in the future counts as `0s` (clocks drift); anything further ahead is
/// `<invalid>`. The thresholds are Kubernetes': seconds below two minutes, minutes and
/// seconds below ten minutes, minutes below three hours, hours and minutes below eight
/// hours, hours below two days, days and hours below eight days, days below two years,
/// years and days below eight years, then years.
pub fn human_duration(seconds: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    const YEAR: i64 = 365 * DAY;

    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 2 * MINUTE {
        return format!("{seconds}s");
    }
    let minutes = seconds / MINUTE;
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % MINUTE, "s");
    }
    if minutes < 3 * 60 {
        return format!("{minutes}m");
    }
    let hours = seconds / HOUR;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = seconds / DAY;
    if hours < 8 * 24 {
        return with_remainder(days, "d", hours % 24, "h");
    }
    if hours < 2 * 365 * 24 {
        return format!("{days}d");
    }
    let years = seconds / YEAR;
    if hours < 8 * 365 * 24 {
        return with_remainder(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

/// `5m` when the smaller unit is zero, `5m3s` otherwise.
fn with_remainder(big: i64, big_unit: &str, small: i64, small_unit: &str) -> String {
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small}{small_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn human_duration_matches_kubectl() {
        const M: i64 = 60;
        const H: i64 = 3600;
        const D: i64 = 24 * H;
        const Y: i64 = 365 * D;
        let cases: &[(i64, &str)] = &[
            (-5, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (1, "1s"),
            (59, "59s"),
            (60, "60s"),
            (119, "119s"),
            (2 * M, "2m"),
            (2 * M + 3, "2m3s"),
            (5 * M, "5m"),
            (9 * M + 59, "9m59s"),
            (10 * M, "10m"),
            (10 * M + 30, "10m"),
            (179 * M + 59, "179m"),
            (3 * H, "3h"),
            (3 * H + 4 * M + 5, "3h4m"),
            (7 * H + 59 * M, "7h59m"),
            (8 * H, "8h"),
            (8 * H + 30 * M, "8h"),
            (47 * H + 59 * M, "47h"),
            (2 * D, "2d"),
            (2 * D + 3 * H, "2d3h"),
            (7 * D + 23 * H + 59 * M, "7d23h"),
            (8 * D, "8d"),
            (8 * D + 5 * H, "8d"),
            (729 * D, "729d"),
            (2 * Y, "2y"),
            (2 * Y + 30 * D, "2y30d"),
            (7 * Y + 364 * D, "7y364d"),
            (8 * Y, "8y"),
            (8 * Y + 100 * D, "8y"),
            (i64::MAX, "292471208677y"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human_duration(*seconds), *expected, "{seconds} seconds");
        }
    }

    #[test]
    fn timestamps_parse_and_zero_is_unknown() {
        let now = timestamp_from_unix(1_795_701_600); // 2026-11-26T14:00:00Z
        let cases: &[(&str, &str)] = &[
            ("2026-11-26T13:55:00Z", "5m"),
            ("2026-11-26T13:59:59.999Z", "0s"),
            ("2026-11-26T14:00:01Z", "0s"),
            ("2026-11-26T14:00:02Z", "<invalid>"),
            ("2026-11-26T14:55:00+01:00", "5m"),
            ("0001-01-01T00:00:00Z", "<unknown>"),
            ("yesterday", "<unknown>"),
            ("", "<unknown>"),
        ];
        for (text, expected) in cases {
            assert_eq!(since(parse_time(text), now), *expected, "{text}");
        }
    }

    #[test]
    fn differences_truncate_towards_zero() {
        let base = timestamp_from_unix(1_000);
        let later: Timestamp = "1970-01-01T00:16:41.9Z".parse().unwrap_or(base);
        assert_eq!(seconds_between(base, later), 1);
        assert_eq!(seconds_between(later, base), -1);
        assert_eq!(
            seconds_between(Timestamp::MIN, Timestamp::MAX),
            i64::MAX / 1_000_000_000
        );
    }

    #[test]
    fn created_at_prints_utc_whole_seconds() {
        let cases = [
            (
                json!({"metadata": {"creationTimestamp": "2026-11-26T14:00:00Z"}}),
                "2026-11-26T14:00:00Z",
            ),
            (
                json!({"metadata": {"creationTimestamp": "2026-11-26T15:00:00.5+01:00"}}),
                "2026-11-26T14:00:00Z",
            ),
            (json!({"metadata": {}}), "0001-01-01T00:00:00Z"),
            (
                json!({"metadata": {"creationTimestamp": 5}}),
                "0001-01-01T00:00:00Z",
            ),
        ];
        for (object, expected) in cases {
            assert_eq!(created_at(&object), expected, "{object}");
        }
    }
}

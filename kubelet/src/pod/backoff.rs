//! Restart and image-pull back-off: 10 s after the first failure, doubling up to five
//! minutes, counted from the failure's own time and forgotten after ten quiet minutes. The
//! clock is passed in, so the rule is tested without waiting.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// The first delay.
pub const INITIAL: Duration = Duration::from_secs(10);
/// The longest delay.
pub const MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Entry {
    delay: Duration,
    last_failure: SystemTime,
}

/// Back-off state per key (a container name, or `image:<container>`).
#[derive(Debug, Default)]
pub struct Backoff {
    entries: HashMap<String, Entry>,
}

impl Backoff {
    /// If a failure at `failed_at` must still wait at `now`, how long; otherwise records the
    /// failure (doubling the next delay) and returns `None`, meaning retry now.
    pub fn wait_or_record(
        &mut self,
        key: &str,
        failed_at: SystemTime,
        now: SystemTime,
    ) -> Option<Duration> {
        if let Some(e) = self.entries.get(key) {
            let since = now.duration_since(failed_at).unwrap_or_default();
            let expired = failed_at.duration_since(e.last_failure).unwrap_or_default() > 2 * MAX;
            if since < e.delay && !expired {
                return Some(e.delay - since);
            }
        }
        let delay = match self.entries.get(key) {
            Some(e) if failed_at.duration_since(e.last_failure).unwrap_or_default() <= 2 * MAX => {
                (e.delay * 2).min(MAX)
            }
            _ => INITIAL,
        };
        self.entries.insert(
            key.to_string(),
            Entry {
                delay,
                last_failure: failed_at,
            },
        );
        None
    }

    /// The current delay of `key`, if any failure was recorded.
    pub fn delay(&self, key: &str) -> Option<Duration> {
        self.entries.get(key).map(|e| e.delay)
    }

    /// Forgets `key`.
    pub fn reset(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[test]
    fn delays_double_up_to_five_minutes() {
        let mut b = Backoff::default();
        // The first failure restarts at once.
        assert_eq!(b.wait_or_record("c", t(0), t(0)), None);
        assert_eq!(b.delay("c"), Some(INITIAL));
        // The second waits 10 s from its own time, then restarts.
        assert_eq!(b.wait_or_record("c", t(1), t(1)), Some(INITIAL));
        assert_eq!(
            b.wait_or_record("c", t(1), t(5)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(b.wait_or_record("c", t(1), t(11)), None);
        assert_eq!(b.delay("c"), Some(Duration::from_secs(20)));
        // The third waits 20 s.
        assert_eq!(
            b.wait_or_record("c", t(12), t(15)),
            Some(Duration::from_secs(17))
        );
        let mut at = 40;
        for _ in 0..10 {
            at += 1;
            let _ = b.wait_or_record("c", t(at), t(at + 400));
        }
        assert_eq!(b.delay("c"), Some(MAX));
    }

    #[test]
    fn a_long_quiet_period_starts_over() {
        let mut b = Backoff::default();
        assert_eq!(b.wait_or_record("c", t(0), t(0)), None);
        assert_eq!(b.wait_or_record("c", t(5), t(15)), None);
        assert_eq!(b.delay("c"), Some(Duration::from_secs(20)));
        assert_eq!(b.wait_or_record("c", t(5000), t(5000)), None);
        assert_eq!(b.delay("c"), Some(INITIAL));
        b.reset("c");
        assert_eq!(b.delay("c"), None);
    }
}

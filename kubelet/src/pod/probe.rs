//! Probe bookkeeping: when a container's startup, liveness and readiness probes are due and
//! what their results add up to, per upstream's thresholds. Pure; the checks themselves are
//! in [`super::prober`].

use berth_api_types::k8s::api::core::v1::Probe;
use std::time::{Duration, Instant};

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// `startupProbe`.
    Startup,
    /// `livenessProbe`.
    Liveness,
    /// `readinessProbe`.
    Readiness,
}

impl ProbeKind {
    /// The word upstream's events use (`Liveness probe failed: ...`).
    pub fn word(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }
}

/// A probe's timing and thresholds, with upstream's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Wait after the container started before the first check.
    pub initial_delay: Duration,
    /// Between checks.
    pub period: Duration,
    /// One check's limit.
    pub timeout: Duration,
    /// Consecutive successes that make the result a success.
    pub success_threshold: u32,
    /// Consecutive failures that make the result a failure.
    pub failure_threshold: u32,
}

impl Timing {
    /// Reads a probe's settings (defaults: 0 s delay, 10 s period, 1 s timeout, thresholds
    /// 1 and 3).
    pub fn of(p: &Probe) -> Timing {
        let secs = |v: Option<i32>, d: i32| Duration::from_secs(v.unwrap_or(d).max(0) as u64);
        Timing {
            initial_delay: secs(p.initial_delay_seconds, 0),
            period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
            timeout: secs(p.timeout_seconds, 1).max(Duration::from_secs(1)),
            success_threshold: p.success_threshold.unwrap_or(1).max(1) as u32,
            failure_threshold: p.failure_threshold.unwrap_or(3).max(1) as u32,
        }
    }
}

/// One probe of one container start.
#[derive(Debug, Clone)]
pub struct ProbeState {
    /// Its settings.
    pub timing: Timing,
    successes: u32,
    failures: u32,
    /// The settled result: `None` until a threshold was reached.
    pub result: Option<bool>,
    /// When the next check is due.
    pub next: Option<Instant>,
}

/// What a recorded check changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The settled result stays as it was.
    Unchanged,
    /// The probe now succeeds.
    Succeeded,
    /// The probe now fails (the failure threshold was reached).
    Failed,
}

impl ProbeState {
    /// A fresh probe for a container that started at `started`.
    pub fn new(timing: Timing, started: Instant) -> ProbeState {
        ProbeState {
            timing,
            successes: 0,
            failures: 0,
            result: None,
            next: Some(started + timing.initial_delay),
        }
    }

    /// Whether a check is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.next.is_some_and(|n| n <= now)
    }

    /// Records one check at `now`.
    pub fn record(&mut self, ok: bool, now: Instant) -> Outcome {
        self.next = Some(now + self.timing.period);
        if ok {
            self.failures = 0;
            self.successes += 1;
            if self.successes >= self.timing.success_threshold && self.result != Some(true) {
                self.result = Some(true);
                return Outcome::Succeeded;
            }
        } else {
            self.successes = 0;
            self.failures += 1;
            if self.failures >= self.timing.failure_threshold {
                self.failures = 0;
                self.result = Some(false);
                return Outcome::Failed;
            }
        }
        Outcome::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(success: u32, failure: u32) -> Timing {
        Timing {
            initial_delay: Duration::from_secs(5),
            period: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    #[test]
    fn defaults_follow_upstream() {
        let t = Timing::of(&Probe::default());
        assert_eq!(t.period, Duration::from_secs(10));
        assert_eq!(t.timeout, Duration::from_secs(1));
        assert_eq!((t.success_threshold, t.failure_threshold), (1, 3));
    }

    #[test]
    fn thresholds_and_periods() {
        let start = Instant::now();
        let mut p = ProbeState::new(timing(2, 3), start);
        assert!(!p.due(start));
        assert!(p.due(start + Duration::from_secs(5)));
        let t = start + Duration::from_secs(5);
        assert_eq!(p.record(true, t), Outcome::Unchanged);
        assert!(!p.due(t + Duration::from_secs(1)));
        assert_eq!(p.record(true, t), Outcome::Succeeded);
        assert_eq!(p.record(true, t), Outcome::Unchanged);
        assert_eq!(p.record(false, t), Outcome::Unchanged);
        assert_eq!(p.record(false, t), Outcome::Unchanged);
        assert_eq!(p.record(false, t), Outcome::Failed);
        assert_eq!(p.result, Some(false));
        // A success in between resets the failure count.
        assert_eq!(p.record(false, t), Outcome::Unchanged);
        assert_eq!(p.record(true, t), Outcome::Unchanged);
        assert_eq!(p.record(false, t), Outcome::Unchanged);
    }
}

//! Events expire: a periodic sweep deletes core/v1 and events.k8s.io/v1 Events last observed
//! longer ago than `--event-ttl` (one hour by default), so a busy cluster's Events do not
//! grow without bound.
//!
//! An Event's last observation is the latest of the times it carries (its series' last
//! observed time, event time, last and first timestamps, and its creation time), so an
//! Event a recorder keeps counting stays. Each delete is guarded by the resourceVersion the
//! sweep read: an Event updated meanwhile is left for the next sweep.

use crate::registry::{ListOptions, Registry};
use crate::request::ResourceRequest;
use jiff::Timestamp;
use serde_json::Value;
use std::time::Duration;

/// The time fields of either Event version that say when it was last seen.
const TIME_FIELDS: &[&str] = &[
    "/series/lastObservedTime",
    "/eventTime",
    "/lastTimestamp",
    "/firstTimestamp",
    "/deprecatedLastTimestamp",
    "/deprecatedFirstTimestamp",
    "/metadata/creationTimestamp",
];

/// Events read per page while sweeping.
const PAGE: usize = 500;

/// When `event` was last observed: the latest time it carries, if any.
pub fn last_observed(event: &Value) -> Option<Timestamp> {
    TIME_FIELDS
        .iter()
        .filter_map(|p| event.pointer(p)?.as_str()?.parse::<Timestamp>().ok())
        .max()
}

/// Whether `event` was last observed more than `ttl` before `now`. An Event without any time
/// is kept (nothing says it is old).
pub fn expired(event: &Value, now: Timestamp, ttl: Duration) -> bool {
    let Ok(ttl) = jiff::SignedDuration::try_from(ttl) else {
        return false;
    };
    last_observed(event)
        .and_then(|t| t.checked_add(ttl).ok())
        .is_some_and(|deadline| deadline < now)
}

/// How often to sweep for a `ttl`: a tenth of it, between one second and one minute.
pub fn period(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

fn events_request(group: &str, verb: &'static str) -> Option<ResourceRequest> {
    Some(ResourceRequest {
        resource: berth_api_types::catalog::find(group, "events")?,
        namespace: None,
        name: None,
        subresource: None,
        verb,
    })
}

/// Deletes every expired Event of both versions at `now`; returns how many went.
pub async fn sweep(registry: &Registry, now: Timestamp, ttl: Duration) -> usize {
    let mut deleted = 0;
    for group in ["", "events.k8s.io"] {
        let Some(list) = events_request(group, "list") else {
            continue;
        };
        let mut opts = ListOptions {
            limit: PAGE,
            ..ListOptions::default()
        };
        loop {
            let page = match registry.list(&list, &opts).await {
                Ok(page) => page,
                Err(err) => {
                    tracing::warn!(group, error = %err.message, "listing events to expire failed");
                    break;
                }
            };
            for event in page.items.iter().filter(|e| expired(e, now, ttl)) {
                let meta = &event["metadata"];
                let (Some(ns), Some(name)) = (meta["namespace"].as_str(), meta["name"].as_str())
                else {
                    continue;
                };
                let Some(mut delete) = events_request(group, "delete") else {
                    continue;
                };
                delete.namespace = Some(ns.to_owned());
                let options = serde_json::json!({"preconditions": {
                    "resourceVersion": meta["resourceVersion"]}});
                match registry.delete(&delete, name, &options, false).await {
                    Ok(_) => deleted += 1,
                    // Gone or changed meanwhile: the next sweep looks again.
                    Err(err) if err.code == 404 || err.code == 409 => {}
                    Err(err) => {
                        tracing::warn!(event = %format!("{ns}/{name}"), error = %err.message, "expiring an event failed");
                    }
                }
            }
            match page.continue_token {
                Some(token) => opts.continue_token = Some(token),
                None => break,
            }
        }
    }
    deleted
}

/// Sweeps every [`period`] of `ttl` until the process stops.
pub async fn run(registry: Registry, ttl: Duration) {
    let mut tick = tokio::time::interval(period(ttl));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let deleted = sweep(&registry, Timestamp::now(), ttl).await;
        if deleted > 0 {
            tracing::debug!(deleted, "expired events deleted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_latest_time_an_event_carries_counts() {
        let core = json!({
            "metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"},
            "firstTimestamp": "2026-01-01T00:00:00Z",
            "lastTimestamp": "2026-01-01T02:00:00Z",
        });
        assert_eq!(last_observed(&core), Some(at("2026-01-01T02:00:00Z")));
        let series = json!({
            "metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"},
            "eventTime": "2026-01-01T00:00:00.123456Z",
            "series": {"count": 3, "lastObservedTime": "2026-01-01T03:00:00.000001Z"},
        });
        assert_eq!(
            last_observed(&series),
            Some(at("2026-01-01T03:00:00.000001Z"))
        );
        assert_eq!(last_observed(&json!({"metadata": {}})), None);
    }

    #[test]
    fn events_older_than_the_ttl_expire() {
        let hour = Duration::from_secs(3600);
        let e = json!({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"}, "lastTimestamp": "2026-01-01T01:00:00Z"});
        assert!(!expired(&e, at("2026-01-01T01:59:59Z"), hour));
        assert!(!expired(&e, at("2026-01-01T02:00:00Z"), hour));
        assert!(expired(&e, at("2026-01-01T02:00:01Z"), hour));
        assert!(!expired(&json!({}), at("2030-01-01T00:00:00Z"), hour));
    }

    #[test]
    fn sweeps_run_at_a_tenth_of_the_ttl_within_bounds() {
        assert_eq!(period(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(period(Duration::from_secs(30)), Duration::from_secs(3));
        assert_eq!(period(Duration::from_secs(2)), Duration::from_secs(1));
    }
}

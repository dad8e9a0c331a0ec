//! Leader election on a `coordination.k8s.io/v1` Lease, so several copies of a component can
//! run and exactly one of them acts.
//!
//! A candidate owns the Lease while `renewTime + leaseDurationSeconds` lies in the future and
//! `holderIdentity` names it. It renews every retry period; when it cannot renew for the whole
//! renew deadline it has lost the Lease and must stop acting (the caller exits, as upstream
//! components do). Every write carries the resourceVersion it read, so two candidates racing
//! for an expired Lease cannot both win. Clocks of the candidates are assumed to agree to well
//! within the lease duration, the same assumption Kubernetes makes.
//!
//! [`decide`] is the pure rule; [`LeaderElector`] does the I/O.

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use std::future::Future;
use std::time::Duration;

/// Why leader election stopped.
#[derive(Debug, thiserror::Error)]
pub enum LeaderElectionError {
    /// The Lease could not be renewed within the renew deadline; another candidate may hold it.
    #[error("lost the lease {namespace}/{name}: not renewed within {deadline:?}")]
    Lost {
        /// Namespace of the Lease.
        namespace: String,
        /// Name of the Lease.
        name: String,
        /// The renew deadline that passed.
        deadline: Duration,
    },
}

/// Where the Lease lives, who competes for it, and its timing.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Namespace of the Lease (`kube-system` for control-plane components).
    pub namespace: String,
    /// Name of the Lease (the component's name).
    pub name: String,
    /// This candidate's identity, unique among candidates (host name and a random suffix).
    pub identity: String,
    /// How long a Lease stays valid after its last renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up.
    pub renew_deadline: Duration,
    /// How long candidates wait between attempts.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// A configuration with Kubernetes' default timing (15 s lease, 10 s renew deadline, 2 s
    /// retry period).
    pub fn new(namespace: &str, name: &str, identity: &str) -> LeaseConfig {
        LeaseConfig {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// What a candidate should do with a Lease it has just read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Take the Lease: it is free or expired.
    Acquire,
    /// Extend the Lease: this candidate holds it.
    Renew,
    /// Leave it: another candidate holds a valid Lease.
    Follow {
        /// The current holder.
        holder: String,
    },
}

/// Decides what `identity` does with `spec` at `now`.
pub fn decide(spec: &LeaseSpec, identity: &str, now: Timestamp) -> Decision {
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    if holder.is_empty() {
        return Decision::Acquire;
    }
    if holder == identity {
        return Decision::Renew;
    }
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0).max(0));
    let expired = match &spec.renew_time {
        Some(MicroTime(renewed)) => renewed
            .checked_add(jiff::SignedDuration::from_secs(duration))
            .is_ok_and(|until| until <= now),
        None => true,
    };
    if expired {
        Decision::Acquire
    } else {
        Decision::Follow {
            holder: holder.to_owned(),
        }
    }
}

/// Lease duration in whole seconds, at least one.
fn whole_seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs().max(1)).unwrap_or(i32::MAX)
}

/// Competes for one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
}

impl LeaderElector {
    /// An elector for `config`, talking to the API through `client`.
    pub fn new(client: kube::Client, config: LeaseConfig) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
        }
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// One attempt to acquire or renew; `Ok(true)` when this candidate holds the Lease after it.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let cfg = &self.config;
        let fresh = |transitions: i32, acquired: Option<MicroTime>| LeaseSpec {
            holder_identity: Some(cfg.identity.clone()),
            lease_duration_seconds: Some(whole_seconds(cfg.lease_duration)),
            acquire_time: acquired.or(Some(MicroTime(now))),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        };
        let Some(mut lease) = self.api.get_opt(&cfg.name).await? else {
            let mut lease = Lease {
                spec: Some(fresh(0, None)),
                ..Lease::default()
            };
            lease.metadata.name = Some(cfg.name.clone());
            lease.metadata.namespace = Some(cfg.namespace.clone());
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0);
        lease.spec = Some(match decide(&spec, &cfg.identity, now) {
            Decision::Follow { .. } => return Ok(false),
            Decision::Acquire => fresh(transitions.saturating_add(1), None),
            Decision::Renew => fresh(transitions, spec.acquire_time),
        });
        match self
            .api
            .replace(&cfg.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            // Another candidate wrote first; it wins this round.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until this candidate holds the Lease.
    pub async fn acquire(&self) {
        let mut announced = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(
                        lease = %format!("{}/{}", self.config.namespace, self.config.name),
                        identity = %self.config.identity,
                        "acquired the lease"
                    );
                    return;
                }
                Ok(false) if !announced => {
                    announced = true;
                    tracing::info!(
                        lease = %format!("{}/{}", self.config.namespace, self.config.name),
                        identity = %self.config.identity,
                        "another candidate holds the lease; waiting"
                    );
                }
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "reading the lease failed"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Keeps renewing the held Lease; returns when a renewal did not succeed within the renew
    /// deadline.
    pub async fn keep_renewing(&self) -> LeaderElectionError {
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            let deadline = tokio::time::Instant::now() + self.config.renew_deadline;
            loop {
                let attempt = tokio::time::timeout_at(deadline, self.try_acquire_or_renew()).await;
                match attempt {
                    Ok(Ok(true)) => break,
                    Ok(Ok(false)) => return self.lost(),
                    Ok(Err(err)) => tracing::warn!(error = %err, "renewing the lease failed"),
                    Err(_) => return self.lost(),
                }
                if tokio::time::Instant::now() + self.config.retry_period >= deadline {
                    return self.lost();
                }
                tokio::time::sleep(self.config.retry_period).await;
            }
        }
    }

    fn lost(&self) -> LeaderElectionError {
        LeaderElectionError::Lost {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            deadline: self.config.renew_deadline,
        }
    }

    /// Acquires the Lease, then runs `leading` while renewing it. Returns `Ok` when `leading`
    /// finishes, the error when the Lease is lost first (then `leading` is dropped).
    pub async fn run<F: Future<Output = ()>>(&self, leading: F) -> Result<(), LeaderElectionError> {
        self.acquire().await;
        tokio::select! {
            () = leading => Ok(()),
            err = self.keep_renewing() => Err(err),
        }
    }

    /// Gives the Lease up if this candidate holds it, so another takes over at once instead of
    /// after the lease duration.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        let now = MicroTime(Timestamp::now());
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now.clone());
        spec.acquire_time = Some(now);
        lease.spec = Some(spec);
        self.api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn held(holder: &str, renewed: &str, seconds: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            renew_time: Some(MicroTime(at(renewed))),
            lease_duration_seconds: Some(seconds),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn free_lease_is_acquired() {
        let now = at("2026-01-01T00:00:00Z");
        assert_eq!(decide(&LeaseSpec::default(), "a", now), Decision::Acquire);
        let mut released = held("", "2026-01-01T00:00:00Z", 15);
        assert_eq!(decide(&released, "a", now), Decision::Acquire);
        released.holder_identity = None;
        assert_eq!(decide(&released, "a", now), Decision::Acquire);
    }

    #[test]
    fn own_lease_is_renewed_even_when_expired() {
        let spec = held("a", "2025-01-01T00:00:00Z", 15);
        assert_eq!(
            decide(&spec, "a", at("2026-01-01T00:00:00Z")),
            Decision::Renew
        );
    }

    #[test]
    fn valid_foreign_lease_is_followed() {
        let spec = held("b", "2026-01-01T00:00:00Z", 15);
        assert_eq!(
            decide(&spec, "a", at("2026-01-01T00:00:14.999Z")),
            Decision::Follow { holder: "b".into() }
        );
    }

    #[test]
    fn expired_foreign_lease_is_taken() {
        let spec = held("b", "2026-01-01T00:00:00Z", 15);
        assert_eq!(
            decide(&spec, "a", at("2026-01-01T00:00:15Z")),
            Decision::Acquire
        );
        let never_renewed = LeaseSpec {
            holder_identity: Some("b".into()),
            ..LeaseSpec::default()
        };
        assert_eq!(
            decide(&never_renewed, "a", at("2026-01-01T00:00:00Z")),
            Decision::Acquire
        );
    }
}

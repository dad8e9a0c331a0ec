//! Leader election on a `coordination.k8s.io` Lease, so only one of several scheduler
//! replicas places pods at a time.
//!
//! Kept behind [`lead`] so a shared implementation in `component-base` can replace it. The
//! timing is upstream's default: a lease lasts 15 s, the leader renews every 2 s and gives up
//! (the process stops) when it could not renew for 10 s.

use berth_api_types::k8s::api::coordination::v1::{Lease, LeaseSpec};
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use berth_api_types::k8s::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use kube::Client;
use std::time::Duration;

/// How long a lease stays valid without renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How long the leader keeps trying to renew before it gives up.
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often candidates and the leader look at the lease.
pub const RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Why leadership ended.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The lease could not be renewed within the renew deadline.
    #[error("lost the lease {namespace}/{name}: could not renew it for {RENEW_DEADLINE:?}")]
    Lost {
        /// The lease's namespace.
        namespace: String,
        /// The lease's name.
        name: String,
    },
}

fn expired(lease: &Lease, now: Timestamp) -> bool {
    let Some(spec) = lease.spec.as_ref() else {
        return true;
    };
    let Some(renew) = spec.renew_time.as_ref() else {
        return true;
    };
    let secs = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    renew.0 + SignedDuration::from_secs(secs) < now
}

/// Tries once to take or renew the lease; returns whether `identity` holds it now.
async fn try_acquire(api: &Api<Lease>, name: &str, identity: &str) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let current = api.get_opt(name).await?;
    let mut lease = current.clone().unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        spec: None,
    });
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let mine = spec.holder_identity.as_deref() == Some(identity);
    if current.is_some() && !mine && !expired(&lease, now) {
        return Ok(false);
    }
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    if !mine {
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        spec.holder_identity = Some(identity.to_owned());
    }
    spec.renew_time = Some(MicroTime(now));
    spec.lease_duration_seconds = Some(LEASE_DURATION.as_secs() as i32);
    let written = if current.is_some() {
        api.replace(name, &PostParams::default(), &lease).await
    } else {
        api.create(&PostParams::default(), &lease).await
    };
    match written {
        Ok(_) => Ok(true),
        // Someone else wrote first: not ours this round.
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Waits until `identity` holds the Lease `namespace/name`, then runs `work` while renewing
/// it. Returns when `work` returns, or with [`LeaderError::Lost`] when renewal fails.
pub async fn lead<F, T>(
    client: Client,
    namespace: &str,
    name: &str,
    identity: &str,
    work: F,
) -> Result<T, LeaderError>
where
    F: std::future::Future<Output = T>,
{
    let api: Api<Lease> = Api::namespaced(client, namespace);
    loop {
        match try_acquire(&api, name, identity).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => tracing::warn!(lease = name, error = %e, "cannot read or write the lease"),
        }
        tokio::time::sleep(RETRY_PERIOD).await;
    }
    tracing::info!(lease = name, identity, "became the leader");
    let renew = async {
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(RETRY_PERIOD).await;
            match try_acquire(&api, name, identity).await {
                Ok(true) => last_ok = tokio::time::Instant::now(),
                Ok(false) => return,
                Err(e) => tracing::warn!(lease = name, error = %e, "cannot renew the lease"),
            }
            if last_ok.elapsed() > RENEW_DEADLINE {
                return;
            }
        }
    };
    tokio::select! {
        out = work => Ok(out),
        () = renew => Err(LeaderError::Lost { namespace: namespace.to_owned(), name: name.to_owned() }),
    }
}

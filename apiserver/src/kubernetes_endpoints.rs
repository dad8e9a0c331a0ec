//! The `kubernetes` Service's Endpoints and EndpointSlice name every live API server.
//!
//! Each server keeps an identity Lease in `kube-system`, named from its host name as
//! Kubernetes names it (`apiserver-<hash>`, labelled `apiserver.kubernetes.io/identity:
//! kube-apiserver` and `kubernetes.io/hostname`), renewed every [`RENEW`] and annotated with
//! the address and port it advertises. Every [`RENEW`] each server also rewrites the
//! `default/kubernetes` Endpoints and EndpointSlice from the Leases renewed within
//! [`ENDPOINT_TTL`] that advertise its own port, its own address always included: several
//! servers sharing a store converge on the same list, and a server that stops renewing drops
//! out. A server shutting down cleanly ([`Handle::withdraw`]) deletes its identity Lease and
//! rewrites the Endpoints and EndpointSlice without itself at once, so clients stop being sent
//! to it before its Lease would have expired. Loopback addresses are never listed (no pod
//! could reach them).

use crate::registry::{ListOptions, Registry};
use crate::request::ResourceRequest;
use crate::status::ApiResult;
use jiff::Timestamp;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How often the identity Lease is renewed and the endpoints reconciled.
pub const RENEW: Duration = Duration::from_secs(10);
/// How long after its last renewal a server still counts as live for the endpoints.
pub const ENDPOINT_TTL: Duration = Duration::from_secs(15);
/// The identity Lease's duration, as Kubernetes announces it.
pub const IDENTITY_LEASE_SECONDS: i64 = 3600;
/// The label every identity Lease carries.
pub const IDENTITY_LABEL: &str = "apiserver.kubernetes.io/identity";
/// The annotation holding the `address:port` a server advertises.
pub const ENDPOINT_ANNOTATION: &str = "berth/advertise-endpoint";
const NAMESPACE: &str = "kube-system";
const SERVICE: &str = "kubernetes";

/// Lowercase RFC 4648 base32 without padding.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The server identity (and identity Lease name) for `hostname`: `apiserver-` and the
/// lowercase base32 of the first 16 bytes of the SHA-256 of the length-prefixed host name
/// and the length-prefixed `kube-apiserver`.
pub fn identity(hostname: &str) -> String {
    let mut data = Vec::new();
    for part in [hostname, "kube-apiserver"] {
        let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(&part.as_bytes()[..usize::from(len)]);
    }
    let hash = ring::digest::digest(&ring::digest::SHA256, &data);
    format!("apiserver-{}", base32_lower(&hash.as_ref()[..16]))
}

/// The identity Lease this server writes at `now`.
pub fn identity_lease(
    id: &str,
    holder: &str,
    hostname: &str,
    endpoint: SocketAddr,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": id,
            "namespace": NAMESPACE,
            "labels": {IDENTITY_LABEL: "kube-apiserver", "kubernetes.io/hostname": hostname},
            "annotations": {ENDPOINT_ANNOTATION: endpoint.to_string()},
        },
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": IDENTITY_LEASE_SECONDS,
            "renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string(),
        },
    })
}

/// The addresses the `kubernetes` Service should list: `own` and those of the `leases`
/// renewed within [`ENDPOINT_TTL`] of `now` that advertise the same port; loopback ones
/// left out; sorted.
pub fn live_addresses(leases: &[Value], own: SocketAddr, now: Timestamp) -> Vec<IpAddr> {
    addresses(leases, own, Some(own.ip()), now)
}

/// Like [`live_addresses`] without `own` (unless another live Lease advertises it): what a
/// server leaving leaves behind.
pub fn remaining_addresses(leases: &[Value], own: SocketAddr, now: Timestamp) -> Vec<IpAddr> {
    addresses(leases, own, None, now)
}

fn addresses(
    leases: &[Value],
    own: SocketAddr,
    include: Option<IpAddr>,
    now: Timestamp,
) -> Vec<IpAddr> {
    let ttl = jiff::SignedDuration::try_from(ENDPOINT_TTL).unwrap_or_default();
    let mut ips: Vec<IpAddr> = leases
        .iter()
        .filter(|l| {
            l.pointer("/spec/renewTime")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<Timestamp>().ok())
                .and_then(|t| t.checked_add(ttl).ok())
                .is_some_and(|until| until >= now)
        })
        .filter_map(|l| {
            l.pointer("/metadata/annotations")?
                .get(ENDPOINT_ANNOTATION)?
                .as_str()?
                .parse::<SocketAddr>()
                .ok()
        })
        .filter(|a| a.port() == own.port())
        .map(|a| a.ip())
        .chain(include)
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// The `kubernetes` Endpoints for `ips` on `port`.
pub fn endpoints(ips: &[IpAddr], port: u16) -> Value {
    let mut ep = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": SERVICE, "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
    });
    if !ips.is_empty() {
        let addresses: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip.to_string()})).collect();
        ep["subsets"] = json!([{"addresses": addresses,
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]);
    }
    ep
}

/// The `kubernetes` EndpointSlice for `ips` on `port`.
pub fn endpoint_slice(ips: &[IpAddr], port: u16) -> Value {
    let v6 = !ips.is_empty() && ips.iter().all(IpAddr::is_ipv6);
    let endpoints: Vec<Value> = ips
        .iter()
        .map(|ip| json!({"addresses": [ip.to_string()], "conditions": {"ready": true}}))
        .collect();
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": SERVICE, "namespace": "default",
            "labels": {"kubernetes.io/service-name": SERVICE}},
        "addressType": if v6 { "IPv6" } else { "IPv4" },
        "endpoints": endpoints,
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    })
}

fn request(group: &str, plural: &str, ns: &str, verb: &'static str) -> Option<ResourceRequest> {
    Some(ResourceRequest {
        resource: berth_api_types::catalog::find(group, plural)?,
        namespace: Some(ns.to_owned()),
        name: None,
        subresource: None,
        verb,
    })
}

/// Writes `desired` (named `name`), creating it if missing; with `compared`, not when the
/// stored object already has the same values of those fields.
async fn put(
    registry: &Registry,
    group: &str,
    plural: &str,
    ns: &str,
    name: &str,
    mut desired: Value,
    compared: Option<&[&str]>,
) -> ApiResult<()> {
    let Some(r) = request(group, plural, ns, "update") else {
        return Ok(());
    };
    match registry.get(&r, name).await {
        Ok(current) => {
            if let Some(fields) = compared {
                if fields.iter().all(|f| current.get(*f) == desired.get(*f)) {
                    return Ok(());
                }
            }
            desired["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
            registry.update(&r, name, desired, false).await.map(|_| ())
        }
        Err(e) if e.code == 404 => {
            let Some(c) = request(group, plural, ns, "create") else {
                return Ok(());
            };
            registry.create(&c, desired, false).await.map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// This server's part: its identity and what it advertises.
pub struct Reconciler {
    /// The store's registry.
    pub registry: Registry,
    /// The host name the identity comes from.
    pub hostname: String,
    /// The address and port this server advertises.
    pub endpoint: SocketAddr,
}

/// Stops a running [`Reconciler`] and withdraws this server from the `kubernetes` endpoints.
pub struct Handle {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// Longest wait for the withdrawal at shutdown; a store that does not answer never holds the
/// process.
pub const WITHDRAW_TIMEOUT: Duration = Duration::from_secs(5);

impl Handle {
    /// Stops renewing, deletes this server's identity Lease and rewrites the `kubernetes`
    /// Endpoints and EndpointSlice without this server; gives up after [`WITHDRAW_TIMEOUT`].
    pub async fn withdraw(self) {
        let _ = self.stop.send(());
        if tokio::time::timeout(WITHDRAW_TIMEOUT, self.task)
            .await
            .is_err()
        {
            tracing::warn!("withdrawing from the kubernetes endpoints timed out");
        }
    }
}

impl Reconciler {
    /// The identity Leases of every server, as stored.
    async fn identity_leases(&self) -> ApiResult<Vec<Value>> {
        let Some(list) = request("coordination.k8s.io", "leases", NAMESPACE, "list") else {
            return Ok(Vec::new());
        };
        let leases = self.registry.list(&list, &ListOptions::default()).await?;
        Ok(leases
            .items
            .into_iter()
            .filter(|l| {
                l.pointer("/metadata/labels")
                    .and_then(|m| m.get(IDENTITY_LABEL))
                    .and_then(Value::as_str)
                    == Some("kube-apiserver")
            })
            .collect())
    }

    /// Renews the identity Lease and rewrites the `kubernetes` Endpoints and EndpointSlice.
    pub async fn once(&self, holder: &str) -> ApiResult<()> {
        let id = identity(&self.hostname);
        let now = Timestamp::now();
        let lease = identity_lease(&id, holder, &self.hostname, self.endpoint, now);
        put(
            &self.registry,
            "coordination.k8s.io",
            "leases",
            NAMESPACE,
            &id,
            lease,
            None,
        )
        .await?;
        let ours = self.identity_leases().await?;
        let ips = live_addresses(&ours, self.endpoint, now);
        self.write_endpoints(&ips).await
    }

    /// Deletes this server's identity Lease and rewrites the endpoints from the others.
    pub async fn withdraw(&self) -> ApiResult<()> {
        let id = identity(&self.hostname);
        if let Some(r) = request("coordination.k8s.io", "leases", NAMESPACE, "delete") {
            match self.registry.delete(&r, &id, &json!({}), false).await {
                Ok(_) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let others = self.identity_leases().await?;
        let ips = remaining_addresses(&others, self.endpoint, Timestamp::now());
        self.write_endpoints(&ips).await
    }

    async fn write_endpoints(&self, ips: &[IpAddr]) -> ApiResult<()> {
        let port = self.endpoint.port();
        put(
            &self.registry,
            "",
            "endpoints",
            "default",
            SERVICE,
            endpoints(ips, port),
            Some(&["subsets"]),
        )
        .await?;
        put(
            &self.registry,
            "discovery.k8s.io",
            "endpointslices",
            "default",
            SERVICE,
            endpoint_slice(ips, port),
            Some(&["addressType", "endpoints", "ports"]),
        )
        .await
    }

    /// Runs every [`RENEW`] on a task of its own until [`Handle::withdraw`].
    pub fn start(self) -> Handle {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let holder = format!("{}_{}", identity(&self.hostname), uuid::Uuid::new_v4());
            let mut tick = tokio::time::interval(RENEW);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // A renewal in progress finishes before the withdrawal starts, so the Lease
                // is never written again after it is deleted.
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(err) = self.once(&holder).await {
                            tracing::warn!(error = %err.message, "reconciling the kubernetes endpoints failed");
                        }
                    }
                    _ = &mut stopped => break,
                }
            }
            match self.withdraw().await {
                Ok(()) => tracing::info!("withdrew from the kubernetes endpoints"),
                Err(err) => {
                    tracing::warn!(error = %err.message, "withdrawing from the kubernetes endpoints failed");
                }
            }
        });
        Handle { stop, task }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_round_renews_the_identity_lease() {
        let store: berth_store::DynStore =
            std::sync::Arc::new(berth_store::memory::MemoryStore::new());
        let reconciler = Reconciler {
            registry: Registry::new(store),
            hostname: "master-1".into(),
            endpoint: "192.0.2.10:6443".parse().unwrap(),
        };
        let renewed = || async {
            let leases = reconciler.identity_leases().await.unwrap();
            assert_eq!(leases.len(), 1, "{leases:?}");
            leases[0]["spec"]["renewTime"].as_str().unwrap().to_owned()
        };
        let mut namespaces = request("", "namespaces", "", "create").unwrap();
        namespaces.namespace = None;
        for name in [NAMESPACE, "default"] {
            let namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            reconciler
                .registry
                .create(&namespaces, namespace, false)
                .await
                .unwrap();
        }
        reconciler.once("holder").await.unwrap();
        let first = renewed().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        reconciler.once("holder").await.unwrap();
        let second = renewed().await;
        assert!(second > first, "{first} then {second}");
    }

    #[test]
    fn identities_are_named_from_the_host_name() {
        let id = identity("master-1");
        assert!(id.starts_with("apiserver-"), "{id}");
        assert_eq!(id.len(), "apiserver-".len() + 26);
        assert!(id["apiserver-".len()..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)));
        assert_eq!(id, identity("master-1"));
        assert_ne!(id, identity("master-2"));
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn live_servers_on_the_same_port_are_listed_without_loopback() {
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let own: SocketAddr = "192.0.2.10:6443".parse().unwrap();
        let lease = |endpoint: &str, renewed: &str| {
            json!({"metadata": {"annotations": {ENDPOINT_ANNOTATION: endpoint}},
                   "spec": {"renewTime": renewed}})
        };
        let leases = [
            lease("192.0.2.12:6443", "2026-01-01T00:00:55.000000Z"),
            lease("192.0.2.11:6443", "2026-01-01T00:00:50.000000Z"),
            lease("192.0.2.13:6443", "2026-01-01T00:00:30.000000Z"),
            lease("192.0.2.14:8443", "2026-01-01T00:00:59.000000Z"),
            lease("127.0.0.1:6443", "2026-01-01T00:00:59.000000Z"),
        ];
        let remaining: Vec<String> = remaining_addresses(&leases, own, now)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(!remaining.contains(&own.ip().to_string()), "{remaining:?}");
        let ips: Vec<String> = live_addresses(&leases, own, now)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ips, ["192.0.2.10", "192.0.2.11", "192.0.2.12"]);
        let loopback: SocketAddr = "127.0.0.1:6443".parse().unwrap();
        assert!(live_addresses(&[], loopback, now).is_empty());
    }

    #[test]
    fn endpoints_and_slices_carry_the_addresses_and_port() {
        let ips: Vec<IpAddr> = vec!["192.0.2.10".parse().unwrap()];
        let ep = endpoints(&ips, 6443);
        assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], "192.0.2.10");
        assert_eq!(ep["subsets"][0]["ports"][0]["port"], 6443);
        assert!(endpoints(&[], 6443).get("subsets").is_none());
        let slice = endpoint_slice(&ips, 6443);
        assert_eq!(slice["addressType"], "IPv4");
        assert_eq!(slice["endpoints"][0]["addresses"][0], "192.0.2.10");
        assert_eq!(
            slice["metadata"]["labels"]["kubernetes.io/service-name"],
            "kubernetes"
        );
    }
}

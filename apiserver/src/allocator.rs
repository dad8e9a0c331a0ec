//! ClusterIP and NodePort allocation for Services, persisted in the store.
//!
//! Each allocated address or port is one key under `/registry/berth/` created with
//! create-if-absent, so two API servers sharing a store can never hand out the same one; the
//! key names the Service that holds it. Allocation is released when the Service is deleted or
//! stops needing it.

use crate::status::{ApiError, ApiResult};
use berth_api_types::validation::{FieldError, Path};
use berth_store::{DynStore, StoreError};
use serde_json::{json, Value};
use std::net::Ipv4Addr;

const IP_PREFIX: &str = "/registry/berth/serviceips/";
const PORT_PREFIX: &str = "/registry/berth/nodeports/";

/// The ranges Services draw from.
#[derive(Debug, Clone)]
pub struct ServiceRanges {
    /// Network address of the service range.
    pub base: Ipv4Addr,
    /// Prefix length of the service range.
    pub bits: u32,
    /// The CIDR as given, for messages.
    pub cidr: String,
    /// First NodePort.
    pub node_port_min: u16,
    /// Last NodePort.
    pub node_port_max: u16,
}

impl ServiceRanges {
    /// Parses `10.96.0.0/12` and `30000-32767`.
    pub fn parse(cidr: &str, node_ports: &str) -> Result<Self, String> {
        let (base, bits) = cidr
            .split_once('/')
            .ok_or("service range must be a CIDR like 10.96.0.0/12")?;
        let base: Ipv4Addr = base
            .parse()
            .map_err(|_| format!("bad service range address {base:?}"))?;
        let bits: u32 = bits
            .parse()
            .map_err(|_| format!("bad service range prefix {bits:?}"))?;
        if !(8..=30).contains(&bits) {
            return Err("service range prefix length must be 8-30".into());
        }
        let mask = u32::MAX << (32 - bits);
        let base = Ipv4Addr::from(u32::from(base) & mask);
        let (lo, hi) = node_ports
            .split_once('-')
            .ok_or("NodePort range must look like 30000-32767")?;
        let node_port_min: u16 = lo
            .trim()
            .parse()
            .map_err(|_| format!("bad NodePort range start {lo:?}"))?;
        let node_port_max: u16 = hi
            .trim()
            .parse()
            .map_err(|_| format!("bad NodePort range end {hi:?}"))?;
        if node_port_min == 0 || node_port_min > node_port_max {
            return Err("NodePort range must be non-empty and start above 0".into());
        }
        Ok(ServiceRanges {
            base,
            bits,
            cidr: cidr.to_owned(),
            node_port_min,
            node_port_max,
        })
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.bits)
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.bits);
        u32::from(ip) & mask == u32::from(self.base)
    }

    /// The first usable address, reserved for the `kubernetes` Service.
    pub fn first(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + 1)
    }
}

/// What an update changed in a Service's allocations.
#[derive(Debug, Default)]
pub struct Realloc {
    /// Held by the old object only: release after the update is stored.
    pub drop: Vec<String>,
    /// Newly claimed: release if the update is not stored.
    pub taken: Vec<String>,
}

/// Hands out and takes back Service addresses and ports.
#[derive(Clone)]
pub struct Allocator {
    store: DynStore,
    ranges: ServiceRanges,
}

fn owner(svc: &Value) -> Vec<u8> {
    json!({
        "namespace": svc.pointer("/metadata/namespace"),
        "name": svc.pointer("/metadata/name"),
    })
    .to_string()
    .into_bytes()
}

fn name_of(svc: &Value) -> String {
    svc.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn invalid(svc: &Value, path: Path, value: Value, detail: &str) -> ApiError {
    ApiError::invalid(
        "",
        "Service",
        &name_of(svc),
        &[FieldError::invalid(&path, value, detail)],
    )
}

fn needs_cluster_ip(svc: &Value) -> bool {
    svc.pointer("/spec/type").and_then(Value::as_str) != Some("ExternalName")
}

fn needs_node_ports(svc: &Value) -> bool {
    matches!(
        svc.pointer("/spec/type").and_then(Value::as_str),
        Some("NodePort" | "LoadBalancer")
    )
}

impl Allocator {
    /// An allocator over `store`.
    pub fn new(store: DynStore, ranges: ServiceRanges) -> Self {
        Allocator { store, ranges }
    }

    /// The ranges in use.
    pub fn ranges(&self) -> &ServiceRanges {
        &self.ranges
    }

    async fn claim(&self, key: String, svc: &Value) -> ApiResult<bool> {
        match self.store.create(&key, owner(svc)).await {
            Ok(_) => Ok(true),
            Err(StoreError::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn release_key(&self, key: String) {
        match self.store.delete(&key, None).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => tracing::warn!(%key, error = %e, "could not release a service allocation"),
        }
    }

    /// Allocates what a new Service needs; on failure nothing stays allocated.
    pub async fn allocate(&self, svc: &mut Value) -> ApiResult<()> {
        let mut taken: Vec<String> = Vec::new();
        let result = self.allocate_inner(svc, None, &mut taken).await;
        if result.is_err() {
            for key in taken {
                self.release_key(key).await;
            }
        }
        result
    }

    /// Carries allocations over from `old` to an update and allocates what is new. The
    /// result says what to release once the update is stored (`drop`), or if it is not
    /// (`taken`).
    pub async fn reallocate(&self, svc: &mut Value, old: &Value) -> ApiResult<Realloc> {
        let mut taken = Vec::new();
        if let Err(e) = self.allocate_inner(svc, Some(old), &mut taken).await {
            for key in taken {
                self.release_key(key).await;
            }
            return Err(e);
        }
        let keep: Vec<String> = self.keys_of(svc);
        let drop = self
            .keys_of(old)
            .into_iter()
            .filter(|k| !keep.contains(k))
            .collect();
        Ok(Realloc { drop, taken })
    }

    /// Releases the given keys (after an update removed their use).
    pub async fn release_keys(&self, keys: Vec<String>) {
        for key in keys {
            self.release_key(key).await;
        }
    }

    /// Releases everything a deleted Service held.
    pub async fn release(&self, svc: &Value) {
        for key in self.keys_of(svc) {
            self.release_key(key).await;
        }
    }

    fn keys_of(&self, svc: &Value) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(ip) = svc.pointer("/spec/clusterIP").and_then(Value::as_str) {
            if ip.parse::<Ipv4Addr>().is_ok() {
                keys.push(format!("{IP_PREFIX}{ip}"));
            }
        }
        if let Some(ports) = svc.pointer("/spec/ports").and_then(Value::as_array) {
            for p in ports {
                if let Some(n) = p.get("nodePort").and_then(Value::as_i64) {
                    let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    keys.push(format!("{PORT_PREFIX}{}/{n}", proto.to_ascii_lowercase()));
                }
            }
        }
        keys
    }

    async fn allocate_inner(
        &self,
        svc: &mut Value,
        old: Option<&Value>,
        taken: &mut Vec<String>,
    ) -> ApiResult<()> {
        // Cluster IP.
        if needs_cluster_ip(svc) {
            let old_ip = old
                .and_then(|o| o.pointer("/spec/clusterIP"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let requested = svc
                .pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let ip = match (requested.as_deref(), old_ip.as_deref()) {
                (None | Some(""), Some(old)) => old.to_owned(),
                (Some(req), Some(old)) if req == old => old.to_owned(),
                (Some(req), Some(old)) => {
                    return Err(invalid(
                        svc,
                        Path::new("spec").child("clusterIPs").index(0),
                        json!(req),
                        &format!("may not change once set (was {old})"),
                    ))
                }
                (Some("None"), None) => "None".to_owned(),
                (Some(req), None) if !req.is_empty() => {
                    let addr: Ipv4Addr = req.parse().map_err(|_| {
                        invalid(
                            svc,
                            Path::new("spec").child("clusterIPs").index(0),
                            json!(req),
                            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                        )
                    })?;
                    if !self.ranges.contains(addr) || addr == self.ranges.base {
                        return Err(invalid(svc, Path::new("spec").child("clusterIPs").index(0), json!(req), &format!(
                            "failed to allocate IP {req}: provided IP is not in the valid range. The range of valid IPs is {}",
                            self.ranges.cidr
                        )));
                    }
                    let key = format!("{IP_PREFIX}{req}");
                    if !self.claim(key.clone(), svc).await? {
                        return Err(invalid(
                            svc,
                            Path::new("spec").child("clusterIPs").index(0),
                            json!(req),
                            &format!(
                                "failed to allocate IP {req}: provided IP is already allocated"
                            ),
                        ));
                    }
                    taken.push(key);
                    req.to_owned()
                }
                _ => {
                    let ip = self.pick_ip(svc).await?;
                    taken.push(format!("{IP_PREFIX}{ip}"));
                    ip.to_string()
                }
            };
            svc["spec"]["clusterIP"] = json!(ip);
            svc["spec"]["clusterIPs"] = json!([ip]);
            if svc.pointer("/spec/ipFamilies").is_none() {
                svc["spec"]["ipFamilies"] = json!(["IPv4"]);
            }
            if svc.pointer("/spec/ipFamilyPolicy").is_none() {
                svc["spec"]["ipFamilyPolicy"] = json!("SingleStack");
            }
        }
        // Node ports.
        let needs_ports = needs_node_ports(svc);
        let old_ports: Vec<(i64, String, i64)> = old
            .and_then(|o| o.pointer("/spec/ports"))
            .and_then(Value::as_array)
            .map(|ports| {
                ports
                    .iter()
                    .filter_map(|p| {
                        Some((
                            p.get("port")?.as_i64()?,
                            p.get("protocol")
                                .and_then(Value::as_str)
                                .unwrap_or("TCP")
                                .to_owned(),
                            p.get("nodePort")?.as_i64()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let svc_snapshot = svc.clone();
        let Some(ports) = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut) else {
            return Ok(());
        };
        for (i, p) in ports.iter_mut().enumerate() {
            let proto = p
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP")
                .to_owned();
            if !needs_ports {
                if let Some(map) = p.as_object_mut() {
                    map.remove("nodePort");
                }
                continue;
            }
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let requested = p
                .get("nodePort")
                .and_then(Value::as_i64)
                .filter(|n| *n != 0);
            let held = old_ports
                .iter()
                .find(|(op, opr, _)| *op == port && *opr == proto)
                .map(|(_, _, n)| *n);
            let node_port = match (requested, held) {
                (Some(n), Some(h)) if n == h => n,
                (None, Some(h)) => h,
                (Some(n), _) => {
                    if n < i64::from(self.ranges.node_port_min)
                        || n > i64::from(self.ranges.node_port_max)
                    {
                        return Err(invalid(&svc_snapshot, Path::new("spec").child("ports").index(i).child("nodePort"), json!(n), &format!(
                            "provided port is not in the valid range. The range of valid ports is {}-{}",
                            self.ranges.node_port_min, self.ranges.node_port_max
                        )));
                    }
                    let key = format!("{PORT_PREFIX}{}/{n}", proto.to_ascii_lowercase());
                    if !self.claim(key.clone(), &svc_snapshot).await? {
                        return Err(invalid(
                            &svc_snapshot,
                            Path::new("spec").child("ports").index(i).child("nodePort"),
                            json!(n),
                            "provided port is already allocated",
                        ));
                    }
                    taken.push(key);
                    n
                }
                (None, None) => {
                    let n = self.pick_port(&svc_snapshot, &proto).await?;
                    taken.push(format!("{PORT_PREFIX}{}/{n}", proto.to_ascii_lowercase()));
                    n
                }
            };
            p["nodePort"] = json!(node_port);
        }
        Ok(())
    }

    async fn pick_ip(&self, svc: &Value) -> ApiResult<Ipv4Addr> {
        use rand::Rng;
        let size = self.ranges.size();
        // Skip the network address, the first address (the `kubernetes` Service) and the
        // broadcast address.
        let usable = size.saturating_sub(3).max(1);
        let start = rand::rng().random_range(0..usable);
        for i in 0..usable {
            let offset = 2 + (start + i) % usable;
            let ip = Ipv4Addr::from(u32::from(self.ranges.base) + offset);
            if self.claim(format!("{IP_PREFIX}{ip}"), svc).await? {
                return Ok(ip);
            }
        }
        Err(ApiError::internal(format!(
            "failed to allocate a serviceIP: range {} is full",
            self.ranges.cidr
        )))
    }

    async fn pick_port(&self, svc: &Value, proto: &str) -> ApiResult<i64> {
        use rand::Rng;
        let (lo, hi) = (
            u32::from(self.ranges.node_port_min),
            u32::from(self.ranges.node_port_max),
        );
        let size = hi - lo + 1;
        let start = rand::rng().random_range(0..size);
        for i in 0..size {
            let n = lo + (start + i) % size;
            if self
                .claim(
                    format!("{PORT_PREFIX}{}/{n}", proto.to_ascii_lowercase()),
                    svc,
                )
                .await?
            {
                return Ok(i64::from(n));
            }
        }
        Err(ApiError::internal(
            "failed to allocate a nodePort: range is full",
        ))
    }

    /// Claims the first address for the `kubernetes` Service (idempotent).
    pub async fn claim_first(&self, svc: &Value) -> ApiResult<()> {
        let key = format!("{IP_PREFIX}{}", self.ranges.first());
        self.claim(key, svc).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn allocator() -> Allocator {
        let ranges = ServiceRanges::parse("10.96.0.0/29", "30000-30002").unwrap();
        Allocator::new(Arc::new(berth_store::memory::MemoryStore::new()), ranges)
    }

    fn svc(name: &str, ty: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "d"}, "spec": {"type": ty, "ports": [{"port": 80, "protocol": "TCP"}]}})
    }

    #[test]
    fn ranges_parse_and_name_their_first_address() {
        let first =
            |cidr: &str| ServiceRanges::parse(cidr, "30000-32767").map(|r| r.first().to_string());
        assert_eq!(first("10.96.0.0/12").unwrap(), "10.96.0.1");
        assert_eq!(first("10.0.0.0/24").unwrap(), "10.0.0.1");
        assert_eq!(first("10.96.5.7/12").unwrap(), "10.96.0.1");
        assert!(first("10.0.0.0").is_err());
        assert!(first("nonsense/12").is_err());
        assert!(ServiceRanges::parse("10.96.0.0/12", "32767-30000").is_err());
    }

    #[tokio::test]
    async fn addresses_are_unique_until_released() {
        let a = allocator();
        let mut seen = std::collections::BTreeSet::new();
        // A /29 has 8 addresses: network, the kubernetes Service's, broadcast and 5 others.
        for i in 0..5 {
            let mut s = svc(&format!("s{i}"), "ClusterIP");
            a.allocate(&mut s).await.unwrap();
            let ip = s["spec"]["clusterIP"].as_str().unwrap().to_owned();
            assert!(seen.insert(ip.clone()), "{ip} handed out twice");
            assert_ne!(ip, "10.96.0.1");
            assert_eq!(s["spec"]["clusterIPs"], json!([ip]));
        }
        let mut full = svc("full", "ClusterIP");
        assert_eq!(a.allocate(&mut full).await.unwrap_err().code, 500);
        let mut one = svc("s0", "ClusterIP");
        one["spec"]["clusterIP"] = json!(seen.iter().next().unwrap());
        a.release(&one).await;
        let mut again = svc("again", "ClusterIP");
        a.allocate(&mut again).await.unwrap();
    }

    #[tokio::test]
    async fn requested_addresses_and_ports_are_checked() {
        let a = allocator();
        let mut out = svc("x", "ClusterIP");
        out["spec"]["clusterIP"] = json!("10.0.0.5");
        let err = a.allocate(&mut out).await.unwrap_err();
        assert_eq!(err.code, 422);
        assert!(
            err.message.contains("not in the valid range"),
            "{}",
            err.message
        );
        let mut first = svc("y", "ClusterIP");
        first["spec"]["clusterIP"] = json!("10.96.0.4");
        a.allocate(&mut first).await.unwrap();
        let mut dup = svc("z", "ClusterIP");
        dup["spec"]["clusterIP"] = json!("10.96.0.4");
        assert!(a
            .allocate(&mut dup)
            .await
            .unwrap_err()
            .message
            .contains("already allocated"));
        let mut np = svc("np", "NodePort");
        a.allocate(&mut np).await.unwrap();
        let port = np["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
        assert!((30000..=30002).contains(&port));
        let mut bad = svc("bad", "NodePort");
        bad["spec"]["ports"][0]["nodePort"] = json!(40000);
        assert_eq!(a.allocate(&mut bad).await.unwrap_err().code, 422);
    }

    #[tokio::test]
    async fn updates_keep_allocations_and_release_what_is_dropped() {
        let a = allocator();
        let mut old = svc("s", "NodePort");
        a.allocate(&mut old).await.unwrap();
        let mut new = svc("s", "NodePort");
        let released = a.reallocate(&mut new, &old).await.unwrap();
        assert!(released.drop.is_empty() && released.taken.is_empty());
        assert_eq!(new["spec"]["clusterIP"], old["spec"]["clusterIP"]);
        assert_eq!(
            new["spec"]["ports"][0]["nodePort"],
            old["spec"]["ports"][0]["nodePort"]
        );
        let mut to_cluster_ip = svc("s", "ClusterIP");
        let released = a.reallocate(&mut to_cluster_ip, &new).await.unwrap();
        assert_eq!(released.drop.len(), 1);
        assert!(to_cluster_ip["spec"]["ports"][0].get("nodePort").is_none());
        let mut changed = svc("s", "ClusterIP");
        let held = to_cluster_ip["spec"]["clusterIP"].as_str().unwrap();
        changed["spec"]["clusterIP"] = json!(if held == "10.96.0.6" {
            "10.96.0.5"
        } else {
            "10.96.0.6"
        });
        assert_eq!(
            a.reallocate(&mut changed, &to_cluster_ip)
                .await
                .unwrap_err()
                .code,
            422
        );
    }
}

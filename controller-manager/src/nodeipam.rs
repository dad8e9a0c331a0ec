//! The `nodeipam` controller: gives every node a pod CIDR (`spec.podCIDR` and
//! `spec.podCIDRs`) out of `--cluster-cidr`, one `/--node-cidr-mask-size` block each, when
//! `--allocate-node-cidrs` is set.
//!
//! The blocks in use are learnt from a full listing before anything is handed out, so a
//! restarted controller never gives a block away twice; a deleted node's block is free again.
//! A node's pod CIDR never changes once set (the API server refuses it). IPv4 only.

use crate::hints;
use crate::queue::{self, Outcome, WorkQueue};
use crate::{events, Context, SyncError};
use k8s_openapi::api::core::v1::{Node, ObjectReference};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

/// An IPv4 block `address/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// First address (host bits zero).
    pub base: u32,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`; the host bits must be zero.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = s.trim().split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        let base = u32::from(addr);
        (base & !mask(prefix) == 0).then_some(Cidr { base, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

/// The blocks of a cluster CIDR and which node holds each.
#[derive(Debug)]
pub struct Allocator {
    cluster: Cidr,
    block_prefix: u8,
    used: BTreeMap<u32, String>,
    by_node: HashMap<String, u32>,
}

impl Allocator {
    /// An allocator of `/block_prefix` blocks inside `cluster`; `None` if the blocks do not fit.
    pub fn new(cluster: Cidr, block_prefix: u8) -> Option<Allocator> {
        (block_prefix >= cluster.prefix
            && block_prefix <= 32
            && block_prefix - cluster.prefix <= 24)
            .then(|| Allocator {
                cluster,
                block_prefix,
                used: BTreeMap::new(),
                by_node: HashMap::new(),
            })
    }

    fn blocks(&self) -> u32 {
        1u32 << (self.block_prefix - self.cluster.prefix)
    }

    fn block(&self, index: u32) -> Cidr {
        Cidr {
            base: self.cluster.base + (index << (32 - u32::from(self.block_prefix))),
            prefix: self.block_prefix,
        }
    }

    /// Records that `node` holds `cidr` (learnt from the node). Blocks outside the cluster
    /// CIDR or of another size are not this allocator's and are ignored.
    pub fn occupy(&mut self, node: &str, cidr: Cidr) {
        if cidr.prefix != self.block_prefix
            || cidr.base & mask(self.cluster.prefix) != self.cluster.base
        {
            return;
        }
        let index = (cidr.base - self.cluster.base) >> (32 - u32::from(self.block_prefix));
        self.used.insert(index, node.to_owned());
        self.by_node.insert(node.to_owned(), index);
    }

    /// The block of `node`, allocating the lowest free one if it has none; `None` when the
    /// cluster CIDR is full.
    pub fn allocate(&mut self, node: &str) -> Option<Cidr> {
        if let Some(&index) = self.by_node.get(node) {
            return Some(self.block(index));
        }
        let mut index = 0;
        for &taken in self.used.keys() {
            if taken != index {
                break;
            }
            index += 1;
        }
        if index >= self.blocks() {
            return None;
        }
        self.used.insert(index, node.to_owned());
        self.by_node.insert(node.to_owned(), index);
        Some(self.block(index))
    }

    /// Frees the block of `node`, if it holds one.
    pub fn release(&mut self, node: &str) {
        if let Some(index) = self.by_node.remove(node) {
            self.used.remove(&index);
        }
    }
}

/// Gives `name` its pod CIDR if it has none.
async fn sync(
    client: kube::Client,
    alloc: Arc<Mutex<Allocator>>,
    name: String,
) -> Result<Outcome, SyncError> {
    let nodes: Api<Node> = Api::all(client.clone());
    let Some(node) = nodes
        .get_opt(&name)
        .await
        .map_err(SyncError::api("reading node", &name))?
    else {
        lock(&alloc).release(&name);
        return Ok(Outcome::Done);
    };
    if let Some(have) = node.spec.as_ref().and_then(|s| s.pod_cidr.as_deref()) {
        if let Some(cidr) = Cidr::parse(have) {
            lock(&alloc).occupy(&name, cidr);
        }
        return Ok(Outcome::Done);
    }
    let Some(cidr) = lock(&alloc).allocate(&name) else {
        let reference = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(name.clone()),
            uid: node.metadata.uid.clone(),
            ..ObjectReference::default()
        };
        events::record(
            &client,
            "cidrAllocator",
            &reference,
            events::NORMAL,
            "CIDRNotAvailable",
            &format!("Node {name} status is now: CIDRNotAvailable"),
        );
        return Ok(Outcome::RequeueAfter(std::time::Duration::from_secs(30)));
    };
    let patch = json!({"spec": {"podCIDR": cidr.to_string(), "podCIDRs": [cidr.to_string()]}});
    match nodes
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            tracing::info!(controller = "nodeipam", node = %name, cidr = %cidr, "pod CIDR assigned");
            Ok(Outcome::Done)
        }
        Err(err) => {
            lock(&alloc).release(&name);
            if hints::is_status(&err, 404) {
                return Ok(Outcome::Done);
            }
            Err(SyncError::api("assigning pod CIDR", &name)(err))
        }
    }
}

fn lock(alloc: &Mutex<Allocator>) -> std::sync::MutexGuard<'_, Allocator> {
    alloc
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the controller until the process stops. Does nothing unless CIDR allocation is on.
pub async fn run(ctx: Arc<Context>) {
    let Some(alloc) = ctx
        .node_cidrs
        .as_ref()
        .and_then(|(cidr, size)| Allocator::new(*cidr, *size))
    else {
        tracing::info!(controller = "nodeipam", "node CIDR allocation is off");
        std::future::pending::<()>().await;
        return;
    };
    let alloc = Arc::new(Mutex::new(alloc));
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    // Learn every block in use before handing any out.
    loop {
        match nodes.list(&ListParams::default()).await {
            Ok(list) => {
                let mut a = lock(&alloc);
                for node in &list.items {
                    let cidr = node
                        .spec
                        .as_ref()
                        .and_then(|s| s.pod_cidr.as_deref())
                        .and_then(Cidr::parse);
                    if let (Some(name), Some(cidr)) = (node.metadata.name.as_deref(), cidr) {
                        a.occupy(name, cidr);
                    }
                }
                break;
            }
            Err(err) => {
                tracing::warn!(controller = "nodeipam", error = %err, "listing nodes failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
    let queue = WorkQueue::new();
    let client = ctx.client.clone();
    tokio::join!(
        hints::feed(
            "nodes",
            nodes,
            None,
            queue.clone(),
            hints::name_of,
            ctx.resync
        ),
        // One worker: allocation decisions are made one at a time.
        queue::run_workers("nodeipam", queue.clone(), 1, move |name| {
            sync(client.clone(), alloc.clone(), name)
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_and_print() {
        let c = Cidr::parse("10.244.0.0/16").unwrap();
        assert_eq!(c.to_string(), "10.244.0.0/16");
        assert!(Cidr::parse("10.244.0.1/16").is_none());
        assert!(Cidr::parse("10.244.0.0/33").is_none());
        assert!(Cidr::parse("banana").is_none());
    }

    #[test]
    fn blocks_are_handed_out_lowest_first_and_reused_after_release() {
        let mut a = Allocator::new(Cidr::parse("10.244.0.0/22").unwrap(), 24).unwrap();
        a.occupy("existing", Cidr::parse("10.244.1.0/24").unwrap());
        assert_eq!(a.allocate("n0").unwrap().to_string(), "10.244.0.0/24");
        assert_eq!(a.allocate("n2").unwrap().to_string(), "10.244.2.0/24");
        // Asking again gives the same block.
        assert_eq!(a.allocate("n0").unwrap().to_string(), "10.244.0.0/24");
        assert_eq!(a.allocate("n3").unwrap().to_string(), "10.244.3.0/24");
        assert!(a.allocate("n4").is_none(), "a /22 holds four /24 blocks");
        a.release("n2");
        assert_eq!(a.allocate("n4").unwrap().to_string(), "10.244.2.0/24");
        // Blocks of other ranges are not ours.
        a.occupy("foreign", Cidr::parse("192.168.0.0/24").unwrap());
        a.release("n0");
        assert_eq!(a.allocate("n5").unwrap().to_string(), "10.244.0.0/24");
        assert!(Allocator::new(Cidr::parse("10.0.0.0/24").unwrap(), 16).is_none());
    }
}

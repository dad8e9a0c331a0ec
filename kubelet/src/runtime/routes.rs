//! `unreachable` routes in the host network namespace for the private ranges a node uses.
//!
//! The host's default route leads off the machine, so a packet for a pod or service address
//! that no more specific route catches would leave it. An `unreachable` route per range
//! makes such packets fail locally instead. The routes carry a metric of their own, so the
//! bridge's connected route for the pod CIDR (metric 0) still wins while it exists, and
//! several guards can hold routes for the same range at once: each adds and removes only its
//! own.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::config::Ipv4Net;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A route command that failed.
#[derive(Debug, thiserror::Error)]
#[error("ip route {action} unreachable {net} metric {metric}: {message}")]
pub struct RouteError {
    /// `add` or `del`.
    pub action: &'static str,
    /// The range.
    pub net: Ipv4Net,
    /// The guard's metric.
    pub metric: u32,
    /// What `ip` printed, or why it could not run.
    pub message: String,
}

/// Holds `unreachable` routes and deletes them when dropped.
#[derive(Debug)]
pub struct RouteGuard {
    metric: u32,
    nets: Vec<Ipv4Net>,
}

impl RouteGuard {
    /// Adds an `unreachable` route for each range with a metric unique to this guard (made
    /// from the process id and a counter).
    pub fn unreachable(nets: &[Ipv4Net]) -> Result<RouteGuard, RouteError> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let metric = 1_000_000 + std::process::id().wrapping_mul(64) % 2_000_000_000 + n % 64;
        let mut guard = RouteGuard {
            metric,
            nets: Vec::new(),
        };
        for net in nets {
            route("add", *net, metric)?;
            guard.nets.push(*net);
        }
        Ok(guard)
    }

    /// Adds the routes with a given metric and keeps them after the process ends (for
    /// `berth up`); [`remove_unreachable`] takes them away again.
    pub fn add_persistent(nets: &[Ipv4Net], metric: u32) -> Result<(), RouteError> {
        for net in nets {
            if !has_unreachable_route(*net, metric) {
                route("add", *net, metric)?;
            }
        }
        Ok(())
    }

    /// The metric of this guard's routes.
    pub fn metric(&self) -> u32 {
        self.metric
    }

    /// The ranges it holds routes for.
    pub fn nets(&self) -> &[Ipv4Net] {
        &self.nets
    }
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        for net in self.nets.drain(..) {
            if let Err(e) = route("del", net, self.metric) {
                tracing::warn!(error = %e, "removing an unreachable route");
            }
        }
    }
}

fn route(action: &'static str, net: Ipv4Net, metric: u32) -> Result<(), RouteError> {
    let err = |message: String| RouteError {
        action,
        net,
        metric,
        message,
    };
    let out = Command::new("ip")
        .args(["route", action, "unreachable", &net.to_string()])
        .args(["metric", &metric.to_string()])
        .output()
        .map_err(|e| err(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(err(String::from_utf8_lossy(&out.stderr).trim().to_string()))
    }
}

/// Whether the host routing table has an `unreachable` route for `net` with `metric`.
pub fn has_unreachable_route(net: Ipv4Net, metric: u32) -> bool {
    Command::new("ip")
        .args([
            "-o",
            "route",
            "show",
            "type",
            "unreachable",
            "exact",
            &net.to_string(),
        ])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).lines().any(|l| {
                l.split_whitespace()
                    .collect::<Vec<_>>()
                    .windows(2)
                    .any(|w| w[0] == "metric" && w[1] == metric.to_string())
            })
        })
        .unwrap_or(false)
}

/// Removes `unreachable` routes for `nets` with `metric` where they exist.
pub fn remove_unreachable(nets: &[Ipv4Net], metric: u32) -> Result<(), RouteError> {
    for net in nets {
        if has_unreachable_route(*net, metric) {
            route("del", *net, metric)?;
        }
    }
    Ok(())
}

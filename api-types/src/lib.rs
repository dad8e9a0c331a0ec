//! Berth's object model, shared by every Berth binary.
//!
//! This crate is pure: no async, no I/O. It holds what every component needs to agree on
//! about Kubernetes objects:
//!
//! - [`k8s`]: the `k8s-openapi` types Berth serves, re-exported so every crate uses one version;
//! - [`catalog`]: one entry per served resource (group, version, kind, names, scope, verbs,
//!   short names, categories, subresources);
//! - [`defaults`]: upstream's defaulting for the served kinds;
//! - [`validation`]: field errors with their paths, and upstream's rules for names, labels,
//!   annotations, required and immutable fields;
//! - [`labels`] and [`fields`]: label- and field-selector parsing and matching;
//! - [`patch_meta`]: strategic-merge-patch strategies and merge keys per list field;
//! - [`strategic_merge`]: applying strategic merge patches with every directive;
//! - [`tables`]: the columns `kubectl get` prints for each kind, built by the server.

pub mod catalog;
pub mod defaults;
pub mod fields;
pub mod labels;
pub mod patch_meta;
pub mod strategic_merge;
pub mod tables;
pub mod validation;

/// The Kubernetes types Berth serves, from `k8s-openapi` (API version v1.33).
pub use k8s_openapi as k8s;

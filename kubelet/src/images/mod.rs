//! Images without a registry: OCI image-layout archives written by Berth itself ([`oci`]),
//! the sandbox image ([`pause`]), a busybox image for tests and benchmarks ([`busybox`]).

pub mod busybox;
pub mod import;
pub mod oci;
pub mod pause;

//! Streaming for `pods/exec`, `pods/attach` and `pods/portforward`: the wire protocols clients
//! speak ([`channel`] over WebSocket, [`spdy`] on its own or inside WebSocket) and the relays
//! that carry a session to the pod's kubelet.

pub mod channel;
pub mod dictionary;
pub mod kubelet;
pub mod pods;
pub mod spdy;

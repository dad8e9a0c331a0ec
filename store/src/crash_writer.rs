//! The values `berth-store-crash-writer` writes. They live in the library so that the load
//! generator and the crash test, which reads its database back after a kill, build them with
//! one function.

/// The value written for `writer`'s sequence number `seq`: 1.5 KB of a repeated
/// `WRITER:SEQ:` header, so a reader can rebuild it and tell a whole value from a torn one.
pub fn value(writer: usize, seq: u64) -> Vec<u8> {
    let head = format!("{writer}:{seq}:");
    let mut out = head.clone().into_bytes();
    while out.len() < 1536 {
        out.extend_from_slice(head.as_bytes());
    }
    out.truncate(1536);
    out
}

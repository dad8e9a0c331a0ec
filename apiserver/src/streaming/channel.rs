//! The WebSocket channel protocols of exec and attach (`v5.channel.k8s.io` down to
//! `channel.k8s.io`): every binary message starts with a channel byte and carries that
//! channel's bytes.
//!
//! | channel | direction | meaning |
//! |---|---|---|
//! | 0 | client → server | stdin |
//! | 1, 2 | server → client | stdout, stderr |
//! | 3 | server → client | the result: plain text up to v3, a JSON `Status` from v4 |
//! | 4 | client → server | terminal size, `{"Width":W,"Height":H}` (v3 and later) |
//! | 255 | client → server | v5 only: the channel named by the payload's byte is closed |

/// Stdin, from the client.
pub const STDIN: u8 = 0;
/// Stdout, to the client.
pub const STDOUT: u8 = 1;
/// Stderr, to the client.
pub const STDERR: u8 = 2;
/// The outcome, to the client.
pub const ERROR: u8 = 3;
/// Terminal size changes, from the client.
pub const RESIZE: u8 = 4;
/// v5's close signal: the payload names a channel the client has finished writing.
pub const CLOSE: u8 = 255;

/// One of the channel protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V1,
    V2,
    V3,
    V4,
    V5,
}

impl Version {
    /// Preferred first.
    pub const ALL: [Version; 5] = [
        Version::V5,
        Version::V4,
        Version::V3,
        Version::V2,
        Version::V1,
    ];

    /// The subprotocol name, as offered in `Sec-WebSocket-Protocol` and, for the SPDY
    /// transport, in `X-Stream-Protocol-Version`.
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "channel.k8s.io",
            Version::V2 => "v2.channel.k8s.io",
            Version::V3 => "v3.channel.k8s.io",
            Version::V4 => "v4.channel.k8s.io",
            Version::V5 => "v5.channel.k8s.io",
        }
    }

    pub fn from_name(name: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.name() == name.trim())
    }

    /// The version a SPDY hop speaks for this one: SPDY has no v5 (its half-close does what
    /// the close signal does), everything else is the same.
    pub fn spdy_equivalent(self) -> Version {
        match self {
            Version::V5 => Version::V4,
            v => v,
        }
    }

    /// Whether the terminal size channel exists.
    pub fn has_resize(self) -> bool {
        self >= Version::V3
    }

    /// Whether the result channel carries a JSON `Status` (rather than plain text).
    pub fn status_is_json(self) -> bool {
        self >= Version::V4
    }
}

/// Picks the best version among the comma-separated offers of one or more
/// `Sec-WebSocket-Protocol` header values. Names this server does not speak are skipped.
pub fn negotiate<'a>(offers: impl IntoIterator<Item = &'a str>) -> Option<Version> {
    offers
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(Version::from_name)
        .max()
}

/// A message for `channel` carrying `data`.
pub fn message(channel: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(channel);
    out.extend_from_slice(data);
    out
}

/// Splits a received message into its channel and payload; an empty message has neither.
pub fn split(msg: &[u8]) -> Option<(u8, &[u8])> {
    msg.split_first().map(|(c, rest)| (*c, rest))
}

/// A terminal size, as sent on the resize channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct TerminalSize {
    #[serde(rename = "Width")]
    pub width: u16,
    #[serde(rename = "Height")]
    pub height: u16,
}

/// Parses one resize message; malformed sizes give `None` and are ignored by callers.
pub fn parse_resize(payload: &[u8]) -> Option<TerminalSize> {
    serde_json::from_slice(payload).ok()
}

/// The result channel's message for an exit code under a JSON-status version.
pub fn exit_status(code: i32) -> serde_json::Value {
    if code == 0 {
        return serde_json::json!({"metadata": {}, "status": "Success"});
    }
    serde_json::json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: error executing command [...], exit code {code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_the_newest_offer_this_server_speaks() {
        assert_eq!(negotiate(["v5.channel.k8s.io"]), Some(Version::V5));
        assert_eq!(
            negotiate(["v4.channel.k8s.io,v3.channel.k8s.io", "channel.k8s.io"]),
            Some(Version::V4)
        );
        assert_eq!(
            negotiate(["base64.channel.k8s.io, v2.channel.k8s.io"]),
            Some(Version::V2)
        );
        assert_eq!(negotiate(["SPDY/3.1+portforward.k8s.io"]), None);
        assert_eq!(negotiate([]), None);
    }

    #[test]
    fn v5_maps_to_v4_over_spdy_and_versions_know_their_channels() {
        assert_eq!(Version::V5.spdy_equivalent(), Version::V4);
        assert_eq!(Version::V2.spdy_equivalent(), Version::V2);
        assert!(!Version::V2.has_resize());
        assert!(Version::V3.has_resize());
        assert!(!Version::V3.status_is_json());
        assert!(Version::V4.status_is_json());
        for v in Version::ALL {
            assert_eq!(Version::from_name(v.name()), Some(v));
        }
    }

    #[test]
    fn messages_carry_their_channel_first() {
        assert_eq!(message(STDIN, b"abc\n"), b"\x00abc\n");
        assert_eq!(split(b"\x01out"), Some((STDOUT, &b"out"[..])));
        assert_eq!(split(b"\xff\x00"), Some((CLOSE, &b"\x00"[..])));
        assert_eq!(split(b""), None);
    }

    #[test]
    fn resize_messages_parse_and_garbage_is_ignored() {
        assert_eq!(
            parse_resize(b"{\"Width\":120,\"Height\":40}\n"),
            Some(TerminalSize {
                width: 120,
                height: 40
            })
        );
        assert_eq!(parse_resize(b"{\"Width\":-1}"), None);
        assert_eq!(parse_resize(b"nope"), None);
    }

    #[test]
    fn exit_statuses_carry_the_code_as_a_cause() {
        assert_eq!(exit_status(0)["status"], "Success");
        let s = exit_status(3);
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(s["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(s["details"]["causes"][0]["message"], "3");
    }
}

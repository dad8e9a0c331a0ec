//! The protobuf wire format, read without trusting the bytes.
//!
//! Request bodies come from any client, so every length, tag and varint is checked against
//! the bytes actually present; a malformed body ends in a [`DecodeError`], never a panic or
//! an out-of-bounds read.

use thiserror::Error;

/// Groups nested deeper than this are refused rather than followed.
const MAX_GROUP_DEPTH: usize = 32;

/// Why a protobuf body could not be decoded, and where in the object it happened.
#[derive(Debug, Error)]
#[error(
    "{}{kind}{}",
    if path.is_empty() { String::new() } else { format!("{path}: ") },
    message.map(|m| format!(" (in {m})")).unwrap_or_default()
)]
pub struct DecodeError {
    /// The JSON path of the field being decoded (`spec.template.spec.containers[0]`), empty
    /// at the top level.
    pub path: String,
    /// The type of the innermost message being decoded, when known.
    pub message: Option<&'static str>,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// The ways a protobuf body can be malformed.
#[derive(Debug, Error)]
pub enum ErrorKind {
    /// The data ended inside a tag, varint, fixed-width value or length-delimited field.
    #[error("unexpected end of data")]
    Truncated,
    /// A varint ran past ten bytes.
    #[error("varint is longer than 10 bytes")]
    VarintTooLong,
    /// A tag named field number 0 or one beyond the protobuf range.
    #[error("invalid field number {0}")]
    BadFieldNumber(u64),
    /// A tag carried a wire type protobuf does not define.
    #[error("invalid wire type {0}")]
    BadWireType(u8),
    /// A known field arrived with the wrong wire type for its declared type.
    #[error("wrong wire type {got} for field {number}, expected {expected}")]
    WrongWireType {
        /// The field number.
        number: u32,
        /// The wire type found.
        got: u8,
        /// The wire type the field's type needs.
        expected: u8,
    },
    /// An end-group tag without its start, or groups nested too deeply.
    #[error("unbalanced or too deeply nested groups")]
    BadGroup,
    /// Messages nested deeper than any object allows.
    #[error("messages nested too deeply")]
    TooDeep,
    /// The bytes were well-formed but their value is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

impl DecodeError {
    /// An error at the current position, with no path yet.
    pub fn new(kind: ErrorKind) -> Self {
        DecodeError {
            path: String::new(),
            message: None,
            kind,
        }
    }

    /// Records the innermost message type the error happened in.
    pub fn in_message(mut self, name: &'static str) -> Self {
        self.message.get_or_insert(name);
        self
    }

    /// Prefixes the path with the field (and list index or map key) the error happened in.
    pub fn within(mut self, segment: &str) -> Self {
        if segment.is_empty() {
            return self;
        }
        self.path = match (self.path.is_empty(), self.path.starts_with('[')) {
            (true, _) => segment.to_owned(),
            (false, true) => format!("{segment}{}", self.path),
            (false, false) => format!("{segment}.{}", self.path),
        };
        self
    }
}

impl From<ErrorKind> for DecodeError {
    fn from(kind: ErrorKind) -> Self {
        DecodeError::new(kind)
    }
}

/// The wire type of a varint (`int32`, `int64`, `bool`).
pub const VARINT: u8 = 0;
/// The wire type of a little-endian 64-bit value.
pub const FIXED64: u8 = 1;
/// The wire type of strings, bytes, messages and packed lists.
pub const LEN: u8 = 2;
/// The wire type that opens a (deprecated) group.
pub const START_GROUP: u8 = 3;
/// The wire type that closes a group.
pub const END_GROUP: u8 = 4;
/// The wire type of a little-endian 32-bit value.
pub const FIXED32: u8 = 5;

/// One field value as found on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue<'a> {
    /// A varint.
    Varint(u64),
    /// A 64-bit fixed-width value.
    Fixed64(u64),
    /// A length-delimited value.
    Len(&'a [u8]),
    /// A 32-bit fixed-width value.
    Fixed32(u32),
    /// A group, already skipped; Kubernetes messages never use groups.
    Group,
}

impl WireValue<'_> {
    /// The wire type this value arrived with.
    pub fn wire_type(&self) -> u8 {
        match self {
            WireValue::Varint(_) => VARINT,
            WireValue::Fixed64(_) => FIXED64,
            WireValue::Len(_) => LEN,
            WireValue::Fixed32(_) => FIXED32,
            WireValue::Group => START_GROUP,
        }
    }
}

/// Reads the fields of one message in order.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the encoded fields of one message.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Whether all bytes have been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Reads one varint.
    pub fn varint(&mut self) -> Result<u64, ErrorKind> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = *self.buf.get(self.pos).ok_or(ErrorKind::Truncated)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ErrorKind::VarintTooLong)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ErrorKind> {
        let end = self.pos.checked_add(n).ok_or(ErrorKind::Truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or(ErrorKind::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn tag(&mut self) -> Result<(u32, u8), ErrorKind> {
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(ErrorKind::BadFieldNumber(number));
        }
        // The range check above makes this conversion lossless.
        Ok((number as u32, (tag & 7) as u8))
    }

    fn value(
        &mut self,
        number: u32,
        wire_type: u8,
        depth: usize,
    ) -> Result<WireValue<'a>, ErrorKind> {
        Ok(match wire_type {
            VARINT => WireValue::Varint(self.varint()?),
            FIXED64 => {
                let bytes = self.take(8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(bytes);
                WireValue::Fixed64(u64::from_le_bytes(le))
            }
            LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| ErrorKind::Truncated)?;
                WireValue::Len(self.take(len)?)
            }
            FIXED32 => {
                let bytes = self.take(4)?;
                let mut le = [0u8; 4];
                le.copy_from_slice(bytes);
                WireValue::Fixed32(u32::from_le_bytes(le))
            }
            START_GROUP => {
                self.skip_group(number, depth)?;
                WireValue::Group
            }
            END_GROUP => return Err(ErrorKind::BadGroup),
            other => return Err(ErrorKind::BadWireType(other)),
        })
    }

    fn skip_group(&mut self, number: u32, depth: usize) -> Result<(), ErrorKind> {
        if depth >= MAX_GROUP_DEPTH {
            return Err(ErrorKind::BadGroup);
        }
        loop {
            if self.is_empty() {
                return Err(ErrorKind::Truncated);
            }
            let (inner, wire_type) = self.tag()?;
            if wire_type == END_GROUP {
                return if inner == number {
                    Ok(())
                } else {
                    Err(ErrorKind::BadGroup)
                };
            }
            self.value(inner, wire_type, depth + 1)?;
        }
    }

    /// The next field number and value, or `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, ErrorKind> {
        if self.is_empty() {
            return Ok(None);
        }
        let (number, wire_type) = self.tag()?;
        let value = self.value(number, wire_type, 0)?;
        Ok(Some((number, value)))
    }
}

/// Appends a varint, for tests that build bodies by hand.
#[cfg(test)]
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(bytes: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, ErrorKind> {
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        while let Some(f) = r.next_field()? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn varints_round_trip() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            u32::MAX as u64,
            u64::MAX,
            (-1i64) as u64,
        ] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(Reader::new(&buf).varint().unwrap(), v);
        }
    }

    #[test]
    fn reads_every_wire_type() {
        let mut buf = vec![0x08, 0x96, 0x01]; // 1: varint 150
        buf.extend([0x11, 1, 0, 0, 0, 0, 0, 0, 0]); // 2: fixed64 1
        buf.extend([0x1a, 0x02, b'h', b'i']); // 3: "hi"
        buf.extend([0x25, 2, 0, 0, 0]); // 4: fixed32 2
        buf.extend([0x2b, 0x08, 0x01, 0x2c]); // 5: group holding 1: 1
        let got = fields(&buf).unwrap();
        assert_eq!(
            got,
            vec![
                (1, WireValue::Varint(150)),
                (2, WireValue::Fixed64(1)),
                (3, WireValue::Len(b"hi")),
                (4, WireValue::Fixed32(2)),
                (5, WireValue::Group),
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(matches!(fields(&[0x08]), Err(ErrorKind::Truncated)));
        assert!(matches!(
            fields(&[0x0a, 0x05, b'a']),
            Err(ErrorKind::Truncated)
        ));
        let mut long = vec![0x08];
        long.extend([0xff; 11]);
        assert!(matches!(fields(&long), Err(ErrorKind::VarintTooLong)));
        assert!(matches!(
            fields(&[0x00, 0x00]),
            Err(ErrorKind::BadFieldNumber(0))
        ));
        assert!(matches!(fields(&[0x0e]), Err(ErrorKind::BadWireType(6))));
        assert!(matches!(fields(&[0x0c]), Err(ErrorKind::BadGroup)));
        assert!(matches!(fields(&[0x0b, 0x14]), Err(ErrorKind::BadGroup)));
        assert!(matches!(fields(&[0x0b]), Err(ErrorKind::Truncated)));
        // A length that would overflow the position must not wrap around.
        let mut huge = vec![0x0a];
        put_varint(&mut huge, u64::MAX);
        assert!(matches!(fields(&huge), Err(ErrorKind::Truncated)));
        let deep: Vec<u8> = std::iter::repeat_n(0x0b, 100).collect();
        assert!(matches!(fields(&deep), Err(ErrorKind::BadGroup)));
    }

    #[test]
    fn error_paths_read_like_json_paths() {
        let e = DecodeError::new(ErrorKind::Truncated)
            .within("ports")
            .within("[0]")
            .within("containers");
        assert_eq!(e.path, "containers[0].ports");
        assert_eq!(e.to_string(), "containers[0].ports: unexpected end of data");
    }
}

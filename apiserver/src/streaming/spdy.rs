//! SPDY/3.1 framing and sessions: the subset the streaming clients of Kubernetes use.
//!
//! A session multiplexes streams over one byte stream. Each stream opens with SYN_STREAM and
//! its headers (`streamtype`, `port`, `requestid`, ...), is accepted with SYN_REPLY, carries
//! DATA frames, and is half-closed with the FIN flag. Header blocks are zlib-compressed with
//! the SPDY/3 dictionary, one compression context per direction for the whole connection.
//! PINGs from the peer are echoed, SETTINGS and WINDOW_UPDATE are read and otherwise ignored
//! (sends are never held back waiting for window), and the receiving side returns window
//! for the data it has taken in, so a peer that does honour flow control never stalls.

use super::dictionary::SPDY3_DICTIONARY;
use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// The protocol version carried in every control frame.
pub const VERSION: u16 = 3;
/// The value of the `Upgrade` header that asks for SPDY.
pub const UPGRADE: &str = "SPDY/3.1";

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

const FLAG_FIN: u8 = 0x01;
const FLAG_UNIDIRECTIONAL: u8 = 0x02;

/// The largest frame payload accepted from a peer.
pub const MAX_FRAME: usize = 1 << 24;
/// The largest decompressed header block accepted from a peer.
pub const MAX_HEADER_BLOCK: usize = 256 * 1024;
/// The largest DATA payload this side writes in one frame.
pub const MAX_WRITE_CHUNK: usize = 32 * 1024;

/// RST_STREAM status: the stream was refused or is unknown.
pub const RST_PROTOCOL_ERROR: u32 = 1;
/// RST_STREAM status: the stream id is not valid.
pub const RST_INVALID_STREAM: u32 = 2;
/// RST_STREAM status: the sender no longer wants the stream.
pub const RST_CANCEL: u32 = 5;

/// Header names (lower case) and values of one stream, in the order sent.
pub type Headers = Vec<(String, String)>;

/// Looks a header up by name, ignoring case.
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why framing or a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    #[error("spdy: {0}")]
    Protocol(String),
    #[error("spdy: header compression: {0}")]
    Compression(String),
    #[error("spdy: connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("spdy: the session is closed")]
    Closed,
    #[error("spdy: the peer reset the stream (status {0})")]
    Reset(u32),
}

fn protocol(msg: impl Into<String>) -> SpdyError {
    SpdyError::Protocol(msg.into())
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    SynStream {
        stream_id: u32,
        associated: u32,
        priority: u8,
        fin: bool,
        unidirectional: bool,
        headers: Headers,
    },
    SynReply {
        stream_id: u32,
        fin: bool,
        headers: Headers,
    },
    RstStream {
        stream_id: u32,
        status: u32,
    },
    /// Flag, id and value of each setting.
    Settings(Vec<(u8, u32, u32)>),
    Ping(u32),
    GoAway {
        last_good: u32,
        status: u32,
    },
    Headers {
        stream_id: u32,
        fin: bool,
        headers: Headers,
    },
    WindowUpdate {
        stream_id: u32,
        delta: u32,
    },
    Data {
        stream_id: u32,
        fin: bool,
        data: Bytes,
    },
    /// A control frame of a type this implementation does not use; it is skipped.
    Unknown(u16),
}

/// The compressing half of a connection: header blocks this side writes.
pub struct HeaderEncoder {
    z: Compress,
}

impl Default for HeaderEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderEncoder {
    pub fn new() -> Self {
        let mut z = Compress::new(Compression::default(), true);
        // Setting a dictionary on a fresh stream cannot fail.
        let _ = z.set_dictionary(SPDY3_DICTIONARY);
        HeaderEncoder { z }
    }

    /// Serializes and compresses one header block (names are lower-cased).
    pub fn encode(&mut self, headers: &Headers) -> Result<Vec<u8>, SpdyError> {
        let mut raw = Vec::with_capacity(64);
        // Values of a repeated name travel as one value joined by NUL.
        let mut merged: Vec<(String, String)> = Vec::new();
        for (n, v) in headers {
            let n = n.to_ascii_lowercase();
            match merged.iter_mut().find(|(m, _)| *m == n) {
                Some((_, existing)) => {
                    existing.push('\0');
                    existing.push_str(v);
                }
                None => merged.push((n, v.clone())),
            }
        }
        raw.extend_from_slice(&(merged.len() as u32).to_be_bytes());
        for (n, v) in &merged {
            raw.extend_from_slice(&(n.len() as u32).to_be_bytes());
            raw.extend_from_slice(n.as_bytes());
            raw.extend_from_slice(&(v.len() as u32).to_be_bytes());
            raw.extend_from_slice(v.as_bytes());
        }
        let start = self.z.total_in();
        let mut out = Vec::with_capacity(raw.len() + 64);
        loop {
            let consumed = (self.z.total_in() - start) as usize;
            if out.len() == out.capacity() {
                out.reserve(256);
            }
            self.z
                .compress_vec(&raw[consumed..], &mut out, FlushCompress::Sync)
                .map_err(|e| SpdyError::Compression(e.to_string()))?;
            let consumed = (self.z.total_in() - start) as usize;
            if consumed == raw.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

/// The decompressing half of a connection: header blocks the peer writes.
pub struct HeaderDecoder {
    z: Decompress,
}

impl Default for HeaderDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderDecoder {
    pub fn new() -> Self {
        HeaderDecoder {
            z: Decompress::new(true),
        }
    }

    /// Decompresses and parses one header block.
    pub fn decode(&mut self, block: &[u8]) -> Result<Headers, SpdyError> {
        let start = self.z.total_in();
        let mut out: Vec<u8> = Vec::with_capacity(block.len() * 4 + 64);
        loop {
            let consumed = (self.z.total_in() - start) as usize;
            if out.len() == out.capacity() {
                if out.len() >= MAX_HEADER_BLOCK {
                    return Err(protocol("header block too large"));
                }
                out.reserve(out.len());
            }
            match self
                .z
                .decompress_vec(&block[consumed..], &mut out, FlushDecompress::Sync)
            {
                Ok(Status::StreamEnd) => return Err(protocol("header stream ended")),
                Ok(_) => {}
                Err(e) => match e.needs_dictionary() {
                    Some(_) => {
                        self.z
                            .set_dictionary(SPDY3_DICTIONARY)
                            .map_err(|e| SpdyError::Compression(e.to_string()))?;
                        continue;
                    }
                    None => return Err(SpdyError::Compression(e.to_string())),
                },
            }
            let consumed = (self.z.total_in() - start) as usize;
            if consumed == block.len() && out.len() < out.capacity() {
                break;
            }
        }
        parse_header_block(&out)
    }
}

fn parse_header_block(raw: &[u8]) -> Result<Headers, SpdyError> {
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8], SpdyError> {
        let end = pos
            .checked_add(n)
            .filter(|e| *e <= raw.len())
            .ok_or_else(|| protocol("truncated header block"))?;
        let s = &raw[pos..end];
        pos = end;
        Ok(s)
    };
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let count = be32(take(4)?);
    let mut headers = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let n = be32(take(4)?);
        let name = String::from_utf8_lossy(take(n)?).to_ascii_lowercase();
        let n = be32(take(4)?);
        let value = String::from_utf8_lossy(take(n)?).into_owned();
        if name.is_empty() {
            return Err(protocol("empty header name"));
        }
        for v in value.split('\0') {
            headers.push((name.clone(), v.to_owned()));
        }
    }
    Ok(headers)
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    let len = payload.len() as u32;
    out.push(flags);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(payload);
    out
}

/// Serializes a frame, compressing its headers with `enc`.
pub fn encode(frame: &Frame, enc: &mut HeaderEncoder) -> Result<Vec<u8>, SpdyError> {
    let fin = |f: bool| if f { FLAG_FIN } else { 0 };
    Ok(match frame {
        Frame::SynStream {
            stream_id,
            associated,
            priority,
            fin: f,
            unidirectional,
            headers,
        } => {
            let mut p = Vec::new();
            p.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
            p.extend_from_slice(&(associated & 0x7fff_ffff).to_be_bytes());
            p.push((priority & 0x7) << 5);
            p.push(0);
            p.extend_from_slice(&enc.encode(headers)?);
            let flags = fin(*f)
                | if *unidirectional {
                    FLAG_UNIDIRECTIONAL
                } else {
                    0
                };
            control(SYN_STREAM, flags, &p)
        }
        Frame::SynReply {
            stream_id,
            fin: f,
            headers,
        } => {
            let mut p = (stream_id & 0x7fff_ffff).to_be_bytes().to_vec();
            p.extend_from_slice(&enc.encode(headers)?);
            control(SYN_REPLY, fin(*f), &p)
        }
        Frame::Headers {
            stream_id,
            fin: f,
            headers,
        } => {
            let mut p = (stream_id & 0x7fff_ffff).to_be_bytes().to_vec();
            p.extend_from_slice(&enc.encode(headers)?);
            control(HEADERS, fin(*f), &p)
        }
        Frame::RstStream { stream_id, status } => {
            let mut p = (stream_id & 0x7fff_ffff).to_be_bytes().to_vec();
            p.extend_from_slice(&status.to_be_bytes());
            control(RST_STREAM, 0, &p)
        }
        Frame::Settings(entries) => {
            let mut p = (entries.len() as u32).to_be_bytes().to_vec();
            for (flag, id, value) in entries {
                p.push(*flag);
                p.extend_from_slice(&id.to_be_bytes()[1..]);
                p.extend_from_slice(&value.to_be_bytes());
            }
            control(SETTINGS, 0, &p)
        }
        Frame::Ping(id) => control(PING, 0, &id.to_be_bytes()),
        Frame::GoAway { last_good, status } => {
            let mut p = (last_good & 0x7fff_ffff).to_be_bytes().to_vec();
            p.extend_from_slice(&status.to_be_bytes());
            control(GOAWAY, 0, &p)
        }
        Frame::WindowUpdate { stream_id, delta } => {
            let mut p = (stream_id & 0x7fff_ffff).to_be_bytes().to_vec();
            p.extend_from_slice(&(delta & 0x7fff_ffff).to_be_bytes());
            control(WINDOW_UPDATE, 0, &p)
        }
        Frame::Data {
            stream_id,
            fin: f,
            data,
        } => {
            if data.len() >= MAX_FRAME {
                return Err(protocol("data frame too large"));
            }
            let mut out = Vec::with_capacity(8 + data.len());
            out.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
            out.push(fin(*f));
            out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
            out.extend_from_slice(data);
            out
        }
        Frame::Unknown(kind) => control(*kind, 0, &[]),
    })
}

fn be32(b: &[u8], at: usize) -> Result<u32, SpdyError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| protocol("control frame too short"))
}

/// Reads one frame; `Ok(None)` at a clean end of the connection between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    dec: &mut HeaderDecoder,
) -> Result<Option<Frame>, SpdyError> {
    let mut head = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        let n = r.read(&mut head[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(protocol("connection ended inside a frame header"))
            };
        }
        got += n;
    }
    let flags = head[4];
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    if head[0] & 0x80 == 0 {
        let stream_id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) & 0x7fff_ffff;
        return Ok(Some(Frame::Data {
            stream_id,
            fin: flags & FLAG_FIN != 0,
            data: Bytes::from(payload),
        }));
    }
    let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
    if version != VERSION {
        return Err(protocol(format!("unsupported version {version}")));
    }
    let kind = u16::from_be_bytes([head[2], head[3]]);
    let fin = flags & FLAG_FIN != 0;
    let p = &payload;
    Ok(Some(match kind {
        SYN_STREAM => {
            if p.len() < 10 {
                return Err(protocol("SYN_STREAM too short"));
            }
            Frame::SynStream {
                stream_id: be32(p, 0)? & 0x7fff_ffff,
                associated: be32(p, 4)? & 0x7fff_ffff,
                priority: p[8] >> 5,
                fin,
                unidirectional: flags & FLAG_UNIDIRECTIONAL != 0,
                headers: dec.decode(&p[10..])?,
            }
        }
        SYN_REPLY | HEADERS => {
            let stream_id = be32(p, 0)? & 0x7fff_ffff;
            let headers = dec.decode(&p[4..])?;
            if kind == SYN_REPLY {
                Frame::SynReply {
                    stream_id,
                    fin,
                    headers,
                }
            } else {
                Frame::Headers {
                    stream_id,
                    fin,
                    headers,
                }
            }
        }
        RST_STREAM => Frame::RstStream {
            stream_id: be32(p, 0)? & 0x7fff_ffff,
            status: be32(p, 4)?,
        },
        SETTINGS => {
            let count = be32(p, 0)? as usize;
            if p.len() < 4 + count.saturating_mul(8) {
                return Err(protocol("SETTINGS too short"));
            }
            let entries = (0..count)
                .map(|i| {
                    let at = 4 + i * 8;
                    (
                        p[at],
                        u32::from_be_bytes([0, p[at + 1], p[at + 2], p[at + 3]]),
                        u32::from_be_bytes([p[at + 4], p[at + 5], p[at + 6], p[at + 7]]),
                    )
                })
                .collect();
            Frame::Settings(entries)
        }
        PING => Frame::Ping(be32(p, 0)?),
        GOAWAY => Frame::GoAway {
            last_good: be32(p, 0)? & 0x7fff_ffff,
            status: be32(p, 4).unwrap_or(0),
        },
        WINDOW_UPDATE => Frame::WindowUpdate {
            stream_id: be32(p, 0)? & 0x7fff_ffff,
            delta: be32(p, 4)? & 0x7fff_ffff,
        },
        other => Frame::Unknown(other),
    }))
}

/// What arrives on a stream.
#[derive(Debug)]
enum Inbound {
    Data(Bytes),
    Fin,
    Reset,
}

struct Slot {
    tx: mpsc::UnboundedSender<Inbound>,
    reply: Option<oneshot::Sender<Result<Headers, SpdyError>>>,
}

struct Shared {
    streams: HashMap<u32, Slot>,
    next_id: u32,
    closed: bool,
}

/// One side of a SPDY connection. Clones share the connection.
#[derive(Clone)]
pub struct Session {
    out: mpsc::UnboundedSender<Frame>,
    shared: Arc<Mutex<Shared>>,
}

/// The sending half of one stream. Clones write to the same stream.
#[derive(Clone)]
pub struct StreamWriter {
    id: u32,
    out: mpsc::UnboundedSender<Frame>,
}

/// The receiving half of one stream.
pub struct StreamReader {
    id: u32,
    rx: mpsc::UnboundedReceiver<Inbound>,
    out: mpsc::UnboundedSender<Frame>,
    done: bool,
}

/// A stream the peer opened, not yet replied to.
pub struct IncomingStream {
    pub id: u32,
    pub headers: Headers,
    /// The peer will send nothing on it (FIN on the SYN_STREAM).
    pub remote_fin: bool,
    pub writer: StreamWriter,
    pub reader: StreamReader,
}

impl IncomingStream {
    /// Accepts the stream with an empty SYN_REPLY.
    pub fn accept(&self) -> Result<(), SpdyError> {
        self.writer
            .out
            .send(Frame::SynReply {
                stream_id: self.id,
                fin: false,
                headers: Vec::new(),
            })
            .map_err(|_| SpdyError::Closed)
    }
}

impl StreamWriter {
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Queues bytes on the stream, split into frames of at most [`MAX_WRITE_CHUNK`].
    pub fn write(&self, data: &[u8]) -> Result<(), SpdyError> {
        for chunk in data.chunks(MAX_WRITE_CHUNK) {
            self.out
                .send(Frame::Data {
                    stream_id: self.id,
                    fin: false,
                    data: Bytes::copy_from_slice(chunk),
                })
                .map_err(|_| SpdyError::Closed)?;
        }
        Ok(())
    }

    /// Half-closes the stream: the peer reads its end.
    pub fn finish(&self) -> Result<(), SpdyError> {
        self.out
            .send(Frame::Data {
                stream_id: self.id,
                fin: true,
                data: Bytes::new(),
            })
            .map_err(|_| SpdyError::Closed)
    }

    /// Abandons the stream in both directions.
    pub fn reset(&self, status: u32) {
        let _ = self.out.send(Frame::RstStream {
            stream_id: self.id,
            status,
        });
    }
}

impl StreamReader {
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The next bytes; `None` once the peer half-closed or reset the stream, or the session
    /// ended.
    pub async fn read(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        match self.rx.recv().await {
            Some(Inbound::Data(b)) => {
                // Give the window back as soon as the bytes are taken.
                if !b.is_empty() {
                    let _ = self.out.send(Frame::WindowUpdate {
                        stream_id: self.id,
                        delta: b.len() as u32,
                    });
                }
                Some(b)
            }
            Some(Inbound::Fin) | Some(Inbound::Reset) | None => {
                self.done = true;
                None
            }
        }
    }
}

impl Session {
    /// Starts a session over `io`. A server's own streams get even ids and a client's odd
    /// ones. Streams the peer opens arrive on the returned receiver; it ends with the session.
    pub fn start<T>(io: T, server: bool) -> (Session, mpsc::UnboundedReceiver<IncomingStream>)
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut rd, mut wr) = tokio::io::split(io);
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Frame>();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared {
            streams: HashMap::new(),
            next_id: if server { 2 } else { 1 },
            closed: false,
        }));
        let session = Session {
            out: out_tx.clone(),
            shared: shared.clone(),
        };
        // Writer: the only place that touches the compressor and the write half.
        tokio::spawn(async move {
            let mut enc = HeaderEncoder::new();
            while let Some(frame) = out_rx.recv().await {
                let last = matches!(frame, Frame::GoAway { .. });
                let bytes = match encode(&frame, &mut enc) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::debug!(error = %e, "spdy: frame not encoded");
                        continue;
                    }
                };
                if wr.write_all(&bytes).await.is_err() {
                    break;
                }
                // Batch what is queued before flushing.
                if out_rx.is_empty() && wr.flush().await.is_err() {
                    break;
                }
                if last {
                    break;
                }
            }
            let _ = wr.shutdown().await;
        });
        let reader_shared = shared.clone();
        let out = out_tx;
        tokio::spawn(async move {
            let mut dec = HeaderDecoder::new();
            let result = loop {
                let frame = match read_frame(&mut rd, &mut dec).await {
                    Ok(Some(f)) => f,
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                };
                if let Err(e) = dispatch(frame, &reader_shared, &out, &in_tx) {
                    break Err(e);
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "spdy session ended");
                let _ = out.send(Frame::GoAway {
                    last_good: 0,
                    status: 1,
                });
            }
            let mut s = reader_shared.lock().unwrap_or_else(|p| p.into_inner());
            s.closed = true;
            for (_, slot) in s.streams.drain() {
                let _ = slot.tx.send(Inbound::Fin);
                if let Some(reply) = slot.reply {
                    let _ = reply.send(Err(SpdyError::Closed));
                }
            }
        });
        (session, in_rx)
    }

    /// Opens a stream with `headers` and waits for the peer's SYN_REPLY.
    pub async fn open(&self, headers: Headers) -> Result<(StreamWriter, StreamReader), SpdyError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        let id = {
            let mut s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            if s.closed {
                return Err(SpdyError::Closed);
            }
            let id = s.next_id;
            s.next_id += 2;
            s.streams.insert(
                id,
                Slot {
                    tx,
                    reply: Some(reply_tx),
                },
            );
            id
        };
        self.out
            .send(Frame::SynStream {
                stream_id: id,
                associated: 0,
                priority: 0,
                fin: false,
                unidirectional: false,
                headers,
            })
            .map_err(|_| SpdyError::Closed)?;
        reply_rx.await.map_err(|_| SpdyError::Closed)??;
        Ok((
            StreamWriter {
                id,
                out: self.out.clone(),
            },
            StreamReader {
                id,
                rx,
                out: self.out.clone(),
                done: false,
            },
        ))
    }

    /// Says goodbye to the peer and closes the connection once queued frames are written.
    pub fn close(&self) {
        let _ = self.out.send(Frame::GoAway {
            last_good: 0,
            status: 0,
        });
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().map(|s| s.closed).unwrap_or(true)
    }
}

fn dispatch(
    frame: Frame,
    shared: &Arc<Mutex<Shared>>,
    out: &mpsc::UnboundedSender<Frame>,
    incoming: &mpsc::UnboundedSender<IncomingStream>,
) -> Result<(), SpdyError> {
    let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
    match frame {
        Frame::SynStream {
            stream_id,
            fin,
            headers,
            ..
        } => {
            if stream_id == 0 || s.streams.contains_key(&stream_id) {
                let _ = out.send(Frame::RstStream {
                    stream_id,
                    status: RST_PROTOCOL_ERROR,
                });
                return Ok(());
            }
            let (tx, rx) = mpsc::unbounded_channel();
            if fin {
                let _ = tx.send(Inbound::Fin);
            }
            s.streams.insert(stream_id, Slot { tx, reply: None });
            let stream = IncomingStream {
                id: stream_id,
                headers,
                remote_fin: fin,
                writer: StreamWriter {
                    id: stream_id,
                    out: out.clone(),
                },
                reader: StreamReader {
                    id: stream_id,
                    rx,
                    out: out.clone(),
                    done: false,
                },
            };
            if incoming.send(stream).is_err() {
                let _ = out.send(Frame::RstStream {
                    stream_id,
                    status: RST_CANCEL,
                });
            }
        }
        Frame::SynReply {
            stream_id,
            fin,
            headers,
        } => {
            if let Some(slot) = s.streams.get_mut(&stream_id) {
                if let Some(reply) = slot.reply.take() {
                    let _ = reply.send(Ok(headers));
                }
                if fin {
                    let _ = slot.tx.send(Inbound::Fin);
                }
            }
        }
        Frame::Headers { stream_id, fin, .. } => {
            if fin {
                if let Some(slot) = s.streams.get(&stream_id) {
                    let _ = slot.tx.send(Inbound::Fin);
                }
            }
        }
        Frame::Data {
            stream_id,
            fin,
            data,
        } => match s.streams.get(&stream_id) {
            Some(slot) => {
                if !data.is_empty() {
                    let _ = slot.tx.send(Inbound::Data(data));
                }
                if fin {
                    let _ = slot.tx.send(Inbound::Fin);
                }
            }
            None => {
                let _ = out.send(Frame::RstStream {
                    stream_id,
                    status: RST_INVALID_STREAM,
                });
            }
        },
        Frame::RstStream { stream_id, status } => {
            if let Some(mut slot) = s.streams.remove(&stream_id) {
                let _ = slot.tx.send(Inbound::Reset);
                if let Some(reply) = slot.reply.take() {
                    let _ = reply.send(Err(SpdyError::Reset(status)));
                }
            }
        }
        Frame::Ping(id) => {
            let _ = out.send(Frame::Ping(id));
        }
        Frame::GoAway { .. } => return Err(SpdyError::Closed),
        Frame::Settings(_) | Frame::WindowUpdate { .. } | Frame::Unknown(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn header_blocks_round_trip_over_one_compression_context() {
        let mut enc = HeaderEncoder::new();
        let mut dec = HeaderDecoder::new();
        let first = h(&[("streamType", "error"), ("port", "80"), ("requestID", "0")]);
        let second = h(&[("streamtype", "data"), ("port", "80"), ("requestid", "0")]);
        let a = enc.encode(&first).unwrap();
        let b = enc.encode(&second).unwrap();
        // The second block refers back to the first, so it is smaller.
        assert!(b.len() < a.len(), "{} !< {}", b.len(), a.len());
        let lower: Headers = first
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        assert_eq!(dec.decode(&a).unwrap(), lower);
        assert_eq!(dec.decode(&b).unwrap(), second);
        // A decoder that missed the first block cannot make sense of the second.
        assert!(HeaderDecoder::new().decode(&b).is_err());
    }

    #[test]
    fn compressed_blocks_announce_the_spdy3_dictionary() {
        let block = HeaderEncoder::new().encode(&h(&[("a", "b")])).unwrap();
        // zlib header with FDICT set, followed by the dictionary's Adler-32.
        assert_eq!(block[0] & 0x0f, 8);
        assert_ne!(block[1] & 0x20, 0);
        let mut a: u32 = 1;
        let mut b: u32 = 0;
        for byte in SPDY3_DICTIONARY {
            a = (a + u32::from(*byte)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(
            u32::from_be_bytes(block[2..6].try_into().unwrap()),
            (b << 16) | a
        );
        assert_eq!(SPDY3_DICTIONARY.len(), 1423);
    }

    #[test]
    fn repeated_names_travel_joined_by_nul() {
        let mut enc = HeaderEncoder::new();
        let mut dec = HeaderDecoder::new();
        let block = enc
            .encode(&h(&[
                ("x-stream-protocol-version", "v4.channel.k8s.io"),
                ("x-stream-protocol-version", "v3.channel.k8s.io"),
            ]))
            .unwrap();
        assert_eq!(
            dec.decode(&block).unwrap(),
            h(&[
                ("x-stream-protocol-version", "v4.channel.k8s.io"),
                ("x-stream-protocol-version", "v3.channel.k8s.io")
            ])
        );
    }

    #[test]
    fn garbage_header_blocks_are_errors_not_panics() {
        assert!(HeaderDecoder::new().decode(b"\x78\xbb\x00\x00").is_err());
        assert!(HeaderDecoder::new().decode(&[0xff; 40]).is_err());
        assert!(parse_header_block(&[0, 0, 0, 2, 0, 0, 0, 9, b'a']).is_err());
        assert!(parse_header_block(&[0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[tokio::test]
    async fn every_frame_kind_round_trips_through_the_wire_format() {
        let frames = vec![
            Frame::SynStream {
                stream_id: 1,
                associated: 0,
                priority: 3,
                fin: false,
                unidirectional: false,
                headers: h(&[("streamtype", "stdin")]),
            },
            Frame::SynReply {
                stream_id: 1,
                fin: true,
                headers: Vec::new(),
            },
            Frame::RstStream {
                stream_id: 7,
                status: RST_CANCEL,
            },
            Frame::Settings(vec![(0, 7, 65536), (1, 4, 100)]),
            Frame::Ping(9),
            Frame::GoAway {
                last_good: 5,
                status: 0,
            },
            Frame::Headers {
                stream_id: 3,
                fin: true,
                headers: h(&[("x", "y")]),
            },
            Frame::WindowUpdate {
                stream_id: 3,
                delta: 4096,
            },
            Frame::Data {
                stream_id: 3,
                fin: true,
                data: Bytes::from_static(b"hello"),
            },
        ];
        let mut enc = HeaderEncoder::new();
        let mut wire = Vec::new();
        for f in &frames {
            wire.extend(encode(f, &mut enc).unwrap());
        }
        let mut dec = HeaderDecoder::new();
        let mut r = &wire[..];
        for f in &frames {
            assert_eq!(
                read_frame(&mut r, &mut dec).await.unwrap().as_ref(),
                Some(f)
            );
        }
        assert!(read_frame(&mut r, &mut dec).await.unwrap().is_none());
        // A frame cut short is an error.
        let mut cut = &wire[..wire.len() - 2];
        let mut dec = HeaderDecoder::new();
        let mut last = Ok(None);
        for _ in 0..frames.len() {
            last = read_frame(&mut cut, &mut dec).await;
            if last.is_err() {
                break;
            }
        }
        assert!(last.is_err());
    }

    #[test]
    fn control_frames_have_the_spdy3_layout() {
        let mut enc = HeaderEncoder::new();
        let ping = encode(&Frame::Ping(0x0102_0304), &mut enc).unwrap();
        assert_eq!(ping, [0x80, 0x03, 0x00, 0x06, 0, 0, 0, 4, 1, 2, 3, 4]);
        let data = encode(
            &Frame::Data {
                stream_id: 5,
                fin: true,
                data: Bytes::from_static(b"ab"),
            },
            &mut enc,
        )
        .unwrap();
        assert_eq!(data, [0, 0, 0, 5, 1, 0, 0, 2, b'a', b'b']);
    }

    #[tokio::test]
    async fn unsupported_versions_are_refused() {
        let wire = [0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1];
        let mut r = &wire[..];
        assert!(read_frame(&mut r, &mut HeaderDecoder::new()).await.is_err());
    }

    #[tokio::test]
    async fn sessions_carry_streams_both_ways_with_half_close_and_ping() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let (client, _none) = Session::start(a, false);
        let (_server, mut incoming) = Session::start(b, true);
        let server_task = tokio::spawn(async move {
            let mut handlers = Vec::new();
            while let Some(mut s) = incoming.recv().await {
                s.accept().unwrap();
                // Each stream is served on its own, as the client opens both before writing.
                handlers.push(tokio::spawn(async move {
                    let kind = header(&s.headers, "streamtype").unwrap().to_owned();
                    // Echo what arrives, upper-cased, then half-close.
                    let mut all = Vec::new();
                    while let Some(b) = s.reader.read().await {
                        all.extend_from_slice(&b);
                    }
                    s.writer.write(&all.to_ascii_uppercase()).unwrap();
                    s.writer.finish().unwrap();
                    (kind, all)
                }));
                if handlers.len() == 2 {
                    break;
                }
            }
            let mut got = Vec::new();
            for h in handlers {
                got.push(h.await.unwrap());
            }
            got
        });
        let (w1, mut r1) = client.open(h(&[("streamtype", "stdin")])).await.unwrap();
        let (w2, mut r2) = client.open(h(&[("streamtype", "data")])).await.unwrap();
        assert_eq!((w1.id(), w2.id()), (1, 3));
        let big = vec![b'x'; 200_000];
        w1.write(b"hello ").unwrap();
        w1.write(b"world").unwrap();
        w1.finish().unwrap();
        w2.write(&big).unwrap();
        w2.finish().unwrap();
        let mut out1 = Vec::new();
        while let Some(b) = r1.read().await {
            out1.extend_from_slice(&b);
        }
        let mut out2 = Vec::new();
        while let Some(b) = r2.read().await {
            out2.extend_from_slice(&b);
        }
        assert_eq!(out1, b"HELLO WORLD");
        assert_eq!(out2.len(), big.len());
        let got = server_task.await.unwrap();
        assert_eq!(got[0], ("stdin".to_string(), b"hello world".to_vec()));
        assert_eq!(got[1].1.len(), 200_000);
    }

    #[tokio::test]
    async fn a_reset_fails_the_open_and_the_session_answers_pings() {
        let (a, mut b) = tokio::io::duplex(1 << 16);
        let (client, _none) = Session::start(a, false);
        // A raw peer: read the SYN_STREAM, send a PING, then reset the stream.
        let peer = tokio::spawn(async move {
            let mut dec = HeaderDecoder::new();
            let mut enc = HeaderEncoder::new();
            let syn = read_frame(&mut b, &mut dec).await.unwrap().unwrap();
            let Frame::SynStream { stream_id, .. } = syn else {
                panic!("expected SYN_STREAM, got {syn:?}");
            };
            b.write_all(&encode(&Frame::Ping(2), &mut enc).unwrap())
                .await
                .unwrap();
            let pong = read_frame(&mut b, &mut dec).await.unwrap().unwrap();
            b.write_all(
                &encode(
                    &Frame::RstStream {
                        stream_id,
                        status: RST_PROTOCOL_ERROR,
                    },
                    &mut enc,
                )
                .unwrap(),
            )
            .await
            .unwrap();
            pong
        });
        let err = client.open(h(&[("streamtype", "x")])).await.err();
        assert!(matches!(err, Some(SpdyError::Reset(RST_PROTOCOL_ERROR))));
        assert_eq!(peer.await.unwrap(), Frame::Ping(2));
    }
}

//! The embedded store's commit log: the file `<db>-berthlog` beside the SQLite database.
//!
//! A write is durable once its frame is in this log; SQLite is applied behind it without
//! syncing. The writer encodes every change of a batch as one frame, writes the batch with one
//! `pwrite` starting on a 4 KiB boundary (padded to the next one, so a batch of small writes
//! costs one overwritten block, never a read-modify-write of a block), calls `fdatasync`
//! once and only then lets the batch be acknowledged.
//!
//! The file is laid out with zeros at creation ([`LOG_SIZE`]) and overwritten cyclically, so a
//! sync never has to persist a change of size or of allocated extents. It starts with two
//! header slots; a header names an epoch (bumped each time the log starts over) and the first
//! revision expected after it, and carries its own CRC. A new epoch is written into the slot
//! the current one does not use, so a torn header write leaves the previous header intact.
//! The log starts over only after SQLite's state up to the end of the log is durable.
//!
//! Frame: magic, payload length, epoch, revision, first revision of its batch, flags (last of
//! its batch, deletion), CRC32 of all of it, then the payload (create revision, previous
//! revision, key, value), padded to 8 bytes.
//!
//! Reading at open: frames of the current epoch are taken while their revisions follow each
//! other. The first frame that is missing, of an older epoch or unreadable ends the log, and
//! the batch it belongs to is dropped whole: its sync never completed, so none of it was
//! acknowledged. If an intact frame of a *later* batch follows, a batch that had been synced
//! is damaged, and the log is refused rather than cut short.

use crate::types::Revision;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bytes laid out for a new log.
pub(crate) const LOG_SIZE: u64 = 16 << 20;
/// Every batch starts on a block boundary.
const BLOCK: u64 = 4096;
/// The two header slots take the first two blocks; frames follow.
const DATA_START: u64 = 2 * BLOCK;
const HEADER_MAGIC: u32 = 0x4248_4452; // "BHDR"
const HEADER_VERSION: u32 = 1;
const HEADER_LEN: usize = 28;
const FRAME_MAGIC: u32 = 0x424c_4f47; // "BLOG"
const FRAME_HEADER: usize = 40;
const FLAG_LAST: u32 = 1;
const FLAG_DELETED: u32 = 2;

/// One change as the log keeps it: everything needed to apply it to SQLite again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub rev: Revision,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub create_rev: Revision,
    /// The key's previous mod revision, 0 for a creation.
    pub prev_rev: Revision,
    pub deleted: bool,
}

/// What the log held at open.
pub(crate) struct Recovered {
    /// Changes of the current epoch, oldest first, with consecutive revisions from `base`.
    pub records: Vec<Record>,
    /// The first revision of the current epoch.
    pub base: Revision,
    epoch: u64,
}

/// The log's path for the database at `db`.
pub(crate) fn path_for(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-berthlog");
    PathBuf::from(p)
}

/// A batch did not fit in the space left before the end of the log.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// The log must start over (after SQLite is made durable) before this batch fits; when
    /// `ever` is false it would not fit even in an empty log.
    Full {
        ever: bool,
    },
    Io(std::io::Error),
}

/// The open log, owned by the store's writer thread.
pub(crate) struct CommitLog {
    file: File,
    epoch: u64,
    /// Where the next batch goes.
    pos: u64,
    capacity: u64,
    buf: Vec<u8>,
    /// How long the last successful append spent encoding and writing, and syncing.
    pub timing: (Duration, Duration),
}

/// Reads the log at `path` without writing anything. `Ok(None)` means there is no log yet (no
/// file, or a file whose creation never finished); `Err` carries why the log is refused.
pub(crate) fn read(path: &Path) -> Result<Option<Recovered>, String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the commit log: {e}")),
    };
    let mut log = Window::new(file).map_err(|e| format!("cannot read the commit log: {e}"))?;
    let io = |e: std::io::Error| format!("cannot read the commit log: {e}");
    if log.len < DATA_START as usize {
        let all = log.bytes(0, log.len).map_err(io)?.unwrap_or_default();
        return if all.iter().all(|&b| b == 0) {
            Ok(None)
        } else {
            Err("the commit log is too short to hold its header".into())
        };
    }
    let head = log
        .bytes(0, DATA_START as usize)
        .map_err(io)?
        .unwrap_or_default();
    let slots = [0, BLOCK as usize].map(|at| &head[at..at + HEADER_LEN]);
    let headers = slots.map(parse_header);
    let (epoch, base) = match headers {
        [None, None] => {
            if slots.iter().all(|s| s.iter().all(|&b| b == 0)) {
                return Ok(None);
            }
            return Err("the commit log's header is damaged".into());
        }
        [Some(a), Some(b)] => {
            if a.0 >= b.0 {
                a
            } else {
                b
            }
        }
        [Some(h), None] | [None, Some(h)] => h,
    };
    let mut records = Vec::new();
    let mut pos = DATA_START as usize;
    let mut expected = base;
    // The first revision of the batch being read, once inside one.
    let mut batch: Option<Revision> = None;
    while let Some(frame) = log.frame(pos, epoch).map_err(io)? {
        let batch_ok = match batch {
            None => frame.batch == frame.record.rev,
            Some(first) => frame.batch == first,
        };
        if frame.record.rev != expected || !batch_ok {
            break;
        }
        expected += 1;
        records.push(frame.record);
        if frame.last {
            pos = align(pos + frame.len, BLOCK as usize);
            batch = None;
        } else {
            pos += frame.len;
            batch = Some(frame.batch);
        }
    }
    // The batch that ended the log never finished its sync: drop what was read of it.
    let torn = batch.unwrap_or(expected);
    records.retain(|r| r.rev < torn);
    // Damage, not a torn tail, if an intact frame of a later batch lies beyond.
    let mut at = align(pos + 1, 8);
    while at + FRAME_HEADER <= log.len {
        let candidate = log
            .bytes(at, FRAME_HEADER)
            .map_err(io)?
            .is_some_and(|h| u32_at(h, 0) == FRAME_MAGIC && u64_at(h, 8) == epoch);
        if candidate {
            if let Some(frame) = log.frame(at, epoch).map_err(io)? {
                if frame.batch > torn {
                    return Err(format!(
                        "the commit log is damaged at byte {pos}: revision {expected} cannot \
                         be read, but revision {} after it is intact",
                        frame.record.rev
                    ));
                }
            }
        }
        at += 8;
    }
    Ok(Some(Recovered {
        records,
        base,
        epoch,
    }))
}

/// Bytes read from the log at open: a window of [`WINDOW`] bytes moved along the file, so
/// recovery never holds the whole log in memory.
struct Window {
    file: File,
    len: usize,
    /// File offset of `buf[0]`.
    start: usize,
    buf: Vec<u8>,
}

/// The read-ahead of [`Window`]; a larger frame gets a window of its own size.
const WINDOW: usize = 1 << 20;

impl Window {
    fn new(file: File) -> std::io::Result<Self> {
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        Ok(Window {
            file,
            len,
            start: 0,
            buf: Vec::new(),
        })
    }

    /// The `n` bytes at `at`, or `None` when the file ends before them.
    fn bytes(&mut self, at: usize, n: usize) -> std::io::Result<Option<&[u8]>> {
        let Some(end) = at.checked_add(n).filter(|&end| end <= self.len) else {
            return Ok(None);
        };
        if at < self.start || end > self.start + self.buf.len() {
            let take = n.max(WINDOW).min(self.len - at);
            self.buf.clear();
            self.buf.resize(take, 0);
            self.file.read_exact_at(&mut self.buf, at as u64)?;
            self.start = at;
        }
        Ok(Some(&self.buf[at - self.start..end - self.start]))
    }

    /// The intact frame of `epoch` at `at`, if there is one.
    fn frame(&mut self, at: usize, epoch: u64) -> std::io::Result<Option<Frame>> {
        let Some(header) = self.bytes(at, FRAME_HEADER)? else {
            return Ok(None);
        };
        let payload = u32_at(header, 4) as usize;
        Ok(self
            .bytes(at, FRAME_HEADER + payload)?
            .and_then(|whole| parse_frame(whole, 0, epoch)))
    }
}

impl CommitLog {
    /// Opens the log for writing and starts a new epoch whose first revision is `next`. The
    /// caller has made SQLite durable up to `next - 1` and applied every recovered record.
    pub(crate) fn start(
        path: &Path,
        recovered: Option<&Recovered>,
        next: Revision,
    ) -> std::io::Result<Self> {
        let fresh = recovered.is_none();
        let file = if fresh {
            let mut file = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)?;
            let chunk = vec![0u8; 1 << 20];
            let mut at = 0;
            while at < LOG_SIZE {
                let n = chunk.len().min((LOG_SIZE - at) as usize);
                file.write_all(&chunk[..n])?;
                at += n as u64;
            }
            file.sync_all()?;
            if let Some(dir) = path.parent() {
                // The new file's directory entry must be durable before the log is relied on.
                File::open(if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                })?
                .sync_all()?;
            }
            file
        } else {
            File::options().read(true).write(true).open(path)?
        };
        let len = file.metadata()?.len();
        let mut log = CommitLog {
            file,
            epoch: recovered.map_or(0, |r| r.epoch),
            pos: DATA_START,
            capacity: len - len % BLOCK,
            buf: Vec::with_capacity(64 << 10),
            timing: Default::default(),
        };
        log.restart(next)?;
        Ok(log)
    }

    /// Starts a new epoch at the beginning of the log, its first revision `next`. Only call
    /// when SQLite's state up to `next - 1` is durable: older frames are overwritten.
    pub(crate) fn restart(&mut self, next: Revision) -> std::io::Result<()> {
        let epoch = self.epoch + 1;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(&HEADER_MAGIC.to_le_bytes());
        header.extend_from_slice(&HEADER_VERSION.to_le_bytes());
        header.extend_from_slice(&epoch.to_le_bytes());
        header.extend_from_slice(&next.to_le_bytes());
        let crc = crc32(&header);
        header.extend_from_slice(&crc.to_le_bytes());
        let slot = (epoch % 2) * BLOCK;
        self.file.write_all_at(&header, slot)?;
        self.file.sync_data()?;
        self.epoch = epoch;
        self.pos = DATA_START;
        Ok(())
    }

    /// Appends one batch (consecutive revisions) and syncs it. Nothing of a batch that does
    /// not fit is written.
    pub(crate) fn append(&mut self, records: &[Record]) -> Result<(), AppendError> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        let started = Instant::now();
        self.buf.clear();
        for (i, r) in records.iter().enumerate() {
            let start = self.buf.len();
            let payload = 20 + r.key.len() + r.value.len();
            let mut flags = 0;
            if i + 1 == records.len() {
                flags |= FLAG_LAST;
            }
            if r.deleted {
                flags |= FLAG_DELETED;
            }
            self.buf.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
            self.buf.extend_from_slice(&(payload as u32).to_le_bytes());
            self.buf.extend_from_slice(&self.epoch.to_le_bytes());
            self.buf.extend_from_slice(&r.rev.to_le_bytes());
            self.buf.extend_from_slice(&first.rev.to_le_bytes());
            self.buf.extend_from_slice(&flags.to_le_bytes());
            self.buf.extend_from_slice(&[0; 4]);
            self.buf.extend_from_slice(&r.create_rev.to_le_bytes());
            self.buf.extend_from_slice(&r.prev_rev.to_le_bytes());
            self.buf
                .extend_from_slice(&(r.key.len() as u32).to_le_bytes());
            self.buf.extend_from_slice(&r.key);
            self.buf.extend_from_slice(&r.value);
            let crc = frame_crc(&self.buf[start..]);
            self.buf[start + 36..start + 40].copy_from_slice(&crc.to_le_bytes());
            self.buf.resize(align(self.buf.len(), 8), 0);
        }
        self.buf.resize(align(self.buf.len(), BLOCK as usize), 0);
        let len = self.buf.len() as u64;
        if self.pos + len > self.capacity {
            return Err(AppendError::Full {
                ever: DATA_START + len <= self.capacity,
            });
        }
        self.file
            .write_all_at(&self.buf, self.pos)
            .map_err(AppendError::Io)?;
        let written = Instant::now();
        self.file.sync_data().map_err(AppendError::Io)?;
        let synced = Instant::now();
        self.timing = (written - started, synced - written);
        self.pos += len;
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::with_capacity(64 << 10);
        }
        Ok(())
    }
}

fn align(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().unwrap_or([0; 4]))
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().unwrap_or([0; 8]))
}

fn i64_at(data: &[u8], at: usize) -> i64 {
    u64_at(data, at) as i64
}

/// `(epoch, first revision)` of a header slot, if it is intact.
fn parse_header(slot: &[u8]) -> Option<(u64, Revision)> {
    if u32_at(slot, 0) != HEADER_MAGIC || u32_at(slot, 4) != HEADER_VERSION {
        return None;
    }
    if crc32(&slot[..HEADER_LEN - 4]) != u32_at(slot, HEADER_LEN - 4) {
        return None;
    }
    Some((u64_at(slot, 8), i64_at(slot, 16)))
}

struct Frame {
    record: Record,
    batch: Revision,
    last: bool,
    /// Bytes the frame takes, padding included.
    len: usize,
}

/// The CRC of a whole frame (header and payload), its own CRC field counted as zeros.
fn frame_crc(frame: &[u8]) -> u32 {
    let mut c = crc32fast::Hasher::new();
    c.update(&frame[..36]);
    c.update(&[0; 4]);
    c.update(&frame[40..]);
    c.finalize()
}

fn parse_frame(data: &[u8], at: usize, epoch: u64) -> Option<Frame> {
    if at + FRAME_HEADER > data.len() || u32_at(data, at) != FRAME_MAGIC {
        return None;
    }
    if u64_at(data, at + 8) != epoch {
        return None;
    }
    let payload = u32_at(data, at + 4) as usize;
    let end = at.checked_add(FRAME_HEADER)?.checked_add(payload)?;
    if payload < 20 || end > data.len() {
        return None;
    }
    if frame_crc(&data[at..end]) != u32_at(data, at + 36) {
        return None;
    }
    let flags = u32_at(data, at + 32);
    let p = at + FRAME_HEADER;
    let key_len = u32_at(data, p + 16) as usize;
    if 20 + key_len > payload {
        return None;
    }
    Some(Frame {
        record: Record {
            rev: i64_at(data, at + 16),
            key: data[p + 20..p + 20 + key_len].to_vec(),
            value: data[p + 20 + key_len..end].to_vec(),
            create_rev: i64_at(data, p),
            prev_rev: i64_at(data, p + 8),
            deleted: flags & FLAG_DELETED != 0,
        },
        batch: i64_at(data, at + 24),
        last: flags & FLAG_LAST != 0,
        len: align(end - at, 8),
    })
}

/// CRC-32 (IEEE) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log's checksum is CRC-32 (IEEE), bit by bit: frames written by earlier versions must
    /// stay readable.
    fn crc32_bitwise(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let long: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        assert_eq!(crc32(&long), crc32_bitwise(&long));
        let mut frame = long[..300].to_vec();
        let whole = frame_crc(&frame);
        frame[36..40].copy_from_slice(&[0; 4]);
        assert_eq!(whole, crc32_bitwise(&frame));
    }

    fn record(rev: Revision, value: &[u8]) -> Record {
        Record {
            rev,
            key: format!("/k/{rev}").into_bytes(),
            value: value.to_vec(),
            create_rev: rev,
            prev_rev: 0,
            deleted: rev % 3 == 0,
        }
    }

    #[test]
    fn batches_read_back_in_order_and_a_new_epoch_hides_old_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-berthlog");
        assert!(read(&path).unwrap().is_none());
        let mut log = CommitLog::start(&path, None, 1).unwrap();
        let batches = [
            vec![record(1, b"a")],
            vec![record(2, b"bb"), record(3, &[9; 5000]), record(4, b"")],
            vec![record(5, b"e")],
        ];
        for b in &batches {
            log.append(b).unwrap();
        }
        let got = read(&path).unwrap().unwrap();
        assert_eq!(got.base, 1);
        assert_eq!(got.records, batches.concat());
        log.restart(6).unwrap();
        let got = read(&path).unwrap().unwrap();
        assert_eq!(got.base, 6);
        assert!(got.records.is_empty());
    }

    #[test]
    fn recovery_reads_across_its_window_and_finds_damage_beyond_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-berthlog");
        let mut log = CommitLog::start(&path, None, 1).unwrap();
        // Frames spanning several windows, one of them larger than a window.
        let mut written = Vec::new();
        for rev in 1..=400 {
            let size = if rev == 200 { WINDOW + 4096 } else { 7000 };
            let batch = vec![record(rev, &vec![rev as u8; size])];
            log.append(&batch).unwrap();
            written.extend(batch);
        }
        let got = read(&path).unwrap().unwrap();
        assert_eq!(got.records, written);

        // Damage a frame after the first window: everything after it is intact, so the log is
        // refused rather than cut short.
        let file = File::options().read(true).write(true).open(&path).unwrap();
        let at = DATA_START + 300 * 8192 + 4 * 4096 + WINDOW as u64;
        file.write_all_at(&[0xff; 64], at).unwrap();
        let err = read(&path).err().expect("damage in the middle is refused");
        assert!(err.contains("damaged"), "{err}");
    }
}

//! The etcd backend of Berth's store.
//!
//! A multi-machine Berth keeps its state in an etcd cluster. The store contract was modelled on
//! etcd's v3 API, so most operations are one request: conditional writes are transactions
//! comparing the key's create or mod revision, and the answer's header revision is the revision
//! of the write. What this module adds is the translation of etcd's errors and watch responses
//! into [`StoreError`] and [`WatchEvent`], and a timeout on every request so that an
//! unreachable etcd fails callers instead of hanging them.

use crate::types::prefix_end;
use crate::{
    EventKind, KeyValue, RangeRequest, RangeResult, Result, Revision, Store, StoreError, Watch,
    WatchEvent, WatchSource,
};
use async_trait::async_trait;
use etcd_client::{
    CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions,
    KvClient, PutOptions, ResponseHeader, Txn, TxnOp, TxnOpResponse, TxnResponse, WatchClient,
    WatchOptions, WatchResponse, WatchStream,
};
use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

/// How long any single request may take before the caller gets an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Compaction with `physical` waits until etcd has deleted the old revisions, which it does in
/// paced batches; on a big store that legitimately takes far longer than a normal request.
const COMPACT_TIMEOUT: Duration = Duration::from_secs(300);

/// Readiness checks must answer quickly so that `/readyz` reports a stuck etcd as not ready.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// Establishing a TCP connection to a live etcd takes milliseconds; waiting longer only delays
/// the error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// HTTP/2 pings on open streams, so that a watch on a vanished etcd ends with an error instead
/// of waiting forever. etcd refuses pings more frequent than every 5 s by default.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Large lists and busy watches produce responses well beyond gRPC's 4 MiB default; accept
/// anything etcd is willing to send rather than fail a list of a big prefix.
const MAX_MESSAGE_SIZE: usize = i32::MAX as usize;

/// The key read by revision probes. A count-only read of it is the cheapest linearizable
/// request there is, and its answer carries the current revision.
const PROBE_KEY: &[u8] = b"\0";

/// etcd's error texts for reads outside the retained history (`mvcc.ErrCompacted`,
/// `mvcc.ErrFutureRev`); gRPC carries only the message, so it is matched as text.
const ERR_COMPACTED: &str = "required revision has been compacted";
const ERR_FUTURE: &str = "required revision is a future revision";

/// A [`Store`] on an etcd v3 cluster.
///
/// Cloning is cheap and clones share the connections.
#[derive(Clone)]
pub struct EtcdStore {
    kv: KvClient,
    watch: WatchClient,
}

impl EtcdStore {
    /// Connects to the etcd cluster at `endpoints` (URLs such as `http://127.0.0.1:2379`).
    ///
    /// Connections are made lazily, so this succeeds even while etcd is down; use
    /// [`Store::health`] to find out whether it answers. Fails for an empty list or a URL that
    /// does not parse.
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        if endpoints.is_empty() {
            return Err(StoreError::Backend("etcd: no endpoints given".into()));
        }
        let options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_keep_alive(KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT)
            // etcd answers pings without an open stream with GOAWAY ("too many pings").
            .with_keep_alive_while_idle(false)
            // A member cut off from its cluster would otherwise keep a watch open that never
            // delivers again; with this etcd ends it (and fails other requests) at once.
            .with_require_leader(true);
        let client = etcd_client::Client::connect(endpoints, Some(options))
            .await
            .map_err(|err| etcd_error("connect", err))?;
        Ok(EtcdStore {
            kv: client
                .kv_client()
                .max_decoding_message_size(MAX_MESSAGE_SIZE),
            watch: client
                .watch_client()
                .max_decoding_message_size(MAX_MESSAGE_SIZE),
        })
    }

    async fn txn(&self, what: &str, txn: Txn) -> Result<TxnResponse> {
        let mut kv = self.kv.clone();
        within(REQUEST_TIMEOUT, what, kv.txn(txn))
            .await?
            .map_err(|err| etcd_error(what, err))
    }

    async fn revision_probe(&self, limit: Duration) -> Result<Revision> {
        let mut kv = self.kv.clone();
        let options = GetOptions::new().with_count_only();
        let response = within(limit, "read revision", kv.get(PROBE_KEY, Some(options)))
            .await?
            .map_err(|err| etcd_error("read revision", err))?;
        header_revision(response.header())
    }

    /// The oldest revision etcd still has, found by asking for a watch at `requested`, which
    /// etcd refuses with the compaction point; range errors do not carry it. `0` if unknown.
    async fn compacted_revision(&self, requested: Revision) -> Revision {
        let mut client = self.watch.clone();
        let lookup = async {
            let options = WatchOptions::new().with_start_revision(requested.max(1));
            let mut stream = client.watch(PROBE_KEY, Some(options)).await.ok()?;
            loop {
                let response = stream.message().await.ok()??;
                if response.compact_revision() > 0 {
                    return Some(response.compact_revision());
                }
                if response.canceled() {
                    return None;
                }
            }
        };
        // etcd reports the compaction from its watcher sync loop, which runs every 100 ms.
        tokio::time::timeout(Duration::from_secs(1), lookup)
            .await
            .ok()
            .flatten()
            .unwrap_or(0)
    }

    /// Turns etcd's "outside the retained history" errors into the contract's errors, filling
    /// in what etcd's message leaves out.
    async fn revision_error(
        &self,
        requested: Revision,
        what: &str,
        err: etcd_client::Error,
    ) -> StoreError {
        let text = err.to_string();
        if text.contains(ERR_COMPACTED) {
            StoreError::Compacted {
                requested,
                compacted: self.compacted_revision(requested).await,
            }
        } else if text.contains(ERR_FUTURE) {
            StoreError::FutureRevision {
                requested,
                current: self.revision_probe(HEALTH_TIMEOUT).await.unwrap_or(0),
            }
        } else {
            etcd_error(what, err)
        }
    }
}

#[async_trait]
impl Store for EtcdStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.clone(), None)])
            .or_else([TxnOp::get(key, None)]);
        let response = self.txn("create", txn).await?;
        let revision = header_revision(response.header())?;
        if !response.succeeded() {
            return Err(StoreError::AlreadyExists { key: key.into() });
        }
        Ok(KeyValue {
            key: key.into(),
            value,
            create_revision: revision,
            mod_revision: revision,
        })
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected_mod_revision: Revision,
    ) -> Result<KeyValue> {
        // The create-revision guard keeps an expectation of 0 (the mod revision etcd compares
        // an absent key as) from turning an update into a create.
        let txn = Txn::new()
            .when([
                Compare::create_revision(key, CompareOp::Greater, 0),
                Compare::mod_revision(key, CompareOp::Equal, expected_mod_revision),
            ])
            .and_then([TxnOp::put(
                key,
                value.clone(),
                Some(PutOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let response = self.txn("update", txn).await?;
        let revision = header_revision(response.header())?;
        if !response.succeeded() {
            return Err(lost_condition(key, expected_mod_revision, &response)?);
        }
        let create_revision = response
            .op_responses()
            .into_iter()
            .find_map(|op| match op {
                TxnOpResponse::Put(mut put) => put.take_prev_key(),
                _ => None,
            })
            .map(|prev| prev.create_revision())
            .ok_or_else(|| {
                StoreError::Backend("etcd: update: no previous value returned".into())
            })?;
        Ok(KeyValue {
            key: key.into(),
            value,
            create_revision,
            mod_revision: revision,
        })
    }

    async fn delete(&self, key: &str, expected_mod_revision: Option<Revision>) -> Result<KeyValue> {
        let delete_options = DeleteOptions::new().with_prev_key();
        let (revision, deleted) = match expected_mod_revision {
            Some(expected) => {
                let txn = Txn::new()
                    .when([
                        Compare::create_revision(key, CompareOp::Greater, 0),
                        Compare::mod_revision(key, CompareOp::Equal, expected),
                    ])
                    .and_then([TxnOp::delete(key, Some(delete_options))])
                    .or_else([TxnOp::get(key, None)]);
                let response = self.txn("delete", txn).await?;
                let revision = header_revision(response.header())?;
                if !response.succeeded() {
                    return Err(lost_condition(key, expected, &response)?);
                }
                let deleted = response.op_responses().into_iter().find_map(|op| match op {
                    TxnOpResponse::Delete(mut delete) => delete.take_prev_kvs().into_iter().next(),
                    _ => None,
                });
                (revision, deleted)
            }
            None => {
                let mut kv = self.kv.clone();
                let mut response = within(
                    REQUEST_TIMEOUT,
                    "delete",
                    kv.delete(key, Some(delete_options)),
                )
                .await?
                .map_err(|err| etcd_error("delete", err))?;
                let revision = header_revision(response.header())?;
                (revision, response.take_prev_kvs().into_iter().next())
            }
        };
        let deleted = deleted.ok_or_else(|| StoreError::NotFound { key: key.into() })?;
        Ok(KeyValue {
            mod_revision: revision,
            ..to_key_value(deleted)?
        })
    }

    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, Revision)> {
        let mut kv = self.kv.clone();
        let mut response = within(REQUEST_TIMEOUT, "get", kv.get(key, None))
            .await?
            .map_err(|err| etcd_error("get", err))?;
        let revision = header_revision(response.header())?;
        let found = response
            .take_kvs()
            .into_iter()
            .next()
            .map(to_key_value)
            .transpose()?;
        Ok((found, revision))
    }

    async fn range(&self, request: RangeRequest) -> Result<RangeResult> {
        let (prefix_key, end) = key_range(&request.prefix);
        let mut start = prefix_key;
        if let Some(after) = &request.start_after {
            let mut next = after.as_bytes().to_vec();
            next.push(0);
            // A continuation key before the prefix must not widen the range beyond it.
            start = start.max(next);
        }
        let mut options = GetOptions::new().with_range(end);
        if request.limit > 0 {
            options = options.with_limit(i64::try_from(request.limit).unwrap_or(i64::MAX));
        }
        if request.revision > 0 {
            options = options.with_revision(request.revision);
        }
        let mut kv = self.kv.clone();
        let mut response =
            match within(REQUEST_TIMEOUT, "range", kv.get(start, Some(options))).await? {
                Ok(response) => response,
                Err(err) => return Err(self.revision_error(request.revision, "range", err).await),
            };
        // etcd's header carries the newest revision even for a read in the past; the read
        // itself was served at the revision asked for.
        let revision = if request.revision > 0 {
            request.revision
        } else {
            header_revision(response.header())?
        };
        let kvs = response
            .take_kvs()
            .into_iter()
            .map(to_key_value)
            .collect::<Result<Vec<_>>>()?;
        Ok(RangeResult {
            kvs,
            more: response.more(),
            revision,
        })
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<Watch> {
        // Revision 0 is an ordinary starting point here (replay from the first revision), as in
        // the other backends; etcd's own "start now" meaning of 0 is never used, because "now"
        // would be whenever etcd gets around to registering the watch.
        let after = after.max(0);
        let (key, end) = key_range(prefix);
        let options = WatchOptions::new()
            .with_range(end)
            .with_start_revision(after.saturating_add(1))
            .with_prev_key();
        let mut client = self.watch.clone();
        let mut stream = within(REQUEST_TIMEOUT, "watch", client.watch(key, Some(options)))
            .await?
            .map_err(|err| etcd_error("watch", err))?;
        // Wait for etcd to acknowledge the watch, so a refused watch fails here and a returned
        // one is known to be registered.
        let first = within(REQUEST_TIMEOUT, "watch", stream.message())
            .await?
            .map_err(|err| etcd_error("watch", err))?
            .ok_or_else(|| StoreError::Backend("etcd: watch: stream closed at once".into()))?;
        let mut source = EtcdWatch {
            stream,
            pending: VecDeque::new(),
            position: after,
            ended: false,
        };
        source.absorb(first);
        Ok(Watch::new(Box::new(source)))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        if revision <= 0 {
            return Ok(());
        }
        let mut kv = self.kv.clone();
        let options = CompactionOptions::new().with_physical();
        match within(
            COMPACT_TIMEOUT,
            "compact",
            kv.compact(revision, Some(options)),
        )
        .await?
        {
            Ok(_) => Ok(()),
            // Already compacted at or past this revision: the history is gone either way.
            Err(err) if err.to_string().contains(ERR_COMPACTED) => Ok(()),
            Err(err) => Err(self.revision_error(revision, "compact", err).await),
        }
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.revision_probe(REQUEST_TIMEOUT).await
    }

    async fn health(&self) -> Result<()> {
        self.revision_probe(HEALTH_TIMEOUT).await.map(|_| ())
    }
}

/// The events of one etcd watch, translated one response at a time.
struct EtcdWatch {
    /// Holds both directions of the gRPC stream; dropping it cancels the watch in etcd.
    stream: WatchStream,
    /// Translated events (and at most one final error) not yet handed out.
    pending: VecDeque<Result<WatchEvent>>,
    /// The revision the watcher has reached: its start point, then the last event queued.
    position: Revision,
    /// No more responses will be read; what is pending is all that is left.
    ended: bool,
}

impl EtcdWatch {
    fn absorb(&mut self, response: WatchResponse) {
        if response.compact_revision() > 0 {
            self.finish(StoreError::Compacted {
                requested: self.position,
                compacted: response.compact_revision(),
            });
            return;
        }
        if response.canceled() {
            let reason = match response.cancel_reason() {
                "" => "no reason given",
                reason => reason,
            };
            self.finish(StoreError::Backend(format!(
                "etcd: watch canceled: {reason}"
            )));
            return;
        }
        // Responses without events (creation, progress) only confirm the watch is alive.
        for event in response.events() {
            match to_watch_event(event) {
                Ok(event) => {
                    self.position = event.revision();
                    self.pending.push_back(Ok(event));
                }
                Err(err) => {
                    self.finish(err);
                    return;
                }
            }
        }
    }

    fn finish(&mut self, err: StoreError) {
        self.pending.push_back(Err(err));
        self.ended = true;
    }
}

#[async_trait]
impl WatchSource for EtcdWatch {
    async fn next(&mut self) -> Option<Result<WatchEvent>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            // Only state changes after this await, so dropping `next` mid-wait loses nothing.
            match self.stream.message().await {
                Ok(Some(response)) => self.absorb(response),
                // A watch on a live store never ends by itself; the caller must be told that
                // events may be missing, not that the store was closed.
                Ok(None) => self.finish(StoreError::Backend("etcd: watch stream closed".into())),
                Err(err) => self.finish(etcd_error("watch", err)),
            }
        }
    }
}

/// Runs an etcd request with a deadline; the outer error is the timeout, the inner one etcd's.
async fn within<T>(
    limit: Duration,
    what: &str,
    request: impl Future<Output = std::result::Result<T, etcd_client::Error>>,
) -> Result<std::result::Result<T, etcd_client::Error>> {
    tokio::time::timeout(limit, request).await.map_err(|_| {
        StoreError::Backend(format!(
            "etcd: {what}: no answer within {}s",
            limit.as_secs()
        ))
    })
}

fn etcd_error(what: &str, err: etcd_client::Error) -> StoreError {
    StoreError::Backend(format!("etcd: {what}: {err}"))
}

fn header_revision(header: Option<&ResponseHeader>) -> Result<Revision> {
    header
        .map(ResponseHeader::revision)
        .ok_or_else(|| StoreError::Backend("etcd: response without a header".into()))
}

/// The error for a failed conditional write, from the failure branch's read of the key.
fn lost_condition(key: &str, expected: Revision, response: &TxnResponse) -> Result<StoreError> {
    let current = response
        .op_responses()
        .into_iter()
        .find_map(|op| match op {
            TxnOpResponse::Get(mut get) => get.take_kvs().into_iter().next(),
            _ => None,
        })
        .map(to_key_value)
        .transpose()?;
    Ok(match current {
        None => StoreError::NotFound { key: key.into() },
        Some(current) => StoreError::Conflict {
            key: key.into(),
            expected,
            current: Some(Box::new(current)),
        },
    })
}

/// The etcd key range `[start, end)` holding every key under `prefix`. etcd has no empty key,
/// and spells "no upper bound" as an end of `\0`.
fn key_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let start = if prefix.is_empty() {
        PROBE_KEY.to_vec()
    } else {
        prefix.as_bytes().to_vec()
    };
    let end = prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0]);
    (start, end)
}

fn to_key_value(kv: etcd_client::KeyValue) -> Result<KeyValue> {
    let create_revision = kv.create_revision();
    let mod_revision = kv.mod_revision();
    let (key, value) = kv.into_key_value();
    Ok(KeyValue {
        key: utf8_key(key)?,
        value,
        create_revision,
        mod_revision,
    })
}

fn utf8_key(key: Vec<u8>) -> Result<String> {
    String::from_utf8(key).map_err(|err| {
        StoreError::Backend(format!(
            "etcd: key is not UTF-8: {}",
            String::from_utf8_lossy(err.as_bytes())
        ))
    })
}

fn to_watch_event(event: &etcd_client::Event) -> Result<WatchEvent> {
    let kv = event
        .kv()
        .cloned()
        .ok_or_else(|| StoreError::Backend("etcd: watch event without a key".into()))?;
    let prev = event.prev_kv().cloned().map(to_key_value).transpose()?;
    match event.event_type() {
        EventType::Put => Ok(WatchEvent {
            kind: EventKind::Put,
            kv: to_key_value(kv)?,
            prev,
        }),
        EventType::Delete => {
            // etcd's delete event carries only the key and the deletion revision; the value
            // and create revision come from the previous value when etcd still had it.
            let deletion = kv.mod_revision();
            let kv = match &prev {
                Some(prev) => KeyValue {
                    mod_revision: deletion,
                    ..prev.clone()
                },
                None => KeyValue {
                    mod_revision: deletion,
                    value: Vec::new(),
                    ..to_key_value(kv)?
                },
            };
            Ok(WatchEvent {
                kind: EventKind::Delete,
                kv,
                prev,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd_server::{etcd_available, EtcdServer};

    /// A store on a private etcd, or `None` (and a note) where no etcd binary is installed.
    async fn store() -> Option<(EtcdServer, EtcdStore)> {
        if !etcd_available() {
            eprintln!("skipping: no etcd binary (set BERTH_ETCD_BIN)");
            return None;
        }
        let server = EtcdServer::start().await.expect("start etcd");
        let store = EtcdStore::connect(&[server.endpoint()])
            .await
            .expect("connect");
        Some((server, store))
    }

    async fn next_event(watch: &mut Watch) -> WatchEvent {
        tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("event, not error")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn writes_are_conditional() {
        let Some((_server, store)) = store().await else {
            return;
        };
        let created = store.create("/a/x", b"1".to_vec()).await.unwrap();
        assert_eq!(created.create_revision, created.mod_revision);
        assert_eq!(created.value, b"1");
        assert!(matches!(
            store.create("/a/x", b"2".to_vec()).await,
            Err(StoreError::AlreadyExists { .. })
        ));

        let updated = store
            .update("/a/x", b"2".to_vec(), created.mod_revision)
            .await
            .unwrap();
        assert_eq!(updated.create_revision, created.create_revision);
        assert!(updated.mod_revision > created.mod_revision);
        assert_eq!(
            store.current_revision().await.unwrap(),
            updated.mod_revision
        );

        match store
            .update("/a/x", b"3".to_vec(), created.mod_revision)
            .await
        {
            Err(StoreError::Conflict {
                expected, current, ..
            }) => {
                assert_eq!(expected, created.mod_revision);
                assert_eq!(current.as_deref(), Some(&updated));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        for expected in [0, 1] {
            assert!(matches!(
                store.update("/a/absent", b"v".to_vec(), expected).await,
                Err(StoreError::NotFound { .. })
            ));
        }
        assert!(store.get("/a/absent").await.unwrap().0.is_none());

        assert!(matches!(
            store.delete("/a/x", Some(created.mod_revision)).await,
            Err(StoreError::Conflict { .. })
        ));
        let deleted = store
            .delete("/a/x", Some(updated.mod_revision))
            .await
            .unwrap();
        assert_eq!(deleted.value, b"2");
        assert_eq!(deleted.create_revision, created.create_revision);
        let (gone, revision) = store.get("/a/x").await.unwrap();
        assert!(gone.is_none());
        assert_eq!(deleted.mod_revision, revision);
        assert!(matches!(
            store.delete("/a/x", None).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.delete("/a/x", Some(0)).await,
            Err(StoreError::NotFound { .. })
        ));

        store.create("/a/y", b"y".to_vec()).await.unwrap();
        let deleted = store.delete("/a/y", None).await.unwrap();
        assert_eq!(deleted.value, b"y");
        assert_eq!(
            deleted.mod_revision,
            store.current_revision().await.unwrap()
        );
        store.health().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn range_pages_within_the_prefix() {
        let Some((_server, store)) = store().await else {
            return;
        };
        for key in ["/p", "/p/a", "/p/b", "/p/c", "/p/d", "/p/e", "/q/a", "/o/z"] {
            store.create(key, key.as_bytes().to_vec()).await.unwrap();
        }
        let before_f = store.current_revision().await.unwrap();
        store.create("/p/f", b"f".to_vec()).await.unwrap();

        let mut keys = Vec::new();
        let mut request = RangeRequest::prefix("/p/").limit(2);
        loop {
            let page = store.range(request.clone()).await.unwrap();
            assert!(page.kvs.len() <= 2);
            keys.extend(page.kvs.iter().map(|kv| kv.key.clone()));
            match (page.more, page.kvs.last()) {
                (true, Some(last)) => {
                    request = request
                        .start_after(last.key.clone())
                        .at_revision(page.revision)
                }
                _ => break,
            }
        }
        assert_eq!(keys, ["/p/a", "/p/b", "/p/c", "/p/d", "/p/e", "/p/f"]);

        let old = store
            .range(RangeRequest::prefix("/p/").at_revision(before_f))
            .await
            .unwrap();
        assert_eq!(old.kvs.len(), 5);
        assert_eq!(old.revision, before_f);

        // A continuation key before the prefix does not pull in keys outside it.
        let page = store
            .range(RangeRequest::prefix("/p/").start_after("/o"))
            .await
            .unwrap();
        assert_eq!(page.kvs.first().map(|kv| kv.key.as_str()), Some("/p/a"));
        // One past the prefix: empty, not an error.
        let page = store
            .range(RangeRequest::prefix("/p/").start_after("/q"))
            .await
            .unwrap();
        assert!(page.kvs.is_empty() && !page.more);

        let all = store.range(RangeRequest::prefix("")).await.unwrap();
        assert_eq!(all.kvs.len(), 9);
        assert!(!all.more);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn watch_replays_and_follows() {
        let Some((_server, store)) = store().await else {
            return;
        };
        let a = store.create("/w/a", b"1".to_vec()).await.unwrap();
        store.create("/other", b"x".to_vec()).await.unwrap();
        let a2 = store
            .update("/w/a", b"2".to_vec(), a.mod_revision)
            .await
            .unwrap();

        let now = store.current_revision().await.unwrap();
        let mut live = store.watch("/w/", now).await.unwrap();
        // Revision 0 replays from the beginning, like any other starting point.
        let mut replay = store.watch("/w/", 0).await.unwrap();
        let first = next_event(&mut replay).await;
        assert_eq!(
            (first.kind, first.kv.clone(), first.prev),
            (EventKind::Put, a.clone(), None)
        );
        let second = next_event(&mut replay).await;
        assert_eq!(second.kv, a2);
        assert_eq!(second.prev, Some(a.clone()));

        let deleted = store.delete("/w/a", None).await.unwrap();
        for watch in [&mut replay, &mut live] {
            let event = next_event(watch).await;
            assert_eq!(event.kind, EventKind::Delete);
            assert_eq!(event.kv, deleted);
            assert_eq!(event.revision(), deleted.mod_revision);
            assert_eq!(event.prev, Some(a2.clone()));
        }

        // A watch from the future waits for the revision to arrive.
        let now = store.current_revision().await.unwrap();
        let mut future = store.watch("/w/", now + 1).await.unwrap();
        store.create("/w/b", b"b".to_vec()).await.unwrap();
        let c = store.create("/w/c", b"c".to_vec()).await.unwrap();
        assert_eq!(next_event(&mut future).await.kv, c);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn compaction_cuts_off_history() {
        let Some((_server, store)) = store().await else {
            return;
        };
        let first = store.create("/c/a", b"1".to_vec()).await.unwrap();
        let mut revision = first.mod_revision;
        for i in 2..5 {
            revision = store
                .update("/c/a", vec![i], revision)
                .await
                .unwrap()
                .mod_revision;
        }
        store.compact(revision).await.unwrap();
        // Compacting again, or below, is not an error.
        store.compact(revision).await.unwrap();
        store.compact(first.mod_revision).await.unwrap();

        match store
            .range(RangeRequest::prefix("/c/").at_revision(first.mod_revision))
            .await
        {
            Err(StoreError::Compacted {
                requested,
                compacted,
            }) => {
                assert_eq!(requested, first.mod_revision);
                assert_eq!(compacted, revision);
            }
            other => panic!("expected compaction, got {other:?}"),
        }
        let at = store
            .range(RangeRequest::prefix("/c/").at_revision(revision))
            .await
            .unwrap();
        assert_eq!(at.kvs.len(), 1);

        let mut watch = store.watch("/c/", first.mod_revision).await.unwrap();
        let end = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("answer in time");
        assert!(
            matches!(end, Some(Err(StoreError::Compacted { compacted, .. })) if compacted == revision),
            "got {end:?}"
        );
        assert!(watch.next().await.is_none());

        let current = store.current_revision().await.unwrap();
        match store
            .range(RangeRequest::prefix("/c/").at_revision(current + 10))
            .await
        {
            Err(StoreError::FutureRevision {
                requested,
                current: reported,
            }) => {
                assert_eq!(requested, current + 10);
                assert_eq!(reported, current);
            }
            other => panic!("expected a future revision error, got {other:?}"),
        }
        assert!(matches!(
            store.compact(current + 10).await,
            Err(StoreError::FutureRevision { .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dead_etcd_fails_instead_of_hanging() {
        let Some((server, store)) = store().await else {
            return;
        };
        store.health().await.unwrap();
        drop(server);
        let result = tokio::time::timeout(Duration::from_secs(20), store.health())
            .await
            .expect("health answers within its timeout");
        assert!(
            matches!(result, Err(StoreError::Backend(_))),
            "got {result:?}"
        );
    }
}

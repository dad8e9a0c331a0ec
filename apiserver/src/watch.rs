//! Watch streams: one JSON event per line, flushed as it happens.
//!
//! Semantics clients rely on: a watch from resourceVersion N sends exactly the changes after
//! N; a watch without one (or with "0") first sends a synthetic ADDED for every existing
//! object; selectors apply per event, so an object that stops matching arrives as DELETED and
//! one that starts matching as ADDED; a watch from a compacted N gets HTTP 200 and then one
//! ERROR event with a 410 Expired Status; `timeoutSeconds` ends the stream cleanly.

use crate::cache::{Entry, Since, WatchCache};
use crate::handler::{Body, DEFAULT_WATCH_TIMEOUT};
use crate::registry::{self, CachedPage, ListOptions, Registry};
use crate::request::{Query, ResourceRequest};
use crate::status::{ApiError, ApiResult};
use crate::table::IncludeObject;
use berth_store::{keys, EventKind, Revision, StoreError};
use bytes::Bytes;
use http::{header, HeaderValue, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often a quiet watch sends a bookmark, when the client allows them.
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);
/// How long before a watch's deadline its last BOOKMARK goes out, so that a client resumes
/// from a fresh version.
const BOOKMARK_BEFORE_END: Duration = Duration::from_secs(2);

/// When a watch that allows bookmarks sends the next one: [`BOOKMARK_EVERY`] after the last,
/// or [`BOOKMARK_BEFORE_END`] before the deadline when that comes first; none once that
/// moment has passed.
struct BookmarkClock {
    deadline: tokio::time::Instant,
    next: Option<tokio::time::Instant>,
}

impl BookmarkClock {
    fn new(now: tokio::time::Instant, deadline: tokio::time::Instant) -> Self {
        let mut clock = BookmarkClock {
            deadline,
            next: None,
        };
        clock.sent(now);
        clock
    }

    /// A bookmark went out at `now` (or the watch started).
    fn sent(&mut self, now: tokio::time::Instant) {
        let heartbeat = now + BOOKMARK_EVERY;
        let next = match self.deadline.checked_sub(BOOKMARK_BEFORE_END) {
            Some(before_end) if before_end < heartbeat => before_end,
            _ => heartbeat,
        };
        self.next = (next > now).then_some(next);
    }
}

/// The watch-specific query parameters.
#[derive(Debug, Clone)]
pub struct WatchParams {
    /// `resourceVersion`, if given and not "0".
    pub resource_version: Option<Revision>,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial: Option<bool>,
    /// `timeoutSeconds`, or the server default.
    pub timeout: Duration,
}

impl WatchParams {
    /// Reads the parameters from the query.
    pub fn from_query(query: &Query) -> ApiResult<Self> {
        let resource_version = match query.get("resourceVersion") {
            None | Some("") | Some("0") => None,
            Some(rv) => Some(registry::parse_rv(rv)?),
        };
        // How the parameter combines with resourceVersionMatch is checked with the other
        // list options.
        let send_initial = query
            .get("sendInitialEvents")
            .map(|_| query.flag("sendInitialEvents"));
        // Unset or 0 takes the server's default; a negative timeout has already run out.
        let timeout = match query.int("timeoutSeconds")? {
            Some(s) if s > 0 => Duration::from_secs(s as u64),
            Some(s) if s < 0 => Duration::ZERO,
            _ => DEFAULT_WATCH_TIMEOUT,
        };
        Ok(WatchParams {
            resource_version,
            bookmarks: query.flag("allowWatchBookmarks"),
            send_initial,
            timeout,
        })
    }
}

impl WatchParams {
    /// When the watch ends: `timeout` from now, or (for a timeout too large to add to the
    /// clock, such as `timeoutSeconds=9223372036854775807`) a century from now.
    pub fn deadline(&self) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        now.checked_add(self.timeout)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
    }
}

struct Stream {
    tx: mpsc::Sender<Bytes>,
    resource: &'static berth_api_types::catalog::ResourceInfo,
    table: bool,
}

impl Stream {
    async fn send(&self, kind: &str, object: &Value) -> bool {
        let object = if self.table && kind != "BOOKMARK" && kind != "ERROR" {
            crate::table::build(
                self.resource,
                std::slice::from_ref(object),
                crate::table::IncludeObject::Metadata,
                registry::meta(object)
                    .get("resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                "",
            )
        } else {
            object.clone()
        };
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        self.tx.send(Bytes::from(line)).await.is_ok()
    }

    fn bookmark(&self, rv: Revision, initial_end: bool) -> Value {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": self.resource.kind, "apiVersion": self.resource.api_version(), "metadata": meta})
    }
}

/// Starts a watch and returns the streaming response.
pub async fn serve(
    registry: Registry,
    r: ResourceRequest,
    opts: ListOptions,
    params: WatchParams,
    table: bool,
    guard: crate::metrics::WatchGuard,
) -> ApiResult<Response<Body>> {
    let store = registry.store().clone();
    let prefix = keys::collection_prefix(r.resource, r.namespace.as_deref());
    let initial = params
        .send_initial
        .unwrap_or(params.resource_version.is_none());
    // `sendInitialEvents=false` without a resourceVersion: only what changes from now on.
    let from_now = params.send_initial == Some(false) && params.resource_version.is_none();
    let mut params = params;
    if let Some(cache) = registry.cache() {
        let servable = if initial {
            cache.sync().await
        } else if from_now {
            let synced = cache.sync().await;
            params.resource_version = cache.revision();
            synced && params.resource_version.is_some()
        } else {
            cache.covers(params.resource_version.unwrap_or(0))
        };
        if servable {
            return Ok(serve_cached(
                cache.clone(),
                r,
                prefix,
                opts,
                params,
                initial,
                table,
                guard,
            ));
        }
    }
    // The starting point and the initial state, resolved before answering so that errors
    // are plain responses (except an expired version, which the stream reports).
    let (start, initial_items) = if initial {
        let page = registry
            .list(
                &r,
                &ListOptions {
                    limit: 0,
                    continue_token: None,
                    resource_version: None,
                    ..opts.clone()
                },
            )
            .await?;
        (page.resource_version, page.items)
    } else if from_now {
        let rv = store.current_revision().await.map_err(ApiError::from)?;
        (rv, Vec::new())
    } else {
        let rv = params.resource_version.unwrap_or(0);
        (rv, Vec::new())
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let stream = Stream {
        tx,
        resource: r.resource,
        table,
    };
    let mut watch = match store.watch(&prefix, start).await {
        Ok(watch) => watch,
        // Answered in the stream, as a watch from a version older than the cache's ring is:
        // clients list again on that event, while an HTTP error is a failure to them.
        Err(StoreError::Compacted {
            requested,
            compacted,
        }) => {
            let _ = stream.send("ERROR", &too_old(requested, compacted)).await;
            return Ok(streaming_response(rx, table));
        }
        Err(e) => return Err(e.into()),
    };
    let name_filter = r.name.clone();
    tokio::spawn(async move {
        let _guard = guard;
        let deadline = params.deadline();
        for item in &initial_items {
            if !stream.send("ADDED", item).await {
                return;
            }
        }
        if params.send_initial == Some(true)
            && params.bookmarks
            && !stream.send("BOOKMARK", &stream.bookmark(start, true)).await
        {
            return;
        }
        let mut last = start;
        let mut clock = BookmarkClock::new(tokio::time::Instant::now(), deadline);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = stream.tx.closed() => return,
                _ = tokio::time::sleep_until(clock.next.unwrap_or(deadline)), if params.bookmarks && clock.next.is_some() => {
                    if !stream.send("BOOKMARK", &stream.bookmark(last, false)).await {
                        return;
                    }
                    clock.sent(tokio::time::Instant::now());
                }
                event = watch.next() => {
                    let event = match event {
                        Some(Ok(event)) => event,
                        Some(Err(StoreError::Compacted { requested, compacted })) => {
                            let _ = stream.send("ERROR", &too_old(requested, compacted)).await;
                            return;
                        }
                        Some(Err(e)) => {
                            let _ = stream.send("ERROR", &ApiError::internal(e.to_string()).to_status()).await;
                            return;
                        }
                        None => return,
                    };
                    last = event.revision();
                    // A deleted value carries the revision of its deletion (the store's contract).
                    let Ok(current) = registry::decode(&event.kv) else { continue };
                    if let Some(name) = &name_filter {
                        if registry::meta(&current).get("name").and_then(Value::as_str) != Some(name) {
                            continue;
                        }
                    }
                    let now_matches = registry::selected(r.resource, &opts, &current);
                    let (kind, object) = match event.kind {
                        EventKind::Delete if now_matches => ("DELETED", current),
                        EventKind::Delete => continue,
                        EventKind::Put => {
                            let before = event.prev.as_ref().and_then(|p| registry::decode(p).ok());
                            let was_matching = before.as_ref().map(|b| registry::selected(r.resource, &opts, b));
                            match (was_matching, now_matches) {
                                (Some(true), true) => ("MODIFIED", current),
                                // Gone from the selection: the last state the watcher was
                                // sent, at the version of the change.
                                (Some(true), false) => match before {
                                    Some(before) => ("DELETED", left_selection(before, last)),
                                    None => continue,
                                },
                                (Some(false), true) => ("ADDED", current),
                                (None, true) if event.kv.create_revision == event.kv.mod_revision => ("ADDED", current),
                                (None, true) => ("MODIFIED", current),
                                (_, false) => continue,
                            }
                        }
                    };
                    if !stream.send(kind, &object).await {
                        return;
                    }
                }
            }
        }
    });
    Ok(streaming_response(rx, table))
}

/// The DELETED object for one that stopped matching a watch's selectors at `revision`: its
/// previous state, stamped with the revision of the change that took it out.
fn left_selection(mut before: Value, revision: Revision) -> Value {
    registry::stamp_revision(&mut before, revision);
    before
}

/// The Status of the ERROR event that ends a watch whose position is older than the history
/// kept (410 Expired); `oldest` is where the kept history begins (the cache's ring floor or
/// the store's compacted revision). Every watch path ends this way, in the stream after an
/// HTTP 200.
fn too_old(requested: Revision, oldest: Revision) -> Value {
    ApiError::from(StoreError::Compacted {
        requested,
        compacted: oldest,
    })
    .to_status()
}

/// The streaming response that carries the lines sent to `rx`.
fn streaming_response(rx: mpsc::Receiver<Bytes>, table: bool) -> Response<Body> {
    let body = StreamBody::new(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, std::io::Error>(Frame::data(bytes)), rx))
    }));
    let mut resp = Response::new(BodyExt::boxed(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if table {
            "application/json;as=Table;v=v1;g=meta.k8s.io"
        } else {
            "application/json"
        }),
    );
    resp
}

/// One watch event line around an object's JSON bytes.
fn event_line(kind: &str, object: &[u8]) -> Bytes {
    let mut line = Vec::with_capacity(object.len() + 32);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(object);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

/// A watch served from the watch cache: the initial objects from a consistent snapshot, then
/// the events of the ring, with selectors applied to the cached index of each object.
#[allow(clippy::too_many_arguments)]
fn serve_cached(
    cache: Arc<WatchCache>,
    r: ResourceRequest,
    prefix: String,
    opts: ListOptions,
    params: WatchParams,
    initial: bool,
    table: bool,
    guard: crate::metrics::WatchGuard,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let stream = Stream {
        tx,
        resource: r.resource,
        table,
    };
    let labels = opts.labels.filter(|l| !l.is_empty());
    let fields = opts.fields.filter(|f| !f.is_empty());
    let name = r.name.clone();
    let resource = r.resource;
    let matches = move |e: &Entry| {
        name.as_deref().is_none_or(|n| e.name() == n)
            && e.selected(labels.as_ref(), fields.as_ref())
    };
    let render = move |kind: &str, e: &Arc<Entry>| {
        if table {
            let page = CachedPage {
                items: vec![e.clone()],
                resource_version: e.mod_revision,
                continue_token: None,
            };
            event_line(
                kind,
                &crate::handler::cached_table_parts(resource, page, IncludeObject::Metadata)
                    .into_bytes(),
            )
        } else {
            event_line(kind, &e.bytes)
        }
    };
    let mut changes = cache.changes();
    let snapshot = if initial {
        cache.list(&prefix, None, None, 0, &matches)
    } else {
        None
    };
    let start = match &snapshot {
        Some(page) => page.revision,
        None => params.resource_version.unwrap_or(0),
    };
    tokio::spawn(async move {
        let _guard = guard;
        let deadline = params.deadline();
        for item in snapshot.iter().flat_map(|p| &p.items) {
            if stream.tx.send(render("ADDED", item)).await.is_err() {
                return;
            }
        }
        if params.send_initial == Some(true)
            && params.bookmarks
            && !stream.send("BOOKMARK", &stream.bookmark(start, true)).await
        {
            return;
        }
        let mut pos = start;
        let mut clock = BookmarkClock::new(tokio::time::Instant::now(), deadline);
        loop {
            changes.borrow_and_update();
            match cache.events_after(&prefix, pos) {
                Since::Expired(floor) => {
                    let _ = stream.send("ERROR", &too_old(pos, floor)).await;
                    return;
                }
                Since::Events(events, at) => {
                    for event in &events {
                        pos = event.revision();
                        let now = matches(&event.object);
                        let line = match event.kind {
                            EventKind::Delete if now => render("DELETED", &event.object),
                            EventKind::Delete => continue,
                            EventKind::Put => match (event.prev.as_deref().map(&matches), now) {
                                (Some(true), true) => render("MODIFIED", &event.object),
                                // Gone from the selection: the last state the watcher was
                                // sent, at the version of the change.
                                (Some(true), false) => {
                                    let Some(left) =
                                        event.prev.as_ref().and_then(|p| p.at_revision(pos))
                                    else {
                                        continue;
                                    };
                                    render("DELETED", &Arc::new(left))
                                }
                                (_, true) => render("ADDED", &event.object),
                                (_, false) => continue,
                            },
                        };
                        if stream.tx.send(line).await.is_err() {
                            return;
                        }
                    }
                    pos = pos.max(at);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = stream.tx.closed() => return,
                _ = tokio::time::sleep_until(clock.next.unwrap_or(deadline)), if params.bookmarks && clock.next.is_some() => {
                    if !stream.send("BOOKMARK", &stream.bookmark(pos, false)).await {
                        return;
                    }
                    clock.sent(tokio::time::Instant::now());
                }
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    });
    streaming_response(rx, table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn watch_timeouts_default_when_unset_or_zero_and_end_at_once_when_negative() {
        let timeout = |q: &str| {
            WatchParams::from_query(&Query::parse(Some(q)))
                .unwrap()
                .timeout
        };
        assert_eq!(timeout(""), DEFAULT_WATCH_TIMEOUT);
        assert_eq!(timeout("timeoutSeconds=0"), DEFAULT_WATCH_TIMEOUT);
        assert_eq!(timeout("timeoutSeconds=7"), Duration::from_secs(7));
        assert_eq!(timeout("timeoutSeconds=-5"), Duration::ZERO);
    }

    #[test]
    fn bookmarks_come_every_minute_and_once_just_before_the_deadline() {
        let start = Instant::now();
        let secs = |s: u64| Duration::from_secs(s);
        // A long watch: every minute, then 2 s before its end, then none.
        let deadline = start + secs(150);
        let mut clock = BookmarkClock::new(start, deadline);
        assert_eq!(clock.next, Some(start + secs(60)));
        clock.sent(start + secs(60));
        assert_eq!(clock.next, Some(start + secs(120)));
        clock.sent(start + secs(120));
        assert_eq!(clock.next, Some(start + secs(148)));
        clock.sent(start + secs(148));
        assert_eq!(clock.next, None);
        // A short watch: only the one before its end.
        let mut clock = BookmarkClock::new(start, start + secs(10));
        assert_eq!(clock.next, Some(start + secs(8)));
        clock.sent(start + secs(8));
        assert_eq!(clock.next, None);
        // Shorter than the lead time: none.
        assert_eq!(BookmarkClock::new(start, start + secs(1)).next, None);
    }
}

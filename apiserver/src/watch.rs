//! Watch streams: one JSON event per line, flushed as it happens.
//!
//! Semantics clients rely on: a watch from resourceVersion N sends exactly the changes after
//! N; a watch without one (or with "0") first sends a synthetic ADDED for every existing
//! object; selectors apply per event, so an object that stops matching arrives as DELETED and
//! one that starts matching as ADDED; a compacted N ends in 410 Expired; `timeoutSeconds` ends
//! the stream cleanly.

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
        let send_initial = match query.get("sendInitialEvents") {
            None | Some("") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid sendInitialEvents value {other:?}"
                )))
            }
        };
        if send_initial.is_some() && query.get("resourceVersionMatch") != Some("NotOlderThan") {
            return Err(ApiError::invalid_message(
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        let timeout = match query.int("timeoutSeconds")? {
            Some(s) if s > 0 => Duration::from_secs(s as u64),
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
    // (410 for a compacted version) are plain responses.
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
    let mut watch = store.watch(&prefix, start).await.map_err(ApiError::from)?;
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let stream = Stream {
        tx,
        resource: r.resource,
        table,
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
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = stream.tx.closed() => return,
                _ = ticker.tick(), if params.bookmarks => {
                    if !stream.send("BOOKMARK", &stream.bookmark(last, false)).await {
                        return;
                    }
                }
                event = watch.next() => {
                    let event = match event {
                        Some(Ok(event)) => event,
                        Some(Err(StoreError::Compacted { requested, compacted })) => {
                            let err = ApiError::gone(format!("too old resource version: {requested} ({compacted})"));
                            let _ = stream.send("ERROR", &err.to_status()).await;
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
                    let kind = match event.kind {
                        EventKind::Delete if now_matches => "DELETED",
                        EventKind::Delete => continue,
                        EventKind::Put => {
                            let before = event.prev.as_ref().and_then(|p| registry::decode(p).ok());
                            let was_matching = before.as_ref().map(|b| registry::selected(r.resource, &opts, b));
                            match (was_matching, now_matches) {
                                (Some(true), true) => "MODIFIED",
                                (Some(true), false) => "DELETED",
                                (Some(false), true) => "ADDED",
                                (None, true) if event.kv.create_revision == event.kv.mod_revision => "ADDED",
                                (None, true) => "MODIFIED",
                                (_, false) => continue,
                            }
                        }
                    };
                    let object = current;
                    if !stream.send(kind, &object).await {
                        return;
                    }
                }
            }
        }
    });
    Ok(streaming_response(rx, table))
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
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        loop {
            changes.borrow_and_update();
            match cache.events_after(&prefix, pos) {
                Since::Expired(floor) => {
                    let err = ApiError::gone(format!("too old resource version: {pos} ({floor})"));
                    let _ = stream.send("ERROR", &err.to_status()).await;
                    return;
                }
                Since::Events(events, at) => {
                    for event in &events {
                        pos = event.revision();
                        let now = matches(&event.object);
                        let kind = match event.kind {
                            EventKind::Delete if now => "DELETED",
                            EventKind::Delete => continue,
                            EventKind::Put => match (event.prev.as_deref().map(&matches), now) {
                                (Some(true), true) => "MODIFIED",
                                (Some(true), false) => "DELETED",
                                (_, true) => "ADDED",
                                (_, false) => continue,
                            },
                        };
                        if stream.tx.send(render(kind, &event.object)).await.is_err() {
                            return;
                        }
                    }
                    pos = pos.max(at);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = stream.tx.closed() => return,
                _ = ticker.tick(), if params.bookmarks => {
                    if !stream.send("BOOKMARK", &stream.bookmark(pos, false)).await {
                        return;
                    }
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

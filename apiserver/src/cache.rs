//! The watch cache: every stored object held in memory as its serialized JSON (resourceVersion
//! already stamped) plus a small index, kept current from one store watch.
//!
//! - One task reads the whole store once, then follows one store watch over every key. Each
//!   change replaces the entry of its key and is appended to a ring of the last
//!   [`RING_SIZE`] events, so watches from a recent resourceVersion are served from memory.
//! - An entry carries the bytes a LIST or WATCH sends as they are, the object's namespace and
//!   name (in its key), its labels and the values of the fields field selectors read, so
//!   selectors never decode an object. Table rows are computed once per object revision
//!   ([`RowMemo`]); only the AGE cell, which depends on the moment of printing, is formatted
//!   at print time.
//! - The cache knows the newest store revision it has applied. A consistent read (a LIST
//!   without resourceVersion) asks the store for its current revision and waits, for at most
//!   [`CONSISTENT_WAIT`], until the cache has applied it; a caller that gets `None` from any
//!   read here serves the request from the store instead.
//! - When the store cuts the cache's watch off (it fell too far behind), the cache reads the
//!   store again and restarts its ring; watches positioned before the restart end with 410
//!   Expired and their clients list again.

use crate::status::ApiResult;
use berth_api_types::catalog::{ResourceInfo, CATALOG};
use berth_api_types::fields::{field_set, FieldSelector};
use berth_api_types::labels::LabelSelector;
use berth_api_types::tables::{self, IncludeObject};
use berth_store::{keys, DynStore, EventKind, KeyValue, RangeRequest, Revision, StoreError};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// How many recent events the ring keeps.
pub const RING_SIZE: usize = 8192;

/// How long a consistent read waits for the cache to catch up before the store serves it.
pub const CONSISTENT_WAIT: Duration = Duration::from_secs(3);

/// One object as the cache holds it.
pub struct Entry {
    /// The storage key.
    pub key: String,
    /// The object's JSON with its resourceVersion stamped.
    pub bytes: Vec<u8>,
    /// The object's resourceVersion (for a deleted object, the revision of its deletion).
    pub mod_revision: Revision,
    /// `metadata.labels`.
    labels: BTreeMap<String, String>,
    /// The selectable fields (`metadata.name`, `metadata.namespace` and the kind's own).
    fields: BTreeMap<String, String>,
    /// The Table row, computed on first use.
    row: OnceLock<Option<RowMemo>>,
}

/// A Table row computed once per object revision. The row's bytes are `before`, then the
/// AGE cell formatted at print time (when `age_from` is set), then `after`. The row's
/// PartialObjectMetadata is the object's own `metadata`, kept as its place in the entry's
/// bytes rather than copied.
struct RowMemo {
    before: Vec<u8>,
    age_from: Option<i64>,
    after: Vec<u8>,
    metadata: std::ops::Range<usize>,
}

/// Where the top-level `metadata` object sits in `bytes` (the tests' reference for the
/// places the views note while they decode).
#[cfg(test)]
fn metadata_range(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    #[derive(serde::Deserialize)]
    struct Top<'a> {
        #[serde(borrow)]
        metadata: Option<&'a serde_json::value::RawValue>,
    }
    let top: Top<'_> = serde_json::from_slice(bytes).ok()?;
    let raw = top.metadata?.get();
    if !raw.starts_with('{') {
        return None;
    }
    // The raw value borrows from `bytes`: its offset there is the distance of the pointers.
    let start = (raw.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    Some(start..start + raw.len())
}

/// The parts of an object the index reads, decoded without building the rest: every scalar
/// member of the object and of its top-level objects (`spec.nodeName`, `status.phase`,
/// `involvedObject.name`, `type`, ...), plus `metadata.labels` and `status.podIPs` whole.
/// Everything else (containers, managedFields, annotations, data) is skipped without
/// allocating. [`field_set`] and the labels read the same values from this as from the whole
/// object, because no selectable field lies deeper or inside another list or map.
/// Returns the view and where the top-level `metadata` sits in `bytes` (braces included), read
/// in the same pass.
fn index_view_at(bytes: &[u8]) -> Option<(Value, Option<std::ops::Range<usize>>)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut metadata = None;
    let top = Sparse {
        parent: None,
        metadata: Some(MetadataPlace {
            base: bytes.as_ptr() as usize,
            range: &mut metadata,
        }),
    };
    let value = serde::de::DeserializeSeed::deserialize(top, &mut de).ok()?;
    de.end().ok()?;
    value.is_object().then_some((value, metadata))
}

/// One level of [`index_view_at`]: `parent` is `None` at the top, else the member's name.
/// At the top, `metadata` (when given) receives where the `metadata` member sits: it is taken
/// whole (borrowed) to note its place before its own members are read.
struct Sparse<'p> {
    parent: Option<&'p str>,
    metadata: Option<MetadataPlace<'p>>,
}

/// Where [`Sparse`] notes the place of the top-level `metadata` in the bytes starting at `base`.
struct MetadataPlace<'m> {
    base: usize,
    range: &'m mut Option<std::ops::Range<usize>>,
}

impl MetadataPlace<'_> {
    /// Reads the `metadata` member's value: an object is noted and read with `seed`, a scalar
    /// kept, anything else skipped (`None`).
    fn read<'de, A, S>(&mut self, map: &mut A, seed: S) -> Result<Option<Value>, A::Error>
    where
        A: serde::de::MapAccess<'de>,
        S: serde::de::DeserializeSeed<'de, Value = Value>,
    {
        use serde::de::Error;
        let raw: &'de serde_json::value::RawValue = map.next_value()?;
        let text = raw.get();
        if !text.starts_with('{') {
            *self.range = None;
            return match serde_json::from_str::<Value>(text).map_err(A::Error::custom)? {
                Value::Array(_) | Value::Object(_) => Ok(None),
                scalar => Ok(Some(scalar)),
            };
        }
        let start = (text.as_ptr() as usize).wrapping_sub(self.base);
        *self.range = Some(start..start + text.len());
        let mut de = serde_json::Deserializer::from_str(text);
        seed.deserialize(&mut de)
            .map(Some)
            .map_err(A::Error::custom)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Sparse<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Sparse<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value = match (self.parent, key.as_ref(), self.metadata.as_mut()) {
                (None, "metadata", Some(place)) => {
                    let seed = Sparse {
                        parent: Some("metadata"),
                        metadata: None,
                    };
                    place.read(&mut map, seed)?
                }
                (Some("metadata"), "labels", _) | (Some("status"), "podIPs", _) => {
                    Some(map.next_value::<Value>()?)
                }
                _ => map.next_value_seed(Member {
                    parent: self.parent,
                    key: &key,
                })?,
            };
            if let Some(value) = value {
                out.insert(key.into_owned(), value);
            }
        }
        Ok(Value::Object(out))
    }
}

/// The object as the Table printers read it: everything but `metadata.managedFields`, which
/// no column shows and which is a large part of a typical object's bytes. Also returns where
/// the top-level `metadata` sits in `bytes` (braces included).
fn printable_view(bytes: &[u8]) -> Option<(Value, std::ops::Range<usize>)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut metadata = None;
    let seed = Printable::Top(MetadataPlace {
        base: bytes.as_ptr() as usize,
        range: &mut metadata,
    });
    let value = serde::de::DeserializeSeed::deserialize(seed, &mut de).ok()?;
    de.end().ok()?;
    Some((value, metadata?))
}

/// A level of [`printable_view`]: the top (noting where `metadata` sits) or `metadata`
/// itself (leaving out `managedFields`).
enum Printable<'m> {
    Top(MetadataPlace<'m>),
    Metadata,
}

impl<'de> serde::de::DeserializeSeed<'de> for Printable<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Printable<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value = match (&mut self, key.as_ref()) {
                (Printable::Top(place), "metadata") => {
                    match place.read(&mut map, Printable::Metadata)? {
                        Some(value) => value,
                        None => continue,
                    }
                }
                (Printable::Metadata, "managedFields") => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
                _ => map.next_value::<Value>()?,
            };
            out.insert(key.into_owned(), value);
        }
        Ok(Value::Object(out))
    }
}

/// A member name, borrowed from the bytes unless it holds escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        de.deserialize_str(V)
    }
}

/// A member of a [`Sparse`] object: a scalar is kept, an object one level down from the top
/// is walked, anything else is skipped (`None`).
struct Member<'p> {
    parent: Option<&'p str>,
    key: &'p str,
}

impl<'de> serde::de::DeserializeSeed<'de> for Member<'_> {
    type Value = Option<Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Option<Value>, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Member<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(Some(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(Some(Value::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(Some(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Option<Value>, E> {
        Ok(Some(Value::String(v.to_owned())))
    }

    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> Result<Option<Value>, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        if self.parent.is_some() {
            serde::de::Visitor::visit_map(serde::de::IgnoredAny, map)?;
            return Ok(None);
        }
        Sparse {
            parent: Some(self.key),
            metadata: None,
        }
        .visit_map(map)
        .map(Some)
    }
}

impl Entry {
    fn new(kv: &KeyValue) -> Option<Entry> {
        let resource = resource_of(&kv.key)?;
        let (obj, metadata) = index_view_at(&kv.value)?;
        let versioned = obj
            .get("metadata")
            .and_then(|m| m.get("resourceVersion"))
            .is_some_and(|v| !v.is_null());
        let spliced = match metadata {
            Some(at) if !versioned => crate::registry::splice_at(&kv.value, at, kv.mod_revision),
            _ => None,
        };
        let bytes = match spliced {
            Some(bytes) => bytes,
            None => crate::registry::stamped_bytes(kv).ok()?,
        };
        let labels = crate::registry::labels_of(&obj);
        let fields = field_set(resource.group, resource.kind, &obj);
        Some(Entry {
            key: kv.key.clone(),
            bytes,
            mod_revision: kv.mod_revision,
            labels,
            fields,
            row: OnceLock::new(),
        })
    }

    /// The same object stamped with `revision`: what a watcher is sent as DELETED when the
    /// change at `revision` took the object out of its selection.
    pub fn at_revision(&self, revision: Revision) -> Option<Entry> {
        let mut obj: Value = serde_json::from_slice(&self.bytes).ok()?;
        crate::registry::stamp_revision(&mut obj, revision);
        Some(Entry {
            key: self.key.clone(),
            bytes: serde_json::to_vec(&obj).ok()?,
            mod_revision: revision,
            labels: self.labels.clone(),
            fields: self.fields.clone(),
            row: OnceLock::new(),
        })
    }

    /// Whether the object passes a label and a field selector.
    pub fn selected(&self, labels: Option<&LabelSelector>, fields: Option<&FieldSelector>) -> bool {
        labels.is_none_or(|l| l.matches(&self.labels))
            && fields.is_none_or(|f| f.is_empty() || f.matches_set(&self.fields))
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        self.fields
            .get("metadata.name")
            .map(String::as_str)
            .unwrap_or_else(|| self.key.rsplit('/').next().unwrap_or_default())
    }

    /// The object decoded.
    pub fn decode(&self) -> ApiResult<Value> {
        serde_json::from_slice(&self.bytes).map_err(|e| {
            crate::status::ApiError::internal(format!(
                "cached object {} is not valid JSON: {e}",
                self.key
            ))
        })
    }

    /// Appends this object's Table row, as `include` asks, printed at `now` (Unix seconds).
    pub fn write_row(
        &self,
        resource: &ResourceInfo,
        include: IncludeObject,
        now: i64,
        out: &mut Vec<u8>,
    ) {
        let memo = self.row.get_or_init(|| self.memo(resource)).as_ref();
        let Some(memo) = memo else {
            // A row whose time-dependent cells cannot be memoized is printed in full.
            if let Ok(obj) = self.decode() {
                let row = tables::table_row(resource.group, resource.kind, &obj, include, now);
                let _ = serde_json::to_writer(&mut *out, &row);
            }
            return;
        };
        out.extend_from_slice(&memo.before);
        if let Some(created) = memo.age_from {
            let age = tables::human_duration(now - created);
            let _ = serde_json::to_writer(&mut *out, &age);
        }
        out.extend_from_slice(&memo.after);
        out.extend_from_slice(b",\"object\":");
        match include {
            IncludeObject::None => out.extend_from_slice(b"null"),
            IncludeObject::Metadata => {
                out.extend_from_slice(
                    b"{\"apiVersion\":\"meta.k8s.io/v1\",\"kind\":\"PartialObjectMetadata\",\"metadata\":",
                );
                out.extend_from_slice(&self.bytes[memo.metadata.clone()]);
                out.push(b'}');
            }
            IncludeObject::Object => out.extend_from_slice(&self.bytes),
        }
        out.push(b'}');
    }

    /// Computes the row memo: the cells printed at two moments a century apart tell which
    /// cells depend on time; the AGE column's cell is kept symbolic, any other such cell
    /// makes the row unmemoizable (`None`).
    fn memo(&self, resource: &ResourceInfo) -> Option<RowMemo> {
        const CENTURY: i64 = 100 * 365 * 86_400;
        let (obj, metadata) = printable_view(&self.bytes)?;
        let now = crate::table::now_seconds();
        let row = tables::table_row(
            resource.group,
            resource.kind,
            &obj,
            IncludeObject::None,
            now,
        );
        let cells_now = row.get("cells")?.as_array()?;
        let cells_later = tables::row_cells(resource.group, resource.kind, &obj, now + CENTURY);
        let columns = tables::columns(resource.group, resource.kind);
        let created = created_second(&obj);
        let mut age_at = None;
        for (i, (a, b)) in cells_now.iter().zip(&cells_later).enumerate() {
            if a == b {
                continue;
            }
            let is_age = columns.get(i).is_some_and(|c| c.name == "Age");
            let created = created?;
            let as_age = |t: i64| Value::String(tables::human_duration(t - created));
            if !is_age || age_at.is_some() || *a != as_age(now) || *b != as_age(now + CENTURY) {
                return None;
            }
            age_at = Some(i);
        }
        let cell = |c: &Value| serde_json::to_vec(c).unwrap_or_else(|_| b"null".to_vec());
        let mut before = b"{\"cells\":[".to_vec();
        let mut after = Vec::new();
        for (i, c) in cells_now.iter().enumerate() {
            let target = match age_at {
                Some(at) if i > at => &mut after,
                _ => &mut before,
            };
            if i > 0 {
                target.push(b',');
            }
            if age_at != Some(i) {
                target.extend_from_slice(&cell(c));
            }
        }
        after.push(b']');
        if let Some(conditions) = row.get("conditions") {
            after.extend_from_slice(b",\"conditions\":");
            after.extend_from_slice(&cell(conditions));
        }
        Some(RowMemo {
            before,
            age_from: age_at.and(created),
            after,
            metadata,
        })
    }
}

/// `metadata.creationTimestamp` in Unix seconds, when it is a whole second.
fn created_second(obj: &Value) -> Option<i64> {
    let text = obj.pointer("/metadata/creationTimestamp")?.as_str()?;
    let ts: berth_api_types::k8s::jiff::Timestamp = text.parse().ok()?;
    (ts.subsec_nanosecond() == 0).then(|| ts.as_second())
}

/// The resource a storage key belongs to.
fn resource_of(key: &str) -> Option<&'static ResourceInfo> {
    static PREFIXES: OnceLock<HashMap<String, &'static ResourceInfo>> = OnceLock::new();
    let prefixes = PREFIXES.get_or_init(|| {
        CATALOG
            .iter()
            .map(|r| (keys::resource_prefix(r), r))
            .collect()
    });
    let rest = key.strip_prefix(keys::ROOT)?;
    let mut parts = rest.splitn(3, '/');
    let first = parts.next()?;
    let core = format!("{}{first}/", keys::ROOT);
    if let Some(r) = prefixes.get(&core) {
        return Some(*r);
    }
    let second = parts.next()?;
    prefixes
        .get(&format!("{}{first}/{second}/", keys::ROOT))
        .copied()
}

/// One change, as the ring keeps it.
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// The object after the change (for a delete, the deleted object).
    pub object: Arc<Entry>,
    /// The object before the change, when the cache held it.
    pub prev: Option<Arc<Entry>>,
}

impl Event {
    /// The revision of the change.
    pub fn revision(&self) -> Revision {
        self.object.mod_revision
    }
}

#[derive(Default)]
struct State {
    /// Whether the first read of the store is done.
    ready: bool,
    /// Every object, by key.
    objects: BTreeMap<String, Arc<Entry>>,
    /// The newest revision applied.
    revision: Revision,
    /// The last events, oldest first.
    ring: VecDeque<Arc<Event>>,
    /// Every event after this revision is in the ring.
    ring_floor: Revision,
}

/// A snapshot page of the cache.
pub struct Page {
    /// The matching objects in key order.
    pub items: Vec<Arc<Entry>>,
    /// The revision the page was read at.
    pub revision: Revision,
    /// The key of the last item, when more matching items may follow it.
    pub more_after: Option<String>,
}

/// What [`WatchCache::events_after`] found.
pub enum Since {
    /// The events after the position under the prefix, and the revision the cache is at.
    Events(Vec<Arc<Event>>, Revision),
    /// The position is older than the ring; the watcher must start over.
    Expired(Revision),
}

/// The watch cache over one store.
pub struct WatchCache {
    state: RwLock<State>,
    progress: watch::Sender<Revision>,
    store: DynStore,
}

impl WatchCache {
    /// Starts a cache over `store`: it fills itself in the background and is used once ready.
    pub fn start(store: DynStore) -> Arc<WatchCache> {
        let (progress, _) = watch::channel(0);
        let cache = Arc::new(WatchCache {
            state: RwLock::new(State::default()),
            progress,
            store,
        });
        let weak = Arc::downgrade(&cache);
        tokio::spawn(async move {
            loop {
                let Some(cache) = weak.upgrade() else { return };
                match cache.follow().await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "watch cache lost its store watch; reading the store again");
                    }
                }
                drop(cache);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        cache
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the store, then applies its watch until it fails (`Err`) or the store closes.
    async fn follow(&self) -> Result<(), StoreError> {
        let all = self.store.range(RangeRequest::prefix("/")).await?;
        let mut watch = self.store.watch("/", all.revision).await?;
        {
            let mut state = self.write();
            state.objects = all
                .kvs
                .iter()
                .filter_map(|kv| Entry::new(kv).map(|e| (kv.key.clone(), Arc::new(e))))
                .collect();
            state.revision = all.revision;
            state.ring.clear();
            state.ring_floor = all.revision;
            state.ready = true;
        }
        self.progress.send_replace(all.revision);
        while let Some(event) = watch.next().await {
            let event = event?;
            let revision = event.revision();
            let entry = Entry::new(&event.kv).map(Arc::new);
            let mut state = self.write();
            let prev = match (event.kind, &entry) {
                (EventKind::Put, Some(e)) => state.objects.insert(e.key.clone(), e.clone()),
                _ => state.objects.remove(&event.kv.key),
            };
            if let Some(object) = entry {
                if state.ring.len() >= RING_SIZE {
                    if let Some(old) = state.ring.pop_front() {
                        state.ring_floor = old.revision();
                    }
                }
                state.ring.push_back(Arc::new(Event {
                    kind: event.kind,
                    object,
                    prev,
                }));
            }
            state.revision = state.revision.max(revision);
            drop(state);
            self.progress.send_replace(revision);
        }
        Ok(())
    }

    /// The revision the cache has applied, once it is ready.
    pub fn revision(&self) -> Option<Revision> {
        let state = self.read();
        state.ready.then_some(state.revision)
    }

    /// Waits until the cache has applied `revision`; false when it did not within `wait`.
    pub async fn wait_for(&self, revision: Revision, wait: Duration) -> bool {
        let mut rx = self.progress.subscribe();
        let reached = |state: &State| state.ready && state.revision >= revision;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if reached(&self.read()) {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return reached(&self.read()),
            }
        }
    }

    /// Waits until the cache has applied the store's current revision (a consistent read).
    pub async fn sync(&self) -> bool {
        match self.store.current_revision().await {
            Ok(current) => self.wait_for(current, CONSISTENT_WAIT).await,
            Err(_) => false,
        }
    }

    /// The cached object at `key`, if the cache is ready and holds it.
    pub fn get(&self, key: &str) -> Option<Arc<Entry>> {
        let state = self.read();
        if !state.ready {
            return None;
        }
        state.objects.get(key).cloned()
    }

    /// Reads the objects under `prefix` after key `start_after`, passing `filter`, at most
    /// `limit` of them (0: all). `at`: serve only if the cache is at exactly this revision.
    pub fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        at: Option<Revision>,
        limit: usize,
        filter: impl Fn(&Entry) -> bool,
    ) -> Option<Page> {
        let state = self.read();
        if !state.ready || at.is_some_and(|rv| rv != state.revision) {
            return None;
        }
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_owned()),
            _ => Bound::Included(prefix.to_owned()),
        };
        let mut items = Vec::new();
        let mut more_after = None;
        let mut range = state
            .objects
            .range((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix));
        for (_, entry) in range.by_ref() {
            if filter(entry) {
                items.push(entry.clone());
                if limit > 0 && items.len() >= limit {
                    break;
                }
            }
        }
        if limit > 0 && items.len() >= limit && range.any(|(_, e)| filter(e)) {
            more_after = items.last().map(|e| e.key.clone());
        }
        Some(Page {
            items,
            revision: state.revision,
            more_after,
        })
    }

    /// The events under `prefix` after revision `after`, or `Expired` when the ring no longer
    /// reaches back that far.
    pub fn events_after(&self, prefix: &str, after: Revision) -> Since {
        let state = self.read();
        if !state.ready || after < state.ring_floor {
            return Since::Expired(state.ring_floor);
        }
        let start = state.ring.partition_point(|e| e.revision() <= after);
        let events = state
            .ring
            .range(start..)
            .filter(|e| e.object.key.starts_with(prefix))
            .cloned()
            .collect();
        Since::Events(events, state.revision)
    }

    /// A receiver that wakes whenever the cache applies a change.
    pub fn changes(&self) -> watch::Receiver<Revision> {
        self.progress.subscribe()
    }

    /// Whether the ring holds every event after `after`.
    pub fn covers(&self, after: Revision) -> bool {
        let state = self.read();
        state.ready && after >= state.ring_floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{ListOptions, Registry};
    use crate::request::ResourceRequest;
    use berth_api_types::catalog::find;
    use berth_store::memory::MemoryStore;
    use serde_json::json;

    fn pods(namespace: Option<&str>) -> ResourceRequest {
        ResourceRequest {
            resource: find("", "pods").expect("pods are served"),
            namespace: namespace.map(str::to_owned),
            name: None,
            subresource: None,
            verb: "list",
        }
    }

    fn pod(name: &str, app: &str, node: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": app},
                "creationTimestamp": "2026-01-01T00:00:00Z", "uid": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running"},
        }))
        .unwrap()
    }

    fn key(name: &str) -> String {
        format!("/registry/pods/default/{name}")
    }

    async fn setup() -> (DynStore, Arc<WatchCache>, Registry) {
        let store: DynStore = Arc::new(MemoryStore::new());
        let cache = WatchCache::start(store.clone());
        assert!(
            cache.wait_for(0, CONSISTENT_WAIT).await,
            "the cache fills itself"
        );
        let registry = Registry::new(store.clone()).with_cache(cache.clone());
        (store, cache, registry)
    }

    fn names(items: &[Arc<Entry>]) -> Vec<&str> {
        items.iter().map(|e| e.name()).collect()
    }

    #[tokio::test]
    async fn a_consistent_read_waits_for_writes_the_cache_has_not_applied() {
        let (store, cache, registry) = setup().await;
        for i in 0..50 {
            store
                .create(
                    &key(&format!("p{i:02}")),
                    pod(&format!("p{i:02}"), "a", "n"),
                )
                .await
                .unwrap();
            // Read right after each write: an unset resourceVersion must see it.
            let page = registry
                .list_cached(&pods(Some("default")), &ListOptions::default())
                .await
                .unwrap()
                .expect("the cache serves consistent reads");
            assert_eq!(page.items.len(), i + 1);
            assert_eq!(
                page.resource_version,
                store.current_revision().await.unwrap()
            );
        }
        // A revision nobody has written yet is not reached; the wait gives up.
        assert!(!cache.wait_for(1_000_000, Duration::from_millis(50)).await);
        // An exact read is left to the store.
        let exact = ListOptions {
            resource_version: Some("3".into()),
            resource_version_match: Some("Exact".into()),
            ..Default::default()
        };
        assert!(registry
            .list_cached(&pods(None), &exact)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn selectors_use_the_index() {
        let (store, _cache, registry) = setup().await;
        for (name, app, node) in [("a", "web", "n1"), ("b", "db", "n1"), ("c", "web", "n2")] {
            store
                .create(&key(name), pod(name, app, node))
                .await
                .unwrap();
        }
        let list = |labels: &str, fields: &str| {
            let opts = ListOptions {
                labels: (!labels.is_empty()).then(|| LabelSelector::parse(labels).unwrap()),
                fields: (!fields.is_empty()).then(|| {
                    FieldSelector::parse(fields)
                        .unwrap()
                        .for_kind("", "Pod")
                        .unwrap()
                }),
                ..Default::default()
            };
            let registry = registry.clone();
            async move {
                let page = registry
                    .list_cached(&pods(None), &opts)
                    .await
                    .unwrap()
                    .unwrap();
                page.items
                    .iter()
                    .map(|e| e.name().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(list("app=web", "").await, ["a", "c"]);
        assert_eq!(list("app!=web", "").await, ["b"]);
        assert_eq!(list("", "spec.nodeName=n1").await, ["a", "b"]);
        assert_eq!(list("app=web", "spec.nodeName=n1").await, ["a"]);
        assert_eq!(
            list("", "metadata.name=c,status.phase=Running").await,
            ["c"]
        );
        assert!(list("", "status.phase=Pending").await.is_empty());
    }

    #[tokio::test]
    async fn continue_tokens_page_through_the_cache_and_fall_back_once_it_moved() {
        let (store, _cache, registry) = setup().await;
        for name in ["a", "b", "c", "d", "e"] {
            store.create(&key(name), pod(name, "x", "n")).await.unwrap();
        }
        let r = pods(Some("default"));
        let first = registry
            .list_cached(
                &r,
                &ListOptions {
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(names(&first.items), ["a", "b"]);
        let token = first.continue_token.clone().expect("more follow");
        let next = |token: String| ListOptions {
            limit: 2,
            continue_token: Some(token),
            ..Default::default()
        };
        let second = registry
            .list_cached(&r, &next(token))
            .await
            .unwrap()
            .expect("the cache has not moved");
        assert_eq!(names(&second.items), ["c", "d"]);
        assert_eq!(second.resource_version, first.resource_version);
        let token = second.continue_token.clone().expect("one more");
        // A write moves the cache on: the store serves the rest at the list's revision.
        store.create(&key("f"), pod("f", "x", "n")).await.unwrap();
        registry
            .list_cached(&r, &ListOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert!(registry
            .list_cached(&r, &next(token.clone()))
            .await
            .unwrap()
            .is_none());
        let rest = registry.list(&r, &next(token)).await.unwrap();
        let rest: Vec<_> = rest
            .items
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(rest, ["e"]);
        // The last page has no token.
        let last = registry
            .list_cached(
                &r,
                &ListOptions {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(last.items.len(), 6);
        assert!(last.continue_token.is_none());
    }

    #[tokio::test]
    async fn the_ring_serves_recent_watches_and_refuses_older_ones() {
        let (store, cache, _registry) = setup().await;
        let first = store.create(&key("p"), pod("p", "a", "n")).await.unwrap();
        let mut last = first.clone();
        for i in 0..RING_SIZE + 10 {
            last = store
                .update(
                    &key("p"),
                    pod("p", &format!("v{i}"), "n"),
                    last.mod_revision,
                )
                .await
                .unwrap();
        }
        assert!(
            cache
                .wait_for(last.mod_revision, Duration::from_secs(120))
                .await
        );
        // Too old for the ring: the caller must fall back to the store's watch.
        assert!(!cache.covers(first.mod_revision));
        assert!(matches!(
            cache.events_after("/registry/pods/", first.mod_revision),
            Since::Expired(_)
        ));
        let mut fallback = store
            .watch("/registry/pods/", first.mod_revision)
            .await
            .unwrap();
        let event = fallback.next().await.unwrap().unwrap();
        assert_eq!(event.revision(), first.mod_revision + 1);
        // Recent enough: the ring has every event after it, in order, with the previous object.
        let from = last.mod_revision - 3;
        assert!(cache.covers(from));
        let Since::Events(events, at) = cache.events_after("/registry/pods/", from) else {
            panic!("the ring covers {from}");
        };
        assert_eq!(at, last.mod_revision);
        let revs: Vec<_> = events.iter().map(|e| e.revision()).collect();
        assert_eq!(revs, [from + 1, from + 2, from + 3]);
        assert!(events.iter().all(|e| e.prev.is_some()));
        // Another prefix sees none of them.
        let Since::Events(none, _) = cache.events_after("/registry/services/", from) else {
            panic!("the ring covers {from}");
        };
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn memoized_rows_match_rows_printed_from_the_object() {
        let (store, cache, _registry) = setup().await;
        let with_restart = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "r", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": true,
                "restartCount": 2, "image": "i", "imageID": "", "started": true,
                "state": {"running": {"startedAt": "2026-01-02T00:00:00Z"}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-02T00:00:00Z"}}}]},
        });
        store.create(&key("a"), pod("a", "x", "n")).await.unwrap();
        let kv = store
            .create(&key("r"), serde_json::to_vec(&with_restart).unwrap())
            .await
            .unwrap();
        assert!(cache.wait_for(kv.mod_revision, CONSISTENT_WAIT).await);
        let res = find("", "pods").unwrap();
        let now = crate::table::now_seconds();
        for name in ["a", "r"] {
            let entry = cache.get(&key(name)).unwrap();
            let obj = entry.decode().unwrap();
            for include in [
                IncludeObject::None,
                IncludeObject::Metadata,
                IncludeObject::Object,
            ] {
                // Printed twice, a day apart: the memo must follow the clock.
                for at in [now, now + 86_400] {
                    let mut out = Vec::new();
                    entry.write_row(res, include, at, &mut out);
                    let got: Value = serde_json::from_slice(&out).unwrap();
                    let want = tables::table_row("", "Pod", &obj, include, at);
                    assert_eq!(got, want, "{name} {include:?} at {at}");
                }
            }
        }
        // The plain pod's AGE is the only time-dependent cell: its row is memoized.
        assert!(cache.get(&key("a")).unwrap().row.get().unwrap().is_some());
        // The restarted pod prints "2 (… ago)": it is printed in full every time.
        assert!(cache.get(&key("r")).unwrap().row.get().unwrap().is_none());
    }

    #[test]
    fn the_printable_view_leaves_out_managed_fields_only() {
        let obj = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "labels": {"app": "a"},
                "managedFields": [{"manager": "m", "operation": "Update", "fieldsV1": {"f:spec": {}}}],
                "annotations": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i", "managedFields": "kept"}]},
            "status": {"phase": "Running"},
        });
        let bytes = serde_json::to_vec(&obj).unwrap();
        let (view, place) = printable_view(&bytes).unwrap();
        let mut expected = obj.clone();
        expected["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        assert_eq!(view, expected);
        assert_eq!(Some(place), metadata_range(&bytes));
        // Not an object, or metadata that is not one: no view (the row is printed in full).
        assert!(printable_view(b"[1]").is_none());
        assert!(printable_view(br#"{"metadata": 3}"#).is_none());
    }

    #[test]
    fn the_index_view_selects_like_the_whole_object() {
        let objects = [
            (
                "",
                "Pod",
                json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "a", "tier": "web"},
                        "annotations": {"x": "y"}, "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}],
                        "ownerReferences": [{"name": "rs", "uid": "u"}]},
                    "spec": {"nodeName": "n1", "restartPolicy": "Never", "schedulerName": "s",
                        "serviceAccount": "old-sa", "hostNetwork": true,
                        "containers": [{"name": "c", "image": "i", "env": [{"name": "A", "value": "b"}]}],
                        "nodeSelector": {"disk": "ssd"}},
                    "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.9"}, {"ip": "fd00::9"}],
                        "nominatedNodeName": "n2", "conditions": [{"type": "Ready", "status": "True"}]},
                }),
            ),
            (
                "",
                "Pod",
                serde_json::from_str(
                    r#"{
                "metadata": {"name": "q\u0041", "namespace": "ns", "l\u0061bels": {"k": "v"}},
                "spec": {"serviceAccountName": "sa", "serviceAccount": "old"},
                "status": {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.2"}]}
            }"#,
                )
                .unwrap(),
            ),
            (
                "",
                "Event",
                json!({
                    "metadata": {"name": "e", "namespace": "ns"},
                    "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "p", "uid": "u",
                        "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{c}"},
                    "reason": "Started", "source": {"component": "kubelet", "host": "n1"}, "type": "Normal",
                }),
            ),
            (
                "events.k8s.io",
                "Event",
                json!({
                    "metadata": {"name": "e", "namespace": "ns"},
                    "regarding": {"kind": "Pod", "name": "p"}, "reason": "R",
                    "reportingController": "c", "deprecatedSource": {"component": "d"}, "type": "Warning",
                }),
            ),
            (
                "",
                "Namespace",
                json!({"metadata": {"name": "ns"}, "status": {"phase": "Terminating"}}),
            ),
            (
                "",
                "Node",
                json!({"metadata": {"name": "n", "labels": {}}, "spec": {"unschedulable": true}}),
            ),
            (
                "",
                "ReplicationController",
                json!({"metadata": {"name": "rc"}, "status": {"replicas": 3}}),
            ),
            (
                "",
                "Secret",
                json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}}),
            ),
            (
                "",
                "Service",
                json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.5", "type": "NodePort", "ports": [{"port": 80}]}}),
            ),
            (
                "batch",
                "Job",
                json!({"metadata": {"name": "j"}, "status": {"succeeded": 2}}),
            ),
            (
                "certificates.k8s.io",
                "CertificateSigningRequest",
                json!({"metadata": {"name": "c"}, "spec": {"signerName": "x/y", "request": "AAAA"}}),
            ),
        ];
        for (group, kind, obj) in objects {
            let bytes = serde_json::to_vec(&obj).unwrap();
            let (view, at) = index_view_at(&bytes).expect("an object");
            assert_eq!(at, metadata_range(&bytes), "{kind}");
            let (printable, place) = printable_view(&bytes).expect("an object");
            assert_eq!(Some(place), metadata_range(&bytes), "{kind}");
            let mut expected = obj.clone();
            if let Some(meta) = expected["metadata"].as_object_mut() {
                meta.remove("managedFields");
            }
            assert_eq!(
                printable, expected,
                "{kind}: nothing but managedFields is left out"
            );
            assert_eq!(
                field_set(group, kind, &view),
                field_set(group, kind, &obj),
                "{kind}"
            );
            assert_eq!(
                crate::registry::labels_of(&view),
                crate::registry::labels_of(&obj),
                "{kind}"
            );
        }
        // A cached entry is the stored object with its resourceVersion, however it is spaced.
        for stored in [
            &br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{}}"#[..],
            br#" { "metadata" : { } , "kind" : "Pod" } "#,
            br#"{"kind":"Pod","metadata":{"name":"p","resourceVersion":"3"}}"#,
        ] {
            let kv = KeyValue {
                key: "/registry/pods/ns/p".into(),
                value: stored.to_vec(),
                create_revision: 7,
                mod_revision: 9,
            };
            let entry = Entry::new(&kv).expect("an entry");
            let mut want: Value = serde_json::from_slice(stored).unwrap();
            want["metadata"]["resourceVersion"] = json!("9");
            assert_eq!(entry.decode().unwrap(), want);
            assert_eq!(entry.labels, crate::registry::labels_of(&want));
        }
        for bad in [&b"[1]"[..], b"{\"a\":", b"{} x", b"\"s\""] {
            assert!(index_view_at(bad).is_none(), "{bad:?}");
        }
    }
}

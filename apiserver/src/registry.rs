//! The generic registry: every verb implemented once for every resource.
//!
//! A resource plugs in through its catalog entry and the small per-resource hooks in
//! [`crate::strategy`]. The invariants every resource shares are enforced here, where no
//! resource can skip them: uid, creationTimestamp and generation are server-owned, the
//! resourceVersion is the store's mod revision, a deletionTimestamp never goes away, and every
//! write is defaulted and validated before it reaches the store.

use crate::allocator::{Allocator, Realloc};
use crate::cache::{Entry, WatchCache};
use crate::metrics::{self, Phase};
use crate::request::ResourceRequest;
use crate::status::{ApiError, ApiResult};
use crate::strategy;
use berth_api_types::catalog::ResourceInfo;
use berth_api_types::fields::FieldSelector;
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::DeleteOptions;
use berth_api_types::labels::LabelSelector;
use berth_api_types::{defaults, validation};
use berth_store::{keys, DynStore, KeyValue, RangeRequest, Revision, StoreError};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// How many times a patch or server-side change retries after losing a write race.
const MAX_RETRIES: usize = 8;

/// The registry over one store.
#[derive(Clone)]
pub struct Registry {
    store: DynStore,
    allocator: Option<Allocator>,
    cache: Option<Arc<WatchCache>>,
}

/// Options of a list or watch.
#[derive(Debug, Default, Clone)]
pub struct ListOptions {
    /// Label selector (already parsed).
    pub labels: Option<LabelSelector>,
    /// Field selector (already converted for the kind).
    pub fields: Option<FieldSelector>,
    /// Page size; 0 for everything.
    pub limit: usize,
    /// Continue token from a previous page.
    pub continue_token: Option<String>,
    /// `resourceVersion` parameter.
    pub resource_version: Option<String>,
    /// `resourceVersionMatch` parameter.
    pub resource_version_match: Option<String>,
}

/// One page of a list served from the watch cache.
pub struct CachedPage {
    /// The objects.
    pub items: Vec<Arc<Entry>>,
    /// The list's resourceVersion.
    pub resource_version: Revision,
    /// Continue token, when more items follow.
    pub continue_token: Option<String>,
}

/// One page of a list.
pub struct ListPage {
    /// The objects, with their resourceVersions.
    pub items: Vec<Value>,
    /// The list's resourceVersion.
    pub resource_version: Revision,
    /// Continue token, when more items follow.
    pub continue_token: Option<String>,
    /// How many items follow, when known.
    pub remaining: Option<i64>,
}

/// Reads the metadata of an object; a missing or non-object metadata is treated as empty.
pub fn meta(obj: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    obj.get("metadata")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = obj.as_object_mut().expect("just made an object");
    let entry = map.entry("metadata").or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("just made an object")
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj).get(field).and_then(Value::as_str)
}

/// The labels of an object as a map.
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    meta(obj)
        .get("labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether an object passes the list's selectors.
pub fn selected(resource: &ResourceInfo, opts: &ListOptions, obj: &Value) -> bool {
    if let Some(l) = &opts.labels {
        if !l.matches(&labels_of(obj)) {
            return false;
        }
    }
    if let Some(f) = &opts.fields {
        if !f.matches_object(resource.group, resource.kind, obj) {
            return false;
        }
    }
    true
}

/// The current time as Kubernetes writes timestamps: RFC 3339, UTC, whole seconds.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// The last second an API timestamp can name (late on 9999-12-30, the end of the object
/// model's time range): a stored object with a later one could not be read back.
fn last_timestamp() -> i64 {
    jiff::Timestamp::MAX.as_second()
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from a day count (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Records a write by `manager` in the object's managedFields; writes without a manager
/// (the server's own) leave them as they are.
fn track_fields(r: &ResourceRequest, manager: Option<&str>, old: Option<&Value>, new: &mut Value) {
    if let Some(manager) = manager {
        let write = crate::managed_fields::Write {
            resource: r.resource,
            subresource: r.subresource.as_deref(),
            manager,
            now: &now_rfc3339(),
        };
        crate::managed_fields::record(&write, old, new);
    }
}

/// Records a create by `manager`: every field of `obj` it sent, except a status the strategy
/// resets on create (a resource with a status subresource takes status only through it).
fn track_create_fields(r: &ResourceRequest, manager: Option<&str>, obj: &mut Value) {
    let status = if strategy::has_status(r.resource) {
        obj.as_object_mut().and_then(|m| m.remove("status"))
    } else {
        None
    };
    track_fields(r, manager, None, obj);
    if let (Some(status), Some(map)) = (status, obj.as_object_mut()) {
        map.insert("status".into(), status);
    }
}

const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..5)
        .map(|_| NAME_CHARS[rng.random_range(0..NAME_CHARS.len())] as char)
        .collect()
}

/// Sets an object's `metadata.resourceVersion` to `revision`.
pub fn stamp_revision(obj: &mut Value, revision: Revision) {
    meta_mut(obj).insert("resourceVersion".into(), json!(revision.to_string()));
}

/// Decodes a stored object and stamps its resourceVersion.
pub fn decode(kv: &KeyValue) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value).map_err(|e| {
        ApiError::internal(format!("stored object {} is not valid JSON: {e}", kv.key))
    })?;
    stamp_revision(&mut obj, kv.mod_revision);
    Ok(obj)
}

/// A stored object with its resourceVersion stamped, re-encoded without building the whole
/// object in memory: only the top level and `metadata` are split, the rest is copied as is.
pub fn stamped_bytes(kv: &KeyValue) -> ApiResult<Vec<u8>> {
    use serde_json::value::RawValue;
    let bad = |e: serde_json::Error| {
        ApiError::internal(format!("stored object {} is not valid JSON: {e}", kv.key))
    };
    let mut top: BTreeMap<String, Box<RawValue>> =
        serde_json::from_slice(&kv.value).map_err(bad)?;
    let mut meta: BTreeMap<String, Box<RawValue>> = match top.get("metadata") {
        Some(raw) => serde_json::from_str(raw.get()).map_err(bad)?,
        None => BTreeMap::new(),
    };
    let rv = RawValue::from_string(format!("\"{}\"", kv.mod_revision)).map_err(bad)?;
    meta.insert("resourceVersion".into(), rv);
    let meta = RawValue::from_string(serde_json::to_string(&meta).map_err(bad)?).map_err(bad)?;
    top.insert("metadata".into(), meta);
    serde_json::to_vec(&top).map_err(bad)
}

fn encode(obj: &Value) -> ApiResult<Vec<u8>> {
    let bytes = if meta(obj).contains_key("resourceVersion") {
        let mut obj = obj.clone();
        meta_mut(&mut obj).remove("resourceVersion");
        serde_json::to_vec(&obj)
    } else {
        serde_json::to_vec(obj)
    };
    bytes.map_err(|e| ApiError::internal(e.to_string()))
}

/// A stored object's bytes with `"resourceVersion":"<rv>"` spliced in as the first member of
/// its metadata, without decoding it. `None` when the bytes do not have the shape the store
/// writes (a top-level object whose `metadata` is an object without a resourceVersion); the
/// caller then re-encodes the object instead.
pub fn splice_resource_version(stored: &[u8], rv: Revision) -> Option<Vec<u8>> {
    use serde_json::value::RawValue;
    #[derive(serde::Deserialize)]
    struct Top<'a> {
        #[serde(borrow)]
        metadata: Option<&'a RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "resourceVersion")]
        resource_version: Option<serde::de::IgnoredAny>,
    }
    let top: Top<'_> = serde_json::from_slice(stored).ok()?;
    let raw = top.metadata?.get();
    if !raw.starts_with('{') {
        return None;
    }
    let meta: Meta = serde_json::from_str(raw).ok()?;
    if meta.resource_version.is_some() {
        return None;
    }
    // The raw value borrows from `stored`: its offset there is the distance of the pointers.
    let at = (raw.as_ptr() as usize).checked_sub(stored.as_ptr() as usize)?;
    splice_at(stored, at..at + raw.len(), rv)
}

/// `stored` with `"resourceVersion":"<rv>"` spliced in as the first member of the metadata
/// object at `metadata` (its range in `stored`, braces included), which has none.
pub fn splice_at(stored: &[u8], metadata: std::ops::Range<usize>, rv: Revision) -> Option<Vec<u8>> {
    let raw = stored.get(metadata.clone())?;
    if raw.first() != Some(&b'{') {
        return None;
    }
    let at = metadata.start + 1;
    let empty = raw[1..].trim_ascii_start().starts_with(b"}");
    let mut out = Vec::with_capacity(stored.len() + 40);
    out.extend_from_slice(stored.get(..at)?);
    out.extend_from_slice(b"\"resourceVersion\":\"");
    out.extend_from_slice(rv.to_string().as_bytes());
    out.push(b'"');
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(stored.get(at..)?);
    Some(out)
}

/// A body that does not fit the kind's schema, worded as Kubernetes words its decode failure.
fn undecodable(res: &ResourceInfo, message: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version {version:?} cannot be handled as a {kind}: {message}",
        kind = res.kind,
        version = res.version,
    ))
}

fn defaulting_error(res: &ResourceInfo, e: defaults::DefaultingError) -> ApiError {
    match e {
        defaults::DefaultingError::Decode { message, .. } => undecodable(res, &message),
        other => ApiError::internal(other.to_string()),
    }
}

/// Checks that an update's object names the object of the URL: a body without a name (or
/// a patch that removes it) is refused as Kubernetes refuses it, not filled in.
pub(crate) fn check_name(obj: &Value, name: &str) -> ApiResult<()> {
    let obj_name = meta_str(obj, "name").unwrap_or_default();
    if obj_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({obj_name}) does not match the name on the URL ({name})"
        )));
    }
    Ok(())
}

/// Decodes and validates `DeleteOptions` as Kubernetes does before anything is deleted: a
/// field of the wrong type is a 400, conflicting or unknown propagation a 422 on the
/// `meta.k8s.io` DeleteOptions.
pub fn check_delete_options(options: &Value) -> ApiResult<DeleteOptions> {
    let typed = DeleteOptions::deserialize(options)
        .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?;
    let path = validation::Path::new("propagationPolicy");
    let mut errors = Vec::new();
    if let (Some(p), Some(_)) = (&typed.propagation_policy, typed.orphan_dependents) {
        errors.push(validation::FieldError::invalid(
            &path,
            json!(p),
            "orphanDependents and deletionPropagation cannot be both set",
        ));
    }
    if let Some(p) = &typed.propagation_policy {
        if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
            errors.push(validation::FieldError::not_supported(
                &path,
                json!(p),
                &["Foreground", "Background", "Orphan", "nil"],
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "DeleteOptions",
            "",
            &errors,
        ));
    }
    Ok(typed)
}

/// Parses a resourceVersion given by a client.
pub fn parse_rv(rv: &str) -> ApiResult<Revision> {
    rv.parse::<Revision>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid resourceVersion {rv:?}: must be a non-negative integer"
            ))
        })
}

fn encode_continue(rv: Revision, last_key: &str) -> String {
    use base64::Engine;
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{last_key}\u{0}")});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(Revision, String)> {
    use base64::Engine;
    let bad = || {
        ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    };
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v.get("rv").and_then(Value::as_i64).ok_or_else(bad)?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    // A negative revision (the -1 that `list_error` hands out) continues at the newest revision,
    // which lists read as 0; a token never carries 0 itself.
    let rv = match rv {
        0 => return Err(bad()),
        rv if rv < 0 => 0,
        rv => rv,
    };
    Ok((rv, start.trim_end_matches('\u{0}').to_owned()))
}

/// The message of a list whose continue token's revision was compacted.
const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// The message of a list at a resourceVersion that was compacted.
const LIST_EXPIRED: &str = "The resourceVersion for the provided list is too old.";

/// What a list that failed in the store answers. A continue token whose revision was
/// compacted (`continue_after` is its key) gets 410 Expired carrying a fresh token that goes
/// on after the same key at the newest revision (-1), so a client may finish its list,
/// inconsistently, instead of starting over; a list at a compacted resourceVersion gets 410
/// Expired.
fn list_error(err: StoreError, continue_after: Option<&str>) -> ApiError {
    match (err, continue_after) {
        (StoreError::Compacted { .. }, Some(after)) => ApiError {
            continue_token: Some(encode_continue(-1, after)),
            ..ApiError::gone(CONTINUE_EXPIRED)
        },
        (StoreError::Compacted { .. }, None) => ApiError::gone(LIST_EXPIRED),
        (other, _) => other.into(),
    }
}

/// Where a list reads: the revision to read at (0 for the newest), the key to continue after,
/// and the oldest revision the newest data may be (0 for any).
struct ListAt {
    revision: Revision,
    start_after: Option<String>,
    not_older_than: Revision,
}

/// Where a list starts, from the continue token or the resourceVersion parameter: "0" and
/// unset mean the newest data; a version is exact with `resourceVersionMatch=Exact`, or with
/// no match and a limit (paging from a version); otherwise the newest data must not be older.
fn start_point(prefix: &str, opts: &ListOptions) -> ApiResult<ListAt> {
    if let Some(token) = &opts.continue_token {
        let (rv, start) = decode_continue(token)?;
        if !start.starts_with(prefix) && !start.is_empty() {
            return Err(ApiError::bad_request(
                "continue key is not valid for this request",
            ));
        }
        return Ok(ListAt {
            revision: rv,
            start_after: Some(start),
            not_older_than: 0,
        });
    }
    let rv = match opts.resource_version.as_deref() {
        Some(rv) => parse_rv(rv)?,
        None => 0,
    };
    let exact = match opts.resource_version_match.as_deref() {
        Some(m) => m == "Exact",
        None => opts.limit > 0,
    };
    Ok(if rv > 0 && exact {
        ListAt {
            revision: rv,
            start_after: None,
            not_older_than: 0,
        }
    } else {
        ListAt {
            revision: 0,
            start_after: None,
            not_older_than: rv,
        }
    })
}

impl Registry {
    /// A registry over `store`.
    pub fn new(store: DynStore) -> Self {
        Registry {
            store,
            allocator: None,
            cache: None,
        }
    }

    /// Serves lists and watches from `cache` when their resourceVersion allows it.
    pub fn with_cache(mut self, cache: Arc<WatchCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The watch cache, if there is one.
    pub fn cache(&self) -> Option<&Arc<WatchCache>> {
        self.cache.as_ref()
    }

    /// Serves a list from the watch cache when the request's resourceVersion semantics allow
    /// it: unset (a consistent read, once the cache has caught up with the store), "0" (any
    /// state the cache has), a version with `NotOlderThan` semantics (once the cache reached
    /// it), and a continue token of a cached page while the cache has not moved. `None`: the
    /// store must serve it.
    pub async fn list_cached(
        &self,
        r: &ResourceRequest,
        opts: &ListOptions,
    ) -> ApiResult<Option<CachedPage>> {
        let Some(cache) = &self.cache else {
            return Ok(None);
        };
        let prefix = keys::collection_prefix(r.resource, r.namespace.as_deref());
        let mut at = None;
        let mut start_after = None;
        if opts.continue_token.is_some() {
            let point = start_point(&prefix, opts)?;
            at = Some(point.revision);
            start_after = point.start_after;
        } else {
            let exact = opts.resource_version_match.as_deref() == Some("Exact");
            match opts.resource_version.as_deref() {
                None => {
                    if exact || !cache.sync().await {
                        return Ok(None);
                    }
                }
                Some(rv) => {
                    let rv = parse_rv(rv)?;
                    let not_older = opts.resource_version_match.as_deref() == Some("NotOlderThan")
                        || (opts.resource_version_match.is_none() && opts.limit == 0);
                    if rv > 0 && (exact || !not_older) {
                        return Ok(None);
                    }
                    if rv > 0 && cache.revision().is_none_or(|have| have < rv) {
                        let current = self.store.current_revision().await?;
                        if !cache
                            .wait_for(rv.min(current), crate::cache::CONSISTENT_WAIT)
                            .await
                        {
                            return Ok(None);
                        }
                        if rv > current {
                            // A version the store has not reached: wait for it a while, as
                            // for any version the cache has not seen yet.
                            if !cache.wait_for(rv, crate::cache::CONSISTENT_WAIT).await {
                                let current = self.store.current_revision().await?;
                                return Err(ApiError::resource_version_too_large(rv, current));
                            }
                        }
                    }
                }
            }
        }
        let labels = opts.labels.as_ref().filter(|l| !l.is_empty());
        let fields = opts.fields.as_ref().filter(|f| !f.is_empty());
        let name = r.name.as_deref();
        let page = cache.list(&prefix, start_after.as_deref(), at, opts.limit, |e| {
            name.is_none_or(|n| e.name() == n) && e.selected(labels, fields)
        });
        Ok(page.map(|page| CachedPage {
            continue_token: page
                .more_after
                .map(|key| encode_continue(page.revision, &key)),
            items: page.items,
            resource_version: page.revision,
        }))
    }

    /// Fails with 504 (`ResourceVersionTooLarge`) when the store has not reached `revision`.
    async fn reached(&self, revision: Revision) -> ApiResult<()> {
        if revision > 0 {
            let current = self.store.current_revision().await?;
            if revision > current {
                return Err(ApiError::resource_version_too_large(revision, current));
            }
        }
        Ok(())
    }

    /// Hands out Service addresses and ports from `allocator`.
    pub fn with_allocator(mut self, allocator: Allocator) -> Self {
        self.allocator = Some(allocator);
        self
    }

    fn service_allocator(&self, r: &ResourceRequest) -> Option<&Allocator> {
        let res = r.resource;
        strategy::allocates_service_addresses(res)
            .then_some(self.allocator.as_ref())
            .flatten()
    }

    /// Releases what a removed object held.
    async fn removed(&self, r: &ResourceRequest, obj: &Value) {
        if let Some(a) = self.service_allocator(r) {
            a.release(obj).await;
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &DynStore {
        &self.store
    }

    fn key(&self, r: &ResourceRequest, name: &str) -> String {
        keys::object_key(r.resource, r.namespace.as_deref(), name)
    }

    fn not_found(r: &ResourceRequest, name: &str) -> ApiError {
        ApiError::not_found(r.resource.group, r.resource.plural, name)
    }

    /// Checks apiVersion and kind of a body against the resource it was sent to.
    fn check_type(r: &ResourceRequest, body: &Value, expected_kind: &str) -> ApiResult<()> {
        let res = r.resource;
        let want_api = res.api_version();
        if let Some(api) = body.get("apiVersion").and_then(Value::as_str) {
            if api != want_api {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({api}) does not match the expected API version ({want_api})"
                )));
            }
        }
        if let Some(kind) = body.get("kind").and_then(Value::as_str) {
            if kind != expected_kind {
                return Err(ApiError::bad_request(format!(
                    "the kind in the data ({kind}) does not match the expected kind ({expected_kind})"
                )));
            }
        }
        Ok(())
    }

    /// Defaulting then validation of a new object.
    /// Validates a new object, defaulted before its fields were recorded and completed since
    /// by admission and the strategy (which add nothing that needs defaults).
    fn validate_create(r: &ResourceRequest, obj: &Value) -> ApiResult<()> {
        let res = r.resource;
        let errors = validation::validate(res.group, res.kind, obj);
        if let Some(message) = validation::undecodable(&errors) {
            return Err(undecodable(res, message));
        }
        if !errors.is_empty() {
            let name = meta_str(obj, "name").unwrap_or_default().to_owned();
            return Err(ApiError::invalid(res.group, res.kind, &name, &errors));
        }
        Ok(())
    }

    fn admit_update(r: &ResourceRequest, obj: &mut Value, old: &Value) -> ApiResult<()> {
        let res = r.resource;
        // One typed decode both defaults and validates the new version.
        let mut errors = defaults::apply_defaults_and_validate(res.group, res.kind, obj)
            .map_err(|e| defaulting_error(res, e))?;
        if let Some(message) = validation::undecodable(&errors) {
            return Err(undecodable(res, message));
        }
        let name = meta_str(obj, "name").unwrap_or_default().to_owned();
        if strategy::checks_update_rules(r.subresource.as_deref()) {
            errors.extend(validation::validate_update(res.group, res.kind, obj, old));
        }
        errors.dedup_by(|a, b| a.to_string() == b.to_string());
        if !errors.is_empty() {
            return Err(ApiError::invalid(res.group, res.kind, &name, &errors));
        }
        Ok(())
    }

    /// Creates an object (POST to a collection) without recording a field manager.
    pub async fn create(&self, r: &ResourceRequest, obj: Value, dry_run: bool) -> ApiResult<Value> {
        self.create_by(r, obj, dry_run, None).await
    }

    /// Creates an object, recording `manager` (if any) as the owner of its fields.
    pub async fn create_by(
        &self,
        r: &ResourceRequest,
        obj: Value,
        dry_run: bool,
        manager: Option<&str>,
    ) -> ApiResult<Value> {
        self.create_inner(r, obj, dry_run, manager).await
    }

    /// Creates an object as [`Registry::create_by`] does and returns it encoded for the answer.
    /// (Encoding the versioned object again costs less than splicing the version into the
    /// stored bytes, which needs a parse of them.)
    pub async fn create_encoded(
        &self,
        r: &ResourceRequest,
        obj: Value,
        dry_run: bool,
        manager: Option<&str>,
    ) -> ApiResult<Vec<u8>> {
        let obj = self.create_inner(r, obj, dry_run, manager).await?;
        serde_json::to_vec(&obj).map_err(|e| ApiError::internal(e.to_string()))
    }

    /// The create itself.
    async fn create_inner(
        &self,
        r: &ResourceRequest,
        mut obj: Value,
        dry_run: bool,
        manager: Option<&str>,
    ) -> ApiResult<Value> {
        let res = r.resource;
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        Self::check_type(r, &obj, res.kind)?;
        obj["apiVersion"] = json!(res.api_version());
        obj["kind"] = json!(res.kind);
        // The namespace of the path wins; a different one in the body is an error.
        if res.namespaced {
            let ns = r.namespace.clone().unwrap_or_default();
            match meta_str(&obj, "namespace") {
                Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ))
                }
                _ => {
                    meta_mut(&mut obj).insert("namespace".into(), json!(ns));
                }
            }
        } else {
            meta_mut(&mut obj).remove("namespace");
        }
        let started = Instant::now();
        self.admit_namespace(r).await?;
        // The creator owns what it sent, defaults included; what admission and the strategy
        // add afterwards (tolerations, priority, status, allocated addresses) is the server's.
        defaults::apply_defaults(res.group, res.kind, &mut obj)
            .map_err(|e| defaulting_error(res, e))?;
        strategy::default_on_create(res, &mut obj);
        if manager.is_some() {
            track_create_fields(r, manager, &mut obj);
        }
        crate::admission::admit_create(self, r, &mut obj).await?;
        let mut started = metrics::phase(Phase::Admission, started);
        let generated = {
            let m = meta(&obj);
            let has_name = m
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            let generate = m
                .get("generateName")
                .and_then(Value::as_str)
                .filter(|g| !g.is_empty());
            match (has_name, generate) {
                (false, Some(prefix)) => Some(prefix.to_owned()),
                _ => None,
            }
        };
        let m = meta_mut(&mut obj);
        for server_owned in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
            "generation",
            "selfLink",
        ] {
            m.remove(server_owned);
        }
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        if strategy::uses_generation(res) {
            m.insert("generation".into(), json!(1));
        }
        strategy::prepare_for_create(res, &mut obj);
        // Try a few generated names before giving up, as a name collision is a matter of luck.
        let attempts = if generated.is_some() { 3 } else { 1 };
        for attempt in 0..attempts {
            if let Some(prefix) = &generated {
                let mut name: String = prefix.chars().take(63 - 5).collect();
                name.push_str(&random_suffix());
                meta_mut(&mut obj).insert("name".into(), json!(name));
            }
            if attempt == 0 {
                Self::validate_create(r, &obj)?;
                if let (Some(a), false) = (self.service_allocator(r), dry_run) {
                    a.allocate(&mut obj).await?;
                }
                started = metrics::phase(Phase::Prepare, started);
            }
            let name = meta_str(&obj, "name").unwrap_or_default().to_owned();
            if dry_run {
                let (existing, _) = self.store.get(&self.key(r, &name)).await?;
                if existing.is_some() {
                    return Err(ApiError::already_exists(res.group, res.plural, &name));
                }
                return Ok(obj);
            }
            let stored = self.store.create(&self.key(r, &name), encode(&obj)?).await;
            started = metrics::phase(Phase::Store, started);
            match stored {
                Ok(kv) => {
                    // The stored bytes are `obj` encoded: answer with it, versioned.
                    stamp_revision(&mut obj, kv.mod_revision);
                    metrics::phase(Phase::Respond, started);
                    return Ok(obj);
                }
                Err(StoreError::AlreadyExists { .. }) if attempt + 1 < attempts => continue,
                Err(e) => {
                    // The object was not stored: give back what was allocated for it.
                    self.removed(r, &obj).await;
                    return Err(match e {
                        StoreError::AlreadyExists { .. } => {
                            ApiError::already_exists(res.group, res.plural, &name)
                        }
                        other => other.into(),
                    });
                }
            }
        }
        Err(ApiError::internal("could not generate a unique name"))
    }

    /// Refuses new objects in a namespace that does not exist or is being deleted.
    async fn admit_namespace(&self, r: &ResourceRequest) -> ApiResult<()> {
        let res = r.resource;
        let Some(ns) = r.namespace.as_deref().filter(|_| res.namespaced) else {
            return Ok(());
        };
        let Some(namespaces) = berth_api_types::catalog::find("", "namespaces") else {
            return Ok(());
        };
        let key = keys::object_key(namespaces, None, ns);
        // The cache answers for namespaces it holds; one it does not know yet (just created)
        // is looked up in the store.
        // Only the phase and the deletionTimestamp are read, not the whole namespace.
        #[derive(serde::Deserialize)]
        struct Namespace {
            metadata: Option<NamespaceMeta>,
            status: Option<NamespaceStatus>,
        }
        #[derive(serde::Deserialize)]
        struct NamespaceMeta {
            #[serde(rename = "deletionTimestamp")]
            deletion_timestamp: Option<serde::de::IgnoredAny>,
        }
        #[derive(serde::Deserialize)]
        struct NamespaceStatus {
            phase: Option<Value>,
        }
        let read = |bytes: &[u8]| {
            serde_json::from_slice::<Namespace>(bytes)
                .map_err(|e| ApiError::internal(format!("stored namespace {ns} is not valid: {e}")))
        };
        let namespace = match self.cache.as_ref().and_then(|c| c.get(&key)) {
            Some(entry) => read(&entry.bytes)?,
            None => {
                let (kv, _) = self.store.get(&key).await?;
                let Some(kv) = kv else {
                    return Err(ApiError::not_found("", "namespaces", ns));
                };
                read(&kv.value)?
            }
        };
        let terminating = namespace
            .status
            .and_then(|s| s.phase)
            .is_some_and(|p| p.as_str() == Some("Terminating"))
            || namespace
                .metadata
                .is_some_and(|m| m.deletion_timestamp.is_some());
        if terminating {
            return Err(ApiError::forbidden(format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ))
            .with_details(res.group, res.plural, ""));
        }
        Ok(())
    }

    /// Checks the `resourceVersion` of a GET: the stored object is newer than any version the
    /// store has reached, so only a malformed one (400) or one from the future (504) fails.
    pub async fn check_get_version(&self, rv: Option<&str>) -> ApiResult<()> {
        let Some(rv) = rv.filter(|v| !v.is_empty()) else {
            return Ok(());
        };
        self.reached(parse_rv(rv)?).await
    }

    /// Reads one object.
    pub async fn get(&self, r: &ResourceRequest, name: &str) -> ApiResult<Value> {
        let (kv, _) = self.store.get(&self.key(r, name)).await?;
        match kv {
            Some(kv) => decode(&kv),
            None => Err(Self::not_found(r, name)),
        }
    }

    /// Lists objects, with selectors and paging.
    pub async fn list(&self, r: &ResourceRequest, opts: &ListOptions) -> ApiResult<ListPage> {
        let prefix = keys::collection_prefix(r.resource, r.namespace.as_deref());
        let ListAt {
            mut revision,
            mut start_after,
            not_older_than,
        } = start_point(&prefix, opts)?;
        self.reached(not_older_than).await?;
        let continue_after = opts.continue_token.as_ref().and(start_after.clone());
        let filtering = opts.labels.as_ref().is_some_and(|l| !l.is_empty())
            || opts.fields.as_ref().is_some_and(|f| !f.is_empty());
        let mut items = Vec::new();
        let mut last_key = None;
        let mut more;
        loop {
            let mut req = RangeRequest::prefix(prefix.clone()).at_revision(revision);
            if let Some(after) = &start_after {
                req = req.start_after(after.clone());
            }
            if opts.limit > 0 {
                req = req.limit(if filtering {
                    opts.limit.max(500)
                } else {
                    opts.limit
                });
            }
            let page = self
                .store
                .range(req)
                .await
                .map_err(|e| list_error(e, continue_after.as_deref()))?;
            revision = page.revision;
            more = page.more;
            for kv in &page.kvs {
                last_key = Some(kv.key.clone());
                let obj = decode(kv)?;
                if selected(r.resource, opts, &obj) {
                    items.push(obj);
                    if opts.limit > 0 && items.len() >= opts.limit {
                        break;
                    }
                }
            }
            if opts.limit > 0 && items.len() >= opts.limit {
                // Items after the cut on this page are still to come.
                let cut = last_key.as_deref();
                let tail_left = page
                    .kvs
                    .last()
                    .map(|kv| Some(kv.key.as_str()) != cut)
                    .unwrap_or(false);
                more = more || tail_left;
                break;
            }
            if !more || opts.limit == 0 {
                break;
            }
            start_after = last_key.clone();
        }
        let continue_token = match (more, &last_key) {
            (true, Some(key)) => Some(encode_continue(revision, key)),
            _ => None,
        };
        Ok(ListPage {
            items,
            resource_version: revision,
            continue_token,
            remaining: None,
        })
    }

    /// A list without selectors, as JSON text of the items joined by commas: the fast path of
    /// a plain LIST, which never builds the objects in memory.
    pub async fn list_raw(
        &self,
        r: &ResourceRequest,
        opts: &ListOptions,
    ) -> ApiResult<(Vec<u8>, ListPage)> {
        let prefix = keys::collection_prefix(r.resource, r.namespace.as_deref());
        let ListAt {
            revision,
            start_after,
            not_older_than,
        } = start_point(&prefix, opts)?;
        self.reached(not_older_than).await?;
        let continue_after = opts.continue_token.as_ref().and(start_after.clone());
        let mut req = RangeRequest::prefix(prefix).at_revision(revision);
        if let Some(after) = start_after {
            req = req.start_after(after);
        }
        if opts.limit > 0 {
            req = req.limit(opts.limit);
        }
        let page = self
            .store
            .range(req)
            .await
            .map_err(|e| list_error(e, continue_after.as_deref()))?;
        let mut out = Vec::with_capacity(page.kvs.iter().map(|kv| kv.value.len() + 32).sum());
        for (i, kv) in page.kvs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&stamped_bytes(kv)?);
        }
        let continue_token = match (page.more, page.kvs.last()) {
            (true, Some(kv)) => Some(encode_continue(page.revision, &kv.key)),
            _ => None,
        };
        Ok((
            out,
            ListPage {
                items: Vec::new(),
                resource_version: page.revision,
                continue_token,
                remaining: None,
            },
        ))
    }

    /// Replaces an object (PUT), or creates it where the resource allows create-on-update,
    /// without recording a field manager.
    pub async fn update(
        &self,
        r: &ResourceRequest,
        name: &str,
        obj: Value,
        dry_run: bool,
    ) -> ApiResult<Value> {
        self.update_by(r, name, obj, dry_run, None).await
    }

    /// Replaces an object, recording `manager` (if any) as the owner of the fields it sets.
    pub async fn update_by(
        &self,
        r: &ResourceRequest,
        name: &str,
        mut obj: Value,
        dry_run: bool,
        manager: Option<&str>,
    ) -> ApiResult<Value> {
        let res = r.resource;
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        let expected_kind = match r.subresource.as_deref() {
            None | Some("status") | Some("finalize") => res.kind,
            Some(other) => {
                return Err(ApiError::method_not_allowed(format!(
                    "subresource {other} does not support update yet"
                )))
            }
        };
        Self::check_type(r, &obj, expected_kind)?;
        check_name(&obj, name)?;
        if res.namespaced {
            if let Some(ns) = meta_str(&obj, "namespace") {
                if !ns.is_empty() && Some(ns) != r.namespace.as_deref() {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
            }
        }
        let precondition = match meta_str(&obj, "resourceVersion") {
            Some(rv) if !rv.is_empty() => Some(parse_rv(rv)?),
            _ => None,
        };
        let key = self.key(r, name);
        let (current, _) = self.store.get(&key).await?;
        let Some(current) = current else {
            if r.subresource.is_some() {
                return Err(Self::not_found(r, name));
            }
            if strategy::allow_create_on_update(res) {
                let mut create = r.clone();
                create.name = None;
                meta_mut(&mut obj).insert("name".into(), json!(name));
                return self.create_by(&create, obj, dry_run, manager).await;
            }
            return Err(Self::not_found(r, name));
        };
        if let Some(rv) = precondition {
            if rv != current.mod_revision {
                return Err(ApiError::stale(res.group, res.plural, name));
            }
        }
        let old = decode(&current)?;
        let mut new = self.prepare_update(r, obj, &old, manager)?;
        if dry_run {
            // Nothing is stored, so the object keeps the version it has.
            stamp_revision(&mut new, current.mod_revision);
            return Ok(new);
        }
        self.allocate_and_write(r, name, &key, new, &old, current.mod_revision)
            .await
    }

    /// Updates the allocations of a Service (if it is one), writes the update, and settles
    /// the allocations according to whether the write happened.
    async fn allocate_and_write(
        &self,
        r: &ResourceRequest,
        name: &str,
        key: &str,
        mut new: Value,
        old: &Value,
        expected: Revision,
    ) -> ApiResult<Value> {
        let realloc = match self.service_allocator(r) {
            Some(a) if r.subresource.is_none() => Some(a.reallocate(&mut new, old).await?),
            _ => None,
        };
        let result = self.write_update(r, name, key, new, old, expected).await;
        if let (Some(a), Some(Realloc { drop, taken })) = (self.service_allocator(r), realloc) {
            match &result {
                Ok(_) => a.release_keys(drop).await,
                Err(_) => a.release_keys(taken).await,
            }
        }
        result
    }

    /// Fills server-owned fields of an update from the stored object, then defaults and
    /// validates it.
    fn prepare_update(
        &self,
        r: &ResourceRequest,
        mut new: Value,
        old: &Value,
        manager: Option<&str>,
    ) -> ApiResult<Value> {
        let res = r.resource;
        new["apiVersion"] = json!(res.api_version());
        new["kind"] = json!(res.kind);
        // A uid the body names must be the stored object's: a body written for an earlier
        // object of the same name must not overwrite this one. (No uid takes the stored one.)
        // A replaced object's uid is a precondition (409, so clients read again and retry);
        // a patch that changes the uid changes an immutable field (422).
        if let Some(uid) = meta(&new).get("uid").filter(|u| !u.is_null() && *u != "") {
            if Some(uid) != meta(old).get("uid") {
                let name = meta_str(old, "name").unwrap_or_default().to_owned();
                if r.verb == "update" {
                    return Err(ApiError::conflict(
                        res.group,
                        res.plural,
                        &name,
                        &format!(
                            "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                            uid.as_str().unwrap_or_default(),
                            meta_str(old, "uid").unwrap_or_default()
                        ),
                    ));
                }
                let err = validation::FieldError::invalid(
                    &validation::Path::new("metadata").child("uid"),
                    uid.clone(),
                    "field is immutable",
                );
                return Err(ApiError::invalid(res.group, res.kind, &name, &[err]));
            }
        }
        {
            let old_meta = meta(old).clone();
            let m = meta_mut(&mut new);
            for owned in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "namespace",
                "name",
            ] {
                match old_meta.get(owned) {
                    Some(v) => m.insert(owned.into(), v.clone()),
                    None => m.remove(owned),
                };
            }
            m.remove("resourceVersion");
        }
        strategy::prepare_for_update(res, r.subresource.as_deref(), &mut new, old);
        if strategy::uses_generation(res) && r.subresource.as_deref() != Some("status") {
            let spec_changed = new.get("spec") != old.get("spec");
            let gen = meta(old)
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            meta_mut(&mut new).insert(
                "generation".into(),
                json!(if spec_changed { gen + 1 } else { gen }),
            );
        }
        Self::admit_update(r, &mut new, old)?;
        track_fields(r, manager, Some(old), &mut new);
        Ok(new)
    }

    async fn write_update(
        &self,
        r: &ResourceRequest,
        name: &str,
        key: &str,
        new: Value,
        old: &Value,
        expected: Revision,
    ) -> ApiResult<Value> {
        let res = r.resource;
        // An object being deleted whose last finalizer is gone is deleted now, unless it is
        // in a graceful deletion (a pod its kubelet is stopping): its owner finishes that one
        // with a delete of grace 0, and the updates it makes meanwhile (the pod's status)
        // must not end it early.
        let graceful = meta(old)
            .get("deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .is_some_and(|g| g > 0);
        let deleting = !graceful
            && meta(&new)
                .get("deletionTimestamp")
                .is_some_and(|v| !v.is_null());
        let finalizers_left = meta(&new)
            .get("finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if deleting && !finalizers_left && strategy::finalizers_done(res, &new) {
            return match self.store.delete(key, Some(expected)).await {
                Ok(kv) => {
                    self.removed(r, old).await;
                    let mut obj = new;
                    stamp_revision(&mut obj, kv.mod_revision);
                    Ok(obj)
                }
                Err(StoreError::Conflict { .. }) => {
                    Err(ApiError::stale(res.group, res.plural, name))
                }
                Err(StoreError::NotFound { .. }) => Err(Self::not_found(r, name)),
                Err(e) => Err(e.into()),
            };
        }
        match self.store.update(key, encode(&new)?, expected).await {
            Ok(kv) => decode(&kv),
            Err(StoreError::Conflict { .. }) => Err(ApiError::stale(res.group, res.plural, name)),
            Err(StoreError::NotFound { .. }) => Err(Self::not_found(r, name)),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `change` to the stored object and writes the result, retrying when another
    /// writer got in first. `change` sees the current object and returns the new one; a
    /// `resourceVersion` it leaves in the result is a precondition. No field manager is
    /// recorded.
    pub async fn modify<F>(
        &self,
        r: &ResourceRequest,
        name: &str,
        dry_run: bool,
        change: F,
    ) -> ApiResult<Value>
    where
        F: Fn(&Value) -> ApiResult<Value> + Send + Sync,
    {
        self.modify_by(r, name, dry_run, None, change).await
    }

    /// [`Registry::modify`], recording `manager` (if any) as the owner of the fields the
    /// change sets.
    pub async fn modify_by<F>(
        &self,
        r: &ResourceRequest,
        name: &str,
        dry_run: bool,
        manager: Option<&str>,
        change: F,
    ) -> ApiResult<Value>
    where
        F: Fn(&Value) -> ApiResult<Value> + Send + Sync,
    {
        let res = r.resource;
        let key = self.key(r, name);
        for _ in 0..MAX_RETRIES {
            let (current, _) = self.store.get(&key).await?;
            let Some(current) = current else {
                return Err(Self::not_found(r, name));
            };
            let old = decode(&current)?;
            let patched = change(&old)?;
            if !patched.is_object() {
                return Err(ApiError::bad_request(
                    "the patched object is not a JSON object",
                ));
            }
            if let Some(rv) = meta_str(&patched, "resourceVersion") {
                if !rv.is_empty() && parse_rv(rv)? != current.mod_revision {
                    return Err(ApiError::stale(res.group, res.plural, name));
                }
            }
            check_name(&patched, name)?;
            let mut new = self.prepare_update(r, patched, &old, manager)?;
            if dry_run {
                // Nothing is stored, so the object keeps the version it has.
                stamp_revision(&mut new, current.mod_revision);
                return Ok(new);
            }
            match self
                .allocate_and_write(r, name, &key, new, &old, current.mod_revision)
                .await
            {
                Err(e) if e.code == 409 && e.reason == "Conflict" => continue,
                other => return other,
            }
        }
        Err(ApiError::stale(res.group, res.plural, name))
    }

    /// Deletes an object, or marks it for deletion while finalizers remain.
    pub async fn delete(
        &self,
        r: &ResourceRequest,
        name: &str,
        options: &Value,
        dry_run: bool,
    ) -> ApiResult<(Value, bool)> {
        let res = r.resource;
        let key = self.key(r, name);
        let options = check_delete_options(options)?;
        let preconditions = options.preconditions.unwrap_or_default();
        let precondition_uid = preconditions.uid.as_deref();
        let precondition_rv = preconditions.resource_version.as_deref();
        // The deprecated `orphanDependents` says what `propagationPolicy` says today.
        let propagation = match (&options.propagation_policy, options.orphan_dependents) {
            (Some(p), _) => Some(p.as_str()),
            (None, Some(true)) => Some("Orphan"),
            (None, Some(false)) => Some("Background"),
            (None, None) => None,
        };
        for _ in 0..MAX_RETRIES {
            let (current, _) = self.store.get(&key).await?;
            let Some(current) = current else {
                return Err(Self::not_found(r, name));
            };
            let obj = decode(&current)?;
            if let Some(uid) = precondition_uid {
                if meta_str(&obj, "uid") != Some(uid) {
                    return Err(ApiError::conflict(
                        res.group,
                        res.plural,
                        name,
                        &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        meta_str(&obj, "uid").unwrap_or_default()
                    ),
                    ));
                }
            }
            if let Some(rv) = precondition_rv {
                if parse_rv(rv)? != current.mod_revision {
                    return Err(ApiError::conflict(res.group, res.plural, name, &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        current.mod_revision
                    )));
                }
            }
            let mut marked = obj.clone();
            let finalizers = strategy::finalizers_on_delete(res, &mut marked, propagation);
            let requested_grace = options.grace_period_seconds;
            let grace = strategy::grace_period(res, &obj, requested_grace);
            let already = meta(&obj)
                .get("deletionTimestamp")
                .is_some_and(|v| !v.is_null());
            let old_grace = meta(&obj)
                .get("deletionGracePeriodSeconds")
                .and_then(Value::as_i64);
            // A pending graceful deletion whose wait is cut to zero, with no finalizer left,
            // ends now.
            let wait = finalizers || (grace > 0 && !(already && old_grace.is_some_and(|g| g == 0)));
            if wait {
                // Record the deletion and let its owners (the kubelet, a finalizer's
                // controller) finish it. Grace periods only ever shorten.
                let shorter = already && old_grace.is_some_and(|g| grace < g);
                if !already || shorter {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or(0);
                    let Some(at) = now.checked_add(grace).filter(|t| *t <= last_timestamp()) else {
                        return Err(ApiError::invalid(
                            "meta.k8s.io",
                            "DeleteOptions",
                            "",
                            &[validation::FieldError::invalid(
                                &validation::Path::new("gracePeriodSeconds"),
                                json!(grace),
                                "the deletion would be due after the last time an object can record",
                            )],
                        ));
                    };
                    let m = meta_mut(&mut marked);
                    m.insert("deletionTimestamp".into(), json!(rfc3339(at)));
                    m.insert("deletionGracePeriodSeconds".into(), json!(grace));
                    if !already {
                        strategy::prepare_for_delete(res, &mut marked);
                    }
                }
                if dry_run || (already && marked == obj) {
                    return Ok((marked, false));
                }
                let mut stored = marked.clone();
                meta_mut(&mut stored).remove("resourceVersion");
                match self
                    .store
                    .update(&key, encode(&stored)?, current.mod_revision)
                    .await
                {
                    Ok(kv) => return Ok((decode(&kv)?, false)),
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(StoreError::NotFound { .. }) => return Err(Self::not_found(r, name)),
                    Err(e) => return Err(e.into()),
                }
            }
            if dry_run {
                return Ok((obj, true));
            }
            match self.store.delete(&key, Some(current.mod_revision)).await {
                Ok(kv) => {
                    self.removed(r, &obj).await;
                    // The answer carries the version of the deletion, as the DELETED event does.
                    let mut obj = obj;
                    stamp_revision(&mut obj, kv.mod_revision);
                    return Ok((obj, true));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::NotFound { .. }) => return Err(Self::not_found(r, name)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::stale(res.group, res.plural, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(plural: &str, namespace: Option<&str>) -> ResourceRequest {
        ResourceRequest {
            resource: berth_api_types::catalog::find("", plural).expect("served"),
            namespace: namespace.map(str::to_owned),
            name: None,
            subresource: None,
            verb: "create",
        }
    }

    #[tokio::test]
    async fn creates_need_a_namespace_that_is_not_terminating() {
        let store: DynStore = Arc::new(berth_store::memory::MemoryStore::new());
        let cache = WatchCache::start(store.clone());
        let uncached = Registry::new(store.clone());
        let cached = Registry::new(store.clone()).with_cache(cache.clone());
        let namespaces = request("namespaces", None);
        for (name, extra) in [
            ("live", json!({})),
            ("ending", json!({"status": {"phase": "Terminating"}})),
            (
                "deleted",
                json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}),
            ),
        ] {
            let mut ns =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            json_patch::merge(&mut ns, &extra);
            let key = keys::object_key(namespaces.resource, None, name);
            store
                .create(&key, serde_json::to_vec(&ns).unwrap())
                .await
                .unwrap();
        }
        let cm =
            |n: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}});
        // The store answers without a cache; the cache answers once it holds the namespaces.
        assert!(cache.sync().await, "the cache catches up");
        for (round, registry) in [&uncached, &cached].into_iter().enumerate() {
            let name = format!("c{round}");
            let created = registry
                .create(&request("configmaps", Some("live")), cm(&name), false)
                .await;
            assert!(created.is_ok(), "{created:?}");
            for ns in ["ending", "deleted"] {
                let err = registry
                    .create(&request("configmaps", Some(ns)), cm(&name), false)
                    .await
                    .unwrap_err();
                assert_eq!(err.code, 403, "{ns}: {err:?}");
                assert!(err.message.contains("is being terminated"), "{err:?}");
            }
            let err = registry
                .create(&request("configmaps", Some("missing")), cm(&name), false)
                .await
                .unwrap_err();
            assert_eq!(err.code, 404, "{err:?}");
        }
    }

    /// Lists configmaps in `default` as the handler does: from the cache when it may answer,
    /// else from the store (both the JSON and the raw path); the names and the list's version.
    async fn list_names(registry: &Registry, opts: &ListOptions) -> ApiResult<(Vec<String>, i64)> {
        let r = request("configmaps", Some("default"));
        if let Some(page) = registry.list_cached(&r, opts).await? {
            let names = page.items.iter().map(|e| e.name().to_owned()).collect();
            return Ok((names, page.resource_version));
        }
        let page = registry.list(&r, opts).await?;
        let (_, raw) = registry.list_raw(&r, opts).await?;
        assert_eq!(raw.resource_version, page.resource_version);
        let names = page
            .items
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        Ok((names, page.resource_version))
    }

    #[tokio::test]
    async fn list_versions_are_exact_not_older_than_or_too_large() {
        let store: DynStore = Arc::new(berth_store::memory::MemoryStore::new());
        let cache = WatchCache::start(store.clone());
        let uncached = Registry::new(store.clone());
        let cached = Registry::new(store.clone()).with_cache(cache.clone());
        let mut revisions = Vec::new();
        for name in ["a", "b", "c"] {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}});
            let key = keys::object_key(request("configmaps", None).resource, Some("default"), name);
            revisions.push(
                store
                    .create(&key, serde_json::to_vec(&cm).unwrap())
                    .await
                    .unwrap()
                    .mod_revision,
            );
        }
        assert!(cache.sync().await, "the cache catches up");
        let current = revisions[2];
        let opts = |rv: i64, matching: Option<&str>, limit: usize| ListOptions {
            resource_version: Some(rv.to_string()),
            resource_version_match: matching.map(str::to_owned),
            limit,
            ..ListOptions::default()
        };
        for registry in [&uncached, &cached] {
            // Exact, with or without a limit; a version and a limit without a match is exact too.
            for o in [
                opts(revisions[0], Some("Exact"), 0),
                opts(revisions[0], Some("Exact"), 10),
                opts(revisions[0], None, 10),
            ] {
                let (names, rv) = list_names(registry, &o).await.unwrap();
                assert_eq!(
                    (names, rv),
                    (vec!["a".to_owned()], revisions[0]),
                    "{:?}",
                    o.resource_version_match
                );
            }
            // Not older than: the newest data.
            for o in [
                opts(revisions[0], Some("NotOlderThan"), 0),
                opts(revisions[0], None, 0),
            ] {
                let (names, rv) = list_names(registry, &o).await.unwrap();
                assert_eq!((names.len(), rv), (3, current));
            }
            // A version the store has not reached, whichever the semantics.
            for o in [
                opts(current + 5, Some("NotOlderThan"), 0),
                opts(current + 5, None, 0),
                opts(current + 5, Some("Exact"), 0),
                opts(current + 5, None, 2),
            ] {
                let err = list_names(registry, &o).await.unwrap_err();
                assert_eq!((err.code, err.reason), (504, "Timeout"), "{err:?}");
                let details = err.details.as_ref().unwrap();
                assert_eq!(
                    details["causes"][0]["reason"], "ResourceVersionTooLarge",
                    "{err:?}"
                );
                assert_eq!(details["retryAfterSeconds"], 1, "{err:?}");
                assert!(
                    err.message.contains(&format!(
                        "Too large resource version: {}, current: {current}",
                        current + 5
                    )),
                    "{err:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn an_immediate_delete_answers_with_the_version_of_the_deletion() {
        let store: DynStore = Arc::new(berth_store::memory::MemoryStore::new());
        let registry = Registry::new(store.clone());
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}});
        let key = keys::object_key(request("configmaps", None).resource, Some("default"), "a");
        let created = store
            .create(&key, serde_json::to_vec(&cm).unwrap())
            .await
            .unwrap();
        let r = request("configmaps", Some("default"));
        let (deleted, gone) = registry.delete(&r, "a", &json!({}), false).await.unwrap();
        assert!(gone);
        let current = store.current_revision().await.unwrap();
        assert!(current > created.mod_revision);
        assert_eq!(
            deleted["metadata"]["resourceVersion"],
            current.to_string(),
            "{deleted}"
        );
    }

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let token = encode_continue(42, "/registry/pods/default/web");
        assert_eq!(
            decode_continue(&token).unwrap(),
            (42, "/registry/pods/default/web".into())
        );
        for bad in ["", "!!!", "e30="] {
            assert_eq!(decode_continue(bad).unwrap_err().code, 400, "{bad}");
        }
        // -1 continues at the newest revision (read as 0); 0 is no revision at all.
        let latest = encode_continue(-1, "/registry/pods/default/web");
        assert_eq!(
            decode_continue(&latest).unwrap(),
            (0, "/registry/pods/default/web".into())
        );
        let zero = encode_continue(0, "/registry/pods/default/web");
        assert_eq!(decode_continue(&zero).unwrap_err().code, 400);
    }

    #[tokio::test]
    async fn an_expired_continue_token_is_answered_with_one_at_the_newest_revision() {
        let store: DynStore = Arc::new(berth_store::memory::MemoryStore::new());
        let registry = Registry::new(store.clone());
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
        registry
            .create(&request("namespaces", None), ns, false)
            .await
            .unwrap();
        let cm =
            |n: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}});
        let cms = request("configmaps", Some("default"));
        for name in ["a", "b", "c"] {
            registry.create(&cms, cm(name), false).await.unwrap();
        }
        let first = ListOptions {
            limit: 1,
            ..ListOptions::default()
        };
        let page = registry.list(&cms, &first).await.unwrap();
        let token = page.continue_token.expect("more to list");
        registry.create(&cms, cm("d"), false).await.unwrap();
        store
            .compact(store.current_revision().await.unwrap())
            .await
            .unwrap();
        let stale = ListOptions {
            continue_token: Some(token),
            ..ListOptions::default()
        };
        let Err(by_list) = registry.list(&cms, &stale).await else {
            panic!("a list with an expired continue token succeeded");
        };
        let Err(by_raw) = registry.list_raw(&cms, &stale).await else {
            panic!("a raw list with an expired continue token succeeded");
        };
        for err in [&by_list, &by_raw] {
            assert_eq!((err.code, err.reason), (410, "Expired"), "{err:?}");
            assert_eq!(err.message, CONTINUE_EXPIRED);
        }
        let status = by_raw.to_status();
        let fresh = status["metadata"]["continue"]
            .as_str()
            .expect("a fresh token");
        assert_eq!(by_list.continue_token.as_deref(), Some(fresh));
        // The fresh token goes on after "a" at the newest revision, "d" included.
        let rest = ListOptions {
            continue_token: Some(fresh.to_owned()),
            ..ListOptions::default()
        };
        let page = registry.list(&cms, &rest).await.unwrap();
        let names: Vec<&str> = page
            .items
            .iter()
            .filter_map(|o| o["metadata"]["name"].as_str())
            .collect();
        assert_eq!(names, ["b", "c", "d"]);
        assert_eq!(
            page.resource_version,
            store.current_revision().await.unwrap()
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_651_200 + 3_723), "2026-11-26T01:02:03Z");
    }

    #[test]
    fn stamped_bytes_match_a_full_decode() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"metadata": "{\"x\":1}"},
            "metadata": {"name": "a", "labels": {"k": "v"}}});
        let kv = KeyValue {
            key: "/registry/configmaps/d/a".into(),
            value: serde_json::to_vec(&obj).unwrap(),
            create_revision: 3,
            mod_revision: 7,
        };
        let fast: Value = serde_json::from_slice(&stamped_bytes(&kv).unwrap()).unwrap();
        assert_eq!(fast, decode(&kv).unwrap());
        assert_eq!(fast["metadata"]["resourceVersion"], "7");
        let broken = KeyValue {
            value: b"{not json".to_vec(),
            ..kv
        };
        assert_eq!(stamped_bytes(&broken).unwrap_err().code, 500);
    }

    #[test]
    fn spliced_resource_versions_match_a_full_decode() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"metadata": "{\"x\":1}"},
                "metadata": {"name": "a", "labels": {"k": "v"}}}),
            json!({"data": {"metadata": {"name": "inner"}}, "metadata": {}}),
            json!({"metadata": {"name": "b", "annotations": {"resourceVersion": "1"}}}),
        ];
        for obj in objects {
            let kv = KeyValue {
                key: "/registry/configmaps/d/a".into(),
                value: serde_json::to_vec(&obj).unwrap(),
                create_revision: 3,
                mod_revision: 42,
            };
            let spliced = splice_resource_version(&kv.value, kv.mod_revision).expect("spliced");
            let spliced: Value = serde_json::from_slice(&spliced).unwrap();
            assert_eq!(spliced, decode(&kv).unwrap());
            assert_eq!(spliced["metadata"]["resourceVersion"], "42");
        }
        // Bytes written by a pretty printer splice the same way.
        let pretty = b"{ \"metadata\" : {\n \"name\": \"p\" } }";
        let spliced = splice_resource_version(pretty, 5).expect("spliced");
        let spliced: Value = serde_json::from_slice(&spliced).unwrap();
        assert_eq!(
            spliced,
            json!({"metadata": {"resourceVersion": "5", "name": "p"}})
        );
        // Shapes the splice must leave to a full re-encode.
        for odd in [
            &b"{\"metadata\":{\"resourceVersion\":\"3\"}}"[..],
            b"{\"kind\":\"X\"}",
            b"{\"metadata\":null}",
            b"[1,2]",
            b"{not json",
        ] {
            assert!(splice_resource_version(odd, 5).is_none(), "{odd:?}");
        }
    }

    #[test]
    fn generated_suffixes_use_the_safe_alphabet() {
        for _ in 0..100 {
            let s = random_suffix();
            assert_eq!(s.len(), 5);
            assert!(s.bytes().all(|b| NAME_CHARS.contains(&b)));
        }
    }
}

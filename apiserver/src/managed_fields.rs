//! `metadata.managedFields`: which writer (field manager) last set which fields of an object.
//!
//! Every create, update and patch that is not a server-side apply records an `Update` entry
//! for its manager: the `fieldManager` query parameter, or else the client's User-Agent up to
//! its first `/` (kubectl sends its own names such as `kubectl-edit`, `kubectl-label`,
//! `kubectl-client-side-apply`). An entry's `fieldsV1` is the set of fields that manager owns.
//! On create the creator owns every field it set (defaults included); on a later write the
//! fields the write added or changed move to its manager and out of every other entry, and
//! removed fields leave every entry. Entries are keyed by manager, operation, apiVersion and
//! subresource (`status`, `scale`), empty entries are dropped, and at most ten `Update`
//! entries are kept: the oldest are folded into one `ancient-changes` entry.
//!
//! A client may write managedFields itself: a non-empty list in a create, update or patch of
//! the main resource replaces the recorded one (the write is then tracked on top of it), an
//! empty list or a list of one empty entry clears it, and anything else keeps what was
//! stored. Writes to subresources never change it directly. An existing object without any
//! entry (one stored before tracking began, or cleared by a client) stays untracked.
//!
//! The set is computed from the JSON objects after defaulting and validation, with the
//! list semantics of [`berth_api_types::patch_meta`]: lists merged by key are tracked per
//! element (`k:{"name":"c"}`), merged scalar lists per value (`v:"x"`), every other list and
//! label selectors as one atomic field. A field that appears with children is itself a member
//! (`.`), except `metadata`, `spec` and `status` at the root, which every object has.

use berth_api_types::catalog::ResourceInfo;
use berth_api_types::patch_meta::{self, FieldShape, TypeRef};
use berth_api_types::validation::{FieldError, Path};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The longest field manager name accepted.
pub const MAX_MANAGER_LEN: usize = 128;

/// How many `Update` entries an object keeps before the oldest are folded together.
pub const MAX_UPDATE_ENTRIES: usize = 10;

/// The manager name the folded oldest `Update` entries are recorded under.
pub const ANCIENT_CHANGES: &str = "ancient-changes";

/// Metadata fields no manager owns: the server sets them, or they name the object.
const SERVER_META: &[&str] = &[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
];

/// Checks a `fieldManager` parameter: at most [`MAX_MANAGER_LEN`] bytes of printable
/// characters. The errors name the `fieldManager` field, for a 422 on the request's options.
pub fn validate_manager(manager: &str) -> Vec<FieldError> {
    let path = Path::new("fieldManager");
    let mut errs = Vec::new();
    if manager.len() > MAX_MANAGER_LEN {
        errs.push(FieldError::too_long(&path, MAX_MANAGER_LEN));
    }
    for (i, c) in manager.char_indices() {
        if !is_printable(c) {
            errs.push(FieldError::invalid(
                &path,
                manager,
                &format!("invalid character U+{:04X} (at position {i})", u32::from(c)),
            ));
        }
    }
    errs
}

/// The manager name of a client that gave no `fieldManager`: its User-Agent up to the first
/// `/`, without unprintable characters, cut to [`MAX_MANAGER_LEN`] bytes.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or_default();
    let mut out = String::new();
    for c in prefix.chars().filter(|c| is_printable(*c)) {
        if out.len() + c.len_utf8() > MAX_MANAGER_LEN {
            break;
        }
        out.push(c);
    }
    out
}

/// Printable as Kubernetes counts it: letters, marks, numbers, punctuation, symbols and the
/// ASCII space; no control, format or other whitespace characters.
fn is_printable(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || is_format(c))
}

fn is_format(c: char) -> bool {
    matches!(c, '\u{AD}' | '\u{600}'..='\u{605}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A set of field paths, as `fieldsV1` encodes it: a tree of path elements (`f:name`,
/// `k:{...}`, `v:...`) where a node is a member when it is a leaf or carries `.`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldSet {
    children: BTreeMap<String, Node>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Node {
    member: bool,
    children: FieldSet,
}

impl Node {
    fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }
}

impl FieldSet {
    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    fn put(&mut self, key: String, node: Node) {
        if !node.is_empty() {
            self.children.insert(key, node);
        }
    }

    /// Adds every member of `other`.
    pub fn union(&mut self, other: &FieldSet) {
        for (k, theirs) in &other.children {
            let mine = self.children.entry(k.clone()).or_default();
            mine.member |= theirs.member;
            mine.children.union(&theirs.children);
        }
    }

    /// Removes every member of `other`, dropping nodes left without members.
    pub fn difference(&mut self, other: &FieldSet) {
        for (k, theirs) in &other.children {
            let Some(mine) = self.children.get_mut(k) else {
                continue;
            };
            if theirs.member {
                mine.member = false;
            }
            mine.children.difference(&theirs.children);
            if mine.is_empty() {
                self.children.remove(k);
            }
        }
    }

    /// The `fieldsV1` JSON of the set.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (k, node) in &self.children {
            let mut inner = match node.children.to_json() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if node.member && !inner.is_empty() {
                inner.insert(".".into(), json!({}));
            }
            out.insert(k.clone(), Value::Object(inner));
        }
        Value::Object(out)
    }

    /// Reads a `fieldsV1` value; `None` when it is not a tree of objects.
    pub fn from_json(value: &Value) -> Option<FieldSet> {
        let mut set = FieldSet::default();
        for (k, v) in value.as_object()? {
            if k == "." {
                continue;
            }
            let children = FieldSet::from_json(v)?;
            let member = children.is_empty() || v.get(".").is_some();
            set.children.insert(k.clone(), Node { member, children });
        }
        Some(set)
    }
}

/// How a value is tracked.
#[derive(Clone, Copy)]
enum Shape {
    /// One field, whatever its content.
    Atomic,
    /// An object: each field on its own, described by the type when known.
    Object(Option<TypeRef>),
    /// A map with free-form keys whose values are atomic.
    Map,
    /// A list of objects identified by the key fields.
    Keyed(Option<TypeRef>, &'static [&'static str]),
    /// A list of scalars, each value on its own.
    Set,
}

/// The key fields of a keyed list, from its merge key (ports are keyed by number and
/// protocol, spread constraints by key and policy).
fn list_keys(merge_key: &'static str) -> &'static [&'static str] {
    match merge_key {
        "containerPort" => &["containerPort", "protocol"],
        "port" => &["port", "protocol"],
        "topologyKey" => &["topologyKey", "whenUnsatisfiable"],
        "name" => &["name"],
        "type" => &["type"],
        "uid" => &["uid"],
        "ip" => &["ip"],
        "mountPath" => &["mountPath"],
        "devicePath" => &["devicePath"],
        "key" => &["key"],
        _ => &[],
    }
}

fn field_shape(parent: Option<TypeRef>, name: &str, value: Option<&Value>) -> Shape {
    let meta = parent.and_then(|t| t.field(name));
    match meta {
        Some(m) => match m.shape {
            FieldShape::Map => Shape::Map,
            FieldShape::Object if m.child.is_some_and(|c| c.name() == "LabelSelector") => {
                Shape::Atomic
            }
            FieldShape::Object => Shape::Object(m.child),
            FieldShape::List if !m.strategy.merges() => Shape::Atomic,
            FieldShape::List => match m.merge_key {
                Some(key) if !list_keys(key).is_empty() => Shape::Keyed(m.child, list_keys(key)),
                Some(_) => Shape::Atomic,
                None => Shape::Set,
            },
        },
        None => match value {
            Some(Value::Object(_)) => Shape::Object(None),
            _ => Shape::Atomic,
        },
    }
}

fn is_empty_container(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// What a write did to an object: the fields it added or changed, and those it removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Change {
    /// Fields added or given another value.
    pub changed: FieldSet,
    /// Fields that are gone.
    pub removed: FieldSet,
}

/// Compares two versions of an object of `kind` in `group`; `old` is `None` on create.
pub fn compare(group: &str, kind: &str, old: Option<&Value>, new: &Value) -> Change {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(Map::new);
    let root = patch_meta::root_type(group, kind);
    let old = old.and_then(Value::as_object).unwrap_or(empty);
    let new = new.as_object().unwrap_or(empty);
    let mut change = Change::default();
    for key in union_keys(old, new) {
        if key == "apiVersion" || key == "kind" {
            continue;
        }
        let (o, n) = (old.get(key), new.get(key));
        let always = matches!(key, "metadata" | "spec" | "status");
        let shape = field_shape(root, key, o.or(n));
        let (mut changed, mut removed) = if key == "metadata" {
            let meta_type = root.and_then(|t| t.field("metadata")).and_then(|m| m.child);
            diff_object(
                o.and_then(Value::as_object).unwrap_or(empty),
                n.and_then(Value::as_object).unwrap_or(empty),
                Shape::Object(meta_type),
                |k| SERVER_META.contains(&k),
            )
        } else if always {
            // Present on both sides, as every object of these kinds has them.
            let e = Value::Object(Map::new());
            diff(Some(o.unwrap_or(&e)), Some(n.unwrap_or(&e)), shape)
        } else {
            diff(o, n, shape)
        };
        if always {
            changed.member = false;
            removed.member = false;
        }
        let k = format!("f:{key}");
        change.changed.put(k.clone(), changed);
        change.removed.put(k, removed);
    }
    change
}

fn union_keys<'a>(a: &'a Map<String, Value>, b: &'a Map<String, Value>) -> Vec<&'a str> {
    let mut keys: Vec<&str> = a.keys().map(String::as_str).collect();
    keys.extend(b.keys().map(String::as_str).filter(|k| !a.contains_key(*k)));
    keys
}

/// The changed and removed nodes of one value.
fn diff(old: Option<&Value>, new: Option<&Value>, shape: Shape) -> (Node, Node) {
    let mut changed = Node::default();
    let mut removed = Node::default();
    let container = !matches!(shape, Shape::Atomic);
    if !container || (is_empty_container(old) && is_empty_container(new)) {
        match (old, new) {
            (None, Some(_)) => changed.member = true,
            (Some(_), None) => removed.member = true,
            (Some(a), Some(b)) if a != b => changed.member = true,
            _ => {}
        }
        return (changed, removed);
    }
    changed.member = old.is_none();
    removed.member = new.is_none();
    let (c, r) = match shape {
        Shape::Object(_) | Shape::Map => {
            let empty = Map::new();
            let o = old.and_then(Value::as_object).unwrap_or(&empty);
            let n = new.and_then(Value::as_object).unwrap_or(&empty);
            let (c, r) = diff_object(o, n, shape, |_| false);
            (c.children, r.children)
        }
        Shape::Keyed(ty, keys) => {
            let none = Vec::new();
            let o = old.and_then(Value::as_array).unwrap_or(&none);
            let n = new.and_then(Value::as_array).unwrap_or(&none);
            match (keyed(o, keys), keyed(n, keys)) {
                (Some(o), Some(n)) => {
                    let mut c = FieldSet::default();
                    let mut r = FieldSet::default();
                    for key in o.keys().chain(n.keys().filter(|k| !o.contains_key(*k))) {
                        let (ce, re) =
                            diff(o.get(key).copied(), n.get(key).copied(), Shape::Object(ty));
                        c.put(key.clone(), ce);
                        r.put(key.clone(), re);
                    }
                    (c, r)
                }
                // Elements without their keys, or with repeated keys: the list is one field.
                _ => return diff(old, new, Shape::Atomic),
            }
        }
        Shape::Set => {
            let none = Vec::new();
            let o: Vec<String> = old
                .and_then(Value::as_array)
                .unwrap_or(&none)
                .iter()
                .map(|v| format!("v:{v}"))
                .collect();
            let n: Vec<String> = new
                .and_then(Value::as_array)
                .unwrap_or(&none)
                .iter()
                .map(|v| format!("v:{v}"))
                .collect();
            let leaf = || Node {
                member: true,
                children: FieldSet::default(),
            };
            let mut c = FieldSet::default();
            let mut r = FieldSet::default();
            for v in n.iter().filter(|v| !o.contains(v)) {
                c.put(v.clone(), leaf());
            }
            for v in o.iter().filter(|v| !n.contains(v)) {
                r.put(v.clone(), leaf());
            }
            (c, r)
        }
        Shape::Atomic => unreachable!("atomic values are compared whole above"),
    };
    changed.children = c;
    removed.children = r;
    (changed, removed)
}

fn diff_object(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    shape: Shape,
    skip: impl Fn(&str) -> bool,
) -> (Node, Node) {
    let mut changed = Node::default();
    let mut removed = Node::default();
    for key in union_keys(old, new) {
        if skip(key) {
            continue;
        }
        let (o, n) = (old.get(key), new.get(key));
        let child = match shape {
            Shape::Object(ty) => field_shape(ty, key, o.or(n)),
            _ => Shape::Atomic,
        };
        let (c, r) = diff(o, n, child);
        let k = format!("f:{key}");
        changed.children.put(k.clone(), c);
        removed.children.put(k, r);
    }
    (changed, removed)
}

/// The elements of a keyed list by their `k:` path element; `None` when an element lacks a
/// key field or two elements share their keys.
fn keyed<'a>(items: &'a [Value], keys: &[&str]) -> Option<BTreeMap<String, &'a Value>> {
    let mut out = BTreeMap::new();
    for item in items {
        let obj = item.as_object()?;
        let mut id = Map::new();
        for k in keys {
            match obj.get(*k) {
                Some(v) => {
                    id.insert((*k).to_owned(), v.clone());
                }
                // Only the first key is required; the others (a port's protocol) may be unset.
                None if k == &keys[0] => return None,
                None => {}
            }
        }
        let path = format!("k:{}", Value::Object(id));
        if out.insert(path, item).is_some() {
            return None;
        }
    }
    Some(out)
}

/// One managedFields entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The field manager.
    pub manager: String,
    /// `Update` or `Apply`.
    pub operation: String,
    /// The apiVersion the manager wrote.
    pub api_version: String,
    /// When the manager last changed a field, RFC 3339.
    pub time: Option<String>,
    /// The subresource written (`status`, `scale`), empty for the main resource.
    pub subresource: String,
    /// The fields the manager owns.
    pub fields: FieldSet,
}

impl Entry {
    fn same_key(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.api_version == other.api_version
            && self.subresource == other.subresource
    }

    fn from_json(v: &Value) -> Option<Entry> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match v.get("fieldsType").and_then(Value::as_str) {
            None | Some("FieldsV1") => {}
            Some(_) => return None,
        }
        let fields = match v.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::default(),
            Some(f) => FieldSet::from_json(f)?,
        };
        Some(Entry {
            manager: s("manager"),
            operation: s("operation"),
            api_version: s("apiVersion"),
            time: v.get("time").and_then(Value::as_str).map(str::to_owned),
            subresource: s("subresource"),
            fields,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("apiVersion".into(), json!(self.api_version));
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.fields.to_json());
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), json!(self.subresource));
        }
        if let Some(t) = &self.time {
            m.insert("time".into(), json!(t));
        }
        Value::Object(m)
    }
}

/// Reads a managedFields list; `None` when it is not one (then the stored one is kept).
fn decode(list: Option<&Value>) -> Option<Vec<Entry>> {
    match list {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(Entry::from_json).collect(),
        Some(_) => None,
    }
}

/// Whether a client's managedFields asks to clear them: an empty list, or one empty entry.
fn is_reset(list: Option<&Value>) -> bool {
    match list.and_then(Value::as_array).map(Vec::as_slice) {
        Some([]) => true,
        Some([only]) => only.as_object().is_some_and(Map::is_empty),
        _ => false,
    }
}

fn managed_fields(obj: Option<&Value>) -> Option<&Value> {
    obj?.get("metadata")?.get("managedFields")
}

/// One write to record.
pub struct Write<'a> {
    /// The resource written.
    pub resource: &'a ResourceInfo,
    /// The subresource written, if any.
    pub subresource: Option<&'a str>,
    /// The writer's field manager.
    pub manager: &'a str,
    /// The time of the write, RFC 3339.
    pub now: &'a str,
}

/// Records a create (`old` is `None`) or an update of `new` in its managedFields.
pub fn record(write: &Write<'_>, old: Option<&Value>, new: &mut Value) {
    if old.is_none() && write.subresource.is_none() {
        let sent = managed_fields(Some(new));
        let untracked = is_reset(sent) || decode(sent).is_none_or(|e| e.is_empty());
        if untracked {
            record_create(write, new);
            return;
        }
    }
    record_change(write, old, new);
}

/// A create that brings no managedFields of its own: the creator owns every field it set.
/// The same entry the general path records, built straight as JSON.
fn record_create(write: &Write<'_>, new: &mut Value) {
    let res = write.resource;
    let fields = created_fields(res.group, res.kind, new);
    if fields.is_empty() {
        set_entries(new, &[]);
        return;
    }
    let mut entry = Map::new();
    entry.insert("apiVersion".into(), Value::String(res.api_version()));
    entry.insert("fieldsType".into(), json!("FieldsV1"));
    entry.insert("fieldsV1".into(), Value::Object(fields));
    entry.insert("manager".into(), json!(write.manager));
    entry.insert("operation".into(), json!("Update"));
    entry.insert("time".into(), json!(write.now));
    if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "managedFields".into(),
            Value::Array(vec![Value::Object(entry)]),
        );
    }
}

/// The `fieldsV1` of every field of a new object, as [`compare`] finds them against nothing.
fn created_fields(group: &str, kind: &str, new: &Value) -> Map<String, Value> {
    let root = patch_meta::root_type(group, kind);
    let mut out = Map::new();
    let Some(new) = new.as_object() else {
        return out;
    };
    for (key, value) in new {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                let meta_type = root.and_then(|t| t.field("metadata")).and_then(|m| m.child);
                let mut children = Map::new();
                for (k, v) in value.as_object().into_iter().flatten() {
                    if !SERVER_META.contains(&k.as_str()) {
                        let shape = field_shape(meta_type, k, Some(v));
                        children.insert(format!("f:{k}"), created(shape, v));
                    }
                }
                if !children.is_empty() {
                    out.insert("f:metadata".into(), Value::Object(children));
                }
            }
            "spec" | "status" => {
                // Every object has these: they are never members themselves.
                if let Value::Object(mut children) =
                    created(field_shape(root, key, Some(value)), value)
                {
                    children.remove(".");
                    if !children.is_empty() {
                        out.insert(format!("f:{key}"), Value::Object(children));
                    }
                }
            }
            _ => {
                let shape = field_shape(root, key, Some(value));
                out.insert(format!("f:{key}"), created(shape, value));
            }
        }
    }
    out
}

/// The `fieldsV1` node of a value that is new: a member, with its own fields below it when
/// its shape tracks them.
fn created(shape: Shape, value: &Value) -> Value {
    let leaf = || Value::Object(Map::new());
    if matches!(shape, Shape::Atomic) || is_empty_container(Some(value)) {
        return leaf();
    }
    let mut children = Map::new();
    match shape {
        Shape::Object(_) | Shape::Map => {
            for (k, v) in value.as_object().into_iter().flatten() {
                let child = match shape {
                    Shape::Object(ty) => field_shape(ty, k, Some(v)),
                    _ => Shape::Atomic,
                };
                children.insert(format!("f:{k}"), created(child, v));
            }
        }
        Shape::Keyed(ty, keys) => {
            let none = Vec::new();
            let items = value.as_array().unwrap_or(&none);
            let Some(items) = keyed(items, keys) else {
                // Elements without their keys, or with repeated keys: the list is one field.
                return leaf();
            };
            for (path, item) in items {
                children.insert(path, created(Shape::Object(ty), item));
            }
        }
        Shape::Set => {
            for v in value.as_array().into_iter().flatten() {
                children.insert(format!("v:{v}"), leaf());
            }
        }
        Shape::Atomic => {}
    }
    if !children.is_empty() {
        children.insert(".".into(), leaf());
    }
    Value::Object(children)
}

/// Records any write the general way: compares `old` and `new` field by field.
fn record_change(write: &Write<'_>, old: Option<&Value>, new: &mut Value) {
    let stored = || decode(managed_fields(old)).unwrap_or_default();
    let sent = managed_fields(Some(new));
    let mut entries = if write.subresource.is_some() {
        stored()
    } else if is_reset(sent) {
        Vec::new()
    } else {
        match decode(sent) {
            Some(e) if !e.is_empty() => e,
            _ => stored(),
        }
    };
    if entries.is_empty() && old.is_some() {
        // Not tracked: created before tracking, or cleared by a client.
        set_entries(new, &[]);
        return;
    }
    let res = write.resource;
    let change = compare(res.group, res.kind, old, new);
    for e in &mut entries {
        e.fields.difference(&change.changed);
        e.fields.difference(&change.removed);
    }
    if !change.changed.is_empty() {
        let mine = Entry {
            manager: write.manager.to_owned(),
            operation: "Update".into(),
            api_version: res.api_version(),
            time: Some(write.now.to_owned()),
            subresource: write.subresource.unwrap_or_default().to_owned(),
            fields: change.changed,
        };
        match entries.iter_mut().find(|e| e.same_key(&mine)) {
            Some(e) => {
                e.fields.union(&mine.fields);
                e.time = mine.time;
            }
            None => entries.push(mine),
        }
    }
    entries.retain(|e| !e.fields.is_empty());
    cap_updates(&mut entries);
    entries.sort_by(|a, b| {
        (
            &a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    set_entries(new, &entries);
}

/// Folds the oldest `Update` entries into `ancient-changes` entries (one per apiVersion)
/// until at most [`MAX_UPDATE_ENTRIES`] remain.
fn cap_updates(entries: &mut Vec<Entry>) {
    let updates = entries.iter().filter(|e| e.operation == "Update").count();
    if updates <= MAX_UPDATE_ENTRIES {
        return;
    }
    let mut order: Vec<usize> = (0..entries.len())
        .filter(|i| entries[*i].operation == "Update" && entries[*i].manager != ANCIENT_CHANGES)
        .collect();
    order.sort_by(|a, b| {
        (&entries[*a].time, &entries[*a].manager).cmp(&(&entries[*b].time, &entries[*b].manager))
    });
    let mut count = updates;
    let mut folded = Vec::new();
    for i in order {
        if count <= MAX_UPDATE_ENTRIES {
            break;
        }
        let old = entries[i].clone();
        folded.push(i);
        let bucket = entries.iter_mut().find(|e| {
            e.manager == ANCIENT_CHANGES
                && e.operation == "Update"
                && e.api_version == old.api_version
                && e.subresource.is_empty()
        });
        match bucket {
            Some(b) => {
                b.fields.union(&old.fields);
                b.time = b.time.clone().max(old.time);
                count -= 1;
            }
            None => entries.push(Entry {
                manager: ANCIENT_CHANGES.into(),
                subresource: String::new(),
                ..old
            }),
        }
    }
    folded.sort_unstable();
    for i in folded.into_iter().rev() {
        entries.remove(i);
    }
}

fn set_entries(obj: &mut Value, entries: &[Entry]) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(Entry::to_json).collect()),
        );
    }
}

#[cfg(test)]
mod tests;

//! Applying strategic merge patches, as Kubernetes' API server does.
//!
//! A strategic merge patch (`application/strategic-merge-patch+json`) is what `kubectl apply`,
//! `edit`, `patch`, `set` and `rollout restart` send. It looks like a JSON merge patch, but
//! some lists merge element by element instead of being replaced, and a few `$`-prefixed
//! directives steer the merge:
//!
//! - `"$patch": "replace"` in an object replaces the whole object with the rest of the patch
//!   object; `"$patch": "delete"` empties it. As a list element, `{"$patch": "replace"}`
//!   replaces the whole list with the other elements, and `{"<key>": v, "$patch": "delete"}`
//!   removes the elements whose merge key is `v`. `"$patch": "merge"` is rejected, as
//!   Kubernetes rejects it;
//! - `"$retainKeys": [..]` drops every key of the live object the list does not name, before
//!   the rest of the patch is merged;
//! - `"$deleteFromPrimitiveList/<field>": [..]` removes scalars from the list `<field>`;
//! - `"$setElementOrder/<field>": [..]` gives the final order of the merged list `<field>`;
//! - `null` deletes a key.
//!
//! Which lists merge, and on which key, comes from [`crate::patch_meta`]. A field the table
//! does not describe behaves as an untagged field: objects merge key by key, lists are
//! replaced whole.
//!
//! Berth must produce the very objects Kubernetes produces, element order included, because
//! `kubectl get -o yaml`, `kubectl diff` and the next three-way `apply` all see it. So this
//! module follows Kubernetes' algorithm step by step rather than a tidier reading of the
//! directives, including its quirks:
//!
//! - a list element the patch adds (without `$setElementOrder`) goes *before* the live
//!   elements it is not ordered against: merging `[{name: c}]` into `[a, b]` gives `[c, a, b]`;
//! - `"$patch": "delete"` in an object leaves an empty object behind rather than removing the
//!   key, while a `$patch` object placed where the live object has nothing is dropped;
//! - when one merge both deletes and appends elements of a list that also has
//!   `$setElementOrder`, Kubernetes orders the live elements against a view of the list in
//!   which appended elements have taken the slots of deleted ones; the list merge here keeps
//!   that view so the resulting order is the same.
//!
//! Kubernetes decodes the merged map into its typed structs, which silently drops fields no
//! type has. Berth keeps JSON, so it drops what that decoding would: directive keys left in
//! values the patch inserts whole, other `$`-prefixed keys, and `null` object members.
//!
//! Errors carry Kubernetes' messages; [`PatchError::http_status`] gives the status code its API
//! server answers with. A `metadata.resourceVersion` in the patch is merged like any field;
//! checking it as a precondition is the API server's job.

mod go_format;
mod ordering;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::patch_meta::{self, FieldShape, PatchStrategy, TypeRef};
use go_format::{go_fmt, go_fmt_list, go_fmt_s, go_type};
use ordering::{normalize_element_order, partition_maps, partition_scalars};

/// The key of the `$patch` directive.
const DIRECTIVE: &str = "$patch";
/// The key of the `$retainKeys` directive.
const RETAIN_KEYS: &str = "$retainKeys";
/// The prefix of `$deleteFromPrimitiveList/<field>` keys.
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
/// The prefix of `$setElementOrder/<field>` keys.
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Go's name for a JSON list, as Kubernetes' type errors print it.
const GO_LIST: &str = "[]interface {}";
/// Go's name for a JSON object, as Kubernetes' type errors print it.
const GO_MAP: &str = "map[string]interface {}";

/// Why a strategic merge patch could not be applied. The messages are Kubernetes' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The kind has no strategic-merge metadata (custom resources, unknown kinds).
    #[error("strategic merge patch format is not supported")]
    Unsupported,
    /// The object being patched is not a JSON object.
    #[error("invalid JSON document")]
    BadJsonDoc,
    /// The patch is a JSON value other than an object (or `null`); the field names the JSON
    /// kind received (`array`, `string`, `number`, `bool`).
    #[error("json: cannot unmarshal {0} into Go value of type map[string]interface {{}}")]
    PatchNotObject(&'static str),
    /// A `$deleteFromPrimitiveList` key without a `/<field>` suffix.
    #[error("invalid patch format of primitive list")]
    BadPrimitiveListFormat,
    /// `$retainKeys` is not a list, or the patch sets a key the list does not name.
    #[error("invalid patch format of retainKeys")]
    BadRetainKeysFormat,
    /// A `$setElementOrder` key without a `/<field>` suffix.
    #[error("invalid patch format of setElementOrder list")]
    BadSetElementOrderFormat,
    /// A list whose elements are lists.
    #[error("lists of lists are not supported")]
    ListOfLists,
    /// A `$patch` value other than `replace` and `delete` in an object (or than `replace`,
    /// `delete` and `merge` in a list element); `map` is the object holding it.
    #[error("unknown patch type: {directive} in map: {map}")]
    UnknownPatchType {
        /// The directive value, as Go's `%s` prints it.
        directive: String,
        /// The object carrying the directive, as Go's `%v` prints it.
        map: String,
    },
    /// `{"$patch": "merge"}` as a list element.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeListDirective,
    /// An element of a list merged on `key` lacks the key.
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey {
        /// The element, as Go's `%v` prints it.
        map: String,
        /// The list's merge key.
        key: String,
    },
    /// A value of the wrong JSON type where a list or an object is required (the directive
    /// lists, the field a `$setElementOrder` names, the elements of a keyed list).
    #[error("expected a {expected}, but received a {actual}")]
    BadArgType {
        /// Go's name of the expected type.
        expected: &'static str,
        /// Go's name of the type received.
        actual: &'static str,
    },
    /// The live list and the patch list (together) mix element types.
    #[error("list element types are not identical: {0}")]
    ElementTypesDiffer(String),
    /// A `$setElementOrder` names a list that is empty in both the object and the patch.
    #[error("no elements in any of the given slices")]
    NoElements,
    /// A list merged element by element holds objects but declares no merge key; the field
    /// names the element type (or the list).
    #[error("cannot merge lists without merge key for {0}")]
    NoMergeKeyForList(String),
    /// The patch list's elements are not in the relative order `$setElementOrder` gives, or
    /// the patch list has an element the order list lacks.
    #[error("The order in patch list:\n{patch}\n doesn't match $setElementOrder list:\n{order}\n")]
    OrderMismatch {
        /// The patch list, as Go's `%v` prints it.
        patch: String,
        /// The `$setElementOrder` list, as Go's `%v` prints it.
        order: String,
    },
    /// An element of a `$setElementOrder` list where an object is expected is not one.
    #[error("value for key {0} is not a map")]
    NotAMap(usize),
    /// `$setElementOrder` on a list of objects that has no merge key to order them by.
    #[error("cannot order the elements of {0}: the list has no merge key")]
    UnorderableList(String),
}

impl PatchError {
    /// The HTTP status Kubernetes' API server answers with: 400 (`BadRequest`) for malformed
    /// directives and documents, 422 (`Invalid`) for lists of lists, and 500 with an empty
    /// reason for the rest, which `kubectl` prints as `Error from server: <message>`.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unsupported
            | Self::BadJsonDoc
            | Self::PatchNotObject(_)
            | Self::BadPrimitiveListFormat
            | Self::BadRetainKeysFormat
            | Self::BadSetElementOrderFormat => 400,
            Self::ListOfLists => 422,
            _ => 500,
        }
    }
}

/// Applies the strategic merge patch `patch` to `original`, an object of `kind` in `group`
/// (empty for the core group), and returns the patched object.
///
/// `original` must be a JSON object; `patch` must be an object, or `null` (which changes
/// nothing, as in Kubernetes). Kinds without strategic-merge metadata are refused with
/// [`PatchError::Unsupported`], as Kubernetes refuses them for custom resources.
pub fn apply(
    group: &str,
    kind: &str,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let root = patch_meta::root_type(group, kind).ok_or(PatchError::Unsupported)?;
    apply_typed(Some(root), original, patch)
}

/// Applies `patch` to `original` whose type is `ty` in the patch-metadata tree: a subtree
/// such as a `PodSpec`, or `None` for a document with no metadata (every object then merges
/// key by key and every list is replaced whole).
pub fn apply_typed(
    ty: Option<TypeRef>,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    apply_with_schema(ty, original, patch)
}

/// [`apply_typed`] over any [`Schema`]; the tests use it with schemas of their own.
fn apply_with_schema<S: Schema>(
    ty: Option<S>,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let Value::Object(original) = original else {
        return Err(PatchError::BadJsonDoc);
    };
    let patch = match patch {
        Value::Object(patch) => patch.clone(),
        Value::Null => return Ok(Value::Object(original.clone())),
        Value::Array(_) => return Err(PatchError::PatchNotObject("array")),
        Value::String(_) => return Err(PatchError::PatchNotObject("string")),
        Value::Number(_) => return Err(PatchError::PatchNotObject("number")),
        Value::Bool(_) => return Err(PatchError::PatchNotObject("bool")),
    };
    merge_map(original.clone(), patch, ty).map(Value::Object)
}

// ---- schema ----

/// The patch metadata of one field, as the merge needs it.
#[derive(Debug, Clone, Copy)]
struct FieldInfo<S> {
    shape: FieldShape,
    strategy: PatchStrategy,
    merge_key: Option<&'static str>,
    child: Option<S>,
}

/// A source of patch metadata: [`TypeRef`] in production, small hand-written types in tests.
trait Schema: Copy {
    /// The described field `name`, if any.
    fn field_info(&self, name: &str) -> Option<FieldInfo<Self>>;
    /// The type's name, for error messages.
    fn type_name(&self) -> &'static str;
}

impl Schema for TypeRef {
    fn field_info(&self, name: &str) -> Option<FieldInfo<Self>> {
        self.field(name).map(|f| FieldInfo {
            shape: f.shape,
            strategy: f.strategy,
            merge_key: f.merge_key,
            child: f.child,
        })
    }

    fn type_name(&self) -> &'static str {
        self.name()
    }
}

/// How a list field merges.
struct ListInfo<S> {
    /// Whether the list merges element by element (strategy `merge`).
    merges: bool,
    /// The merge key; empty for scalar lists and lists replaced whole.
    merge_key: &'static str,
    /// The element type.
    element: Option<S>,
    /// The name errors use for the element type.
    element_name: String,
}

impl<S: Schema> ListInfo<S> {
    fn of(ty: Option<S>, field: &str) -> Self {
        match ty.and_then(|t| t.field_info(field)) {
            Some(info) if info.shape == FieldShape::List => Self {
                merges: info.strategy.merges(),
                merge_key: info.merge_key.unwrap_or(""),
                element: info.child,
                element_name: info
                    .child
                    .map_or_else(|| field.to_string(), |c| c.type_name().to_string()),
            },
            _ => Self {
                merges: false,
                merge_key: "",
                element: None,
                element_name: field.to_string(),
            },
        }
    }
}

/// The type of the object held by `field`, when the schema describes it as an object.
fn object_child<S: Schema>(ty: Option<S>, field: &str) -> Option<S> {
    ty.and_then(|t| t.field_info(field))
        .filter(|info| info.shape == FieldShape::Object)
        .and_then(|info| info.child)
}

// ---- JSON helpers ----

/// The dynamic type a value has once Kubernetes decodes JSON: integers and floats differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    List,
    Map,
}

fn kind_of(value: &Value) -> Kind {
    match value {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(_) => Kind::Float,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::List,
        Value::Object(_) => Kind::Map,
    }
}

/// The field named by a `<prefix>/<field>` directive key; `None` when the key has no `/` or
/// its first segment is not exactly `prefix`.
fn directive_target<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    let (head, rest) = key.split_once('/')?;
    (head == prefix).then_some(rest)
}

/// Whether `value` is an object carrying a `$patch` directive.
fn has_directive(value: &Value) -> bool {
    value.get(DIRECTIVE).is_some()
}

/// Whether `value` is an object whose `$patch` is `delete`.
fn is_delete_directive(value: &Value) -> bool {
    value.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

/// What Kubernetes' typed decoding keeps of a value the patch inserts as it is: every
/// `$`-prefixed key and every `null` object member is dropped, at any depth.
fn strip(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(strip_map(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(strip).collect()),
        other => other,
    }
}

fn strip_map(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
        .map(|(k, v)| (k, strip(v)))
        .collect()
}

/// A value the patch places where the object has nothing (or a value of another type):
/// objects carrying `$patch` are dropped, with the key or list slot holding them, and the
/// rest is stripped as [`strip`] does. `None` when `value` itself is such an object.
fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.contains_key(DIRECTIVE) {
                return None;
            }
            let kept = map
                .into_iter()
                .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                .collect();
            Some(Value::Object(kept))
        }
        Value::Array(items) => Some(Value::Array(
            items.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// A list the patch requires at `field` (a directive list, or the list a `$setElementOrder`
/// names); `Ok(None)` when absent.
fn list_at<'a>(
    map: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a Vec<Value>>, PatchError> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(PatchError::BadArgType {
            expected: GO_LIST,
            actual: go_type(other),
        }),
    }
}

// ---- maps ----

/// Merges the patch object `patch` into the object `original` of type `ty`.
fn merge_map<S: Schema>(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    ty: Option<S>,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                Ok(strip_map(patch))
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(PatchError::UnknownPatchType {
                directive: go_fmt_s(directive),
                map: go_fmt(&Value::Object(patch.clone())),
            }),
        };
    }

    apply_retain_keys(&mut original, &mut patch)?;
    apply_element_orders(&mut original, &mut patch, ty)?;

    for (patch_key, patch_value) in patch {
        let (key, delete_list) = if patch_key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            let field = directive_target(&patch_key, DELETE_FROM_PRIMITIVE_LIST)
                .ok_or(PatchError::BadPrimitiveListFormat)?;
            (field.to_string(), true)
        } else if patch_key.starts_with('$') {
            // No Kubernetes field starts with `$`; typed decoding would drop it.
            continue;
        } else {
            (patch_key, false)
        };

        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let Some(current) = original.get_mut(&key) else {
            if !delete_list {
                if let Some(value) = remove_directives(patch_value) {
                    original.insert(key, value);
                }
            }
            continue;
        };
        if kind_of(current) != kind_of(&patch_value) {
            if !delete_list {
                match remove_directives(patch_value) {
                    Some(value) => *current = value,
                    None => {
                        original.remove(&key);
                    }
                }
            }
            continue;
        }
        match (current, patch_value) {
            (Value::Object(current), Value::Object(patch_map)) => {
                let live = std::mem::take(current);
                *current = merge_map(live, patch_map, object_child(ty, &key))?;
            }
            (Value::Array(current), Value::Array(patch_list)) => {
                let info = ListInfo::of(ty, &key);
                if info.merges || delete_list {
                    let live = std::mem::take(current);
                    *current = merge_slice(live, patch_list, &info, delete_list, false)?.merged;
                } else {
                    *current = patch_list.into_iter().map(strip).collect();
                }
            }
            (current, scalar) => *current = scalar,
        }
    }
    Ok(original)
}

/// Applies a `$retainKeys` directive: every key of `original` the list does not name is
/// dropped, after checking that the patch sets no key outside the list.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(PatchError::BadRetainKeysFormat);
    };
    let retained = |key: &str| retain.iter().any(|v| v.as_str() == Some(key));
    let outside = patch.iter().any(|(k, v)| {
        !v.is_null()
            && !k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            && !k.starts_with(SET_ELEMENT_ORDER)
            && !retained(k)
    });
    if outside {
        return Err(PatchError::BadRetainKeysFormat);
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// Processes every `$setElementOrder/<field>` of `patch`: merges the patch list `<field>`
/// (if any) into the live one, orders the result, and removes both keys from the patch.
fn apply_element_orders<S: Schema>(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    ty: Option<S>,
) -> Result<(), PatchError> {
    let order_keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for order_key in order_keys {
        let Some(order) = patch.remove(&order_key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(PatchError::BadArgType {
                expected: GO_LIST,
                actual: go_type(&order),
            });
        };
        let field = directive_target(&order_key, SET_ELEMENT_ORDER)
            .ok_or(PatchError::BadSetElementOrderFormat)?
            .to_string();
        let live = list_at(original, &field)?.cloned();
        let patch_list = list_at(patch, &field)?.cloned();
        let info = ListInfo::of(ty, &field);
        validate_against_order(patch_list.as_deref(), &order, info.merge_key)?;
        // The element type is read from the lists as sent, before merging changes them.
        let element_kind = slice_element_kind(
            live.as_deref().unwrap_or_default(),
            patch_list.as_deref().unwrap_or_default(),
        );

        let (merged, server_order) = match (live, patch_list) {
            (None, None) => continue,
            (Some(live), None) => (live.clone(), live),
            (None, Some(added)) => {
                let kept = added.into_iter().filter_map(remove_directives).collect();
                (kept, Vec::new())
            }
            (Some(live), Some(patch_list)) if info.merges => {
                let outcome = merge_slice(live, patch_list, &info, false, true)?;
                (outcome.merged, outcome.server_view)
            }
            (Some(live), Some(patch_list)) => (patch_list.into_iter().map(strip).collect(), live),
        };

        let (in_order, server_only) = if info.merge_key.is_empty() {
            partition_scalars(merged, &order)
                .ok_or_else(|| PatchError::UnorderableList(field.clone()))?
        } else {
            partition_maps(merged, &order, info.merge_key)?
        };
        let is_map = element_kind? == Kind::Map;
        let ordered = normalize_element_order(
            in_order,
            server_only,
            &order,
            &server_order,
            info.merge_key,
            is_map,
        )?;
        original.insert(field.clone(), Value::Array(ordered));
        patch.remove(&field);
    }
    Ok(())
}

/// Checks that the patch list's elements (deletions and other directive elements aside)
/// appear in `order`, in the same relative order.
fn validate_against_order(
    patch_list: Option<&[Value]>,
    order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    let Some(patch_list) = patch_list else {
        return Ok(());
    };
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let mut kept = Vec::with_capacity(patch_list.len());
    for item in patch_list {
        if merge_key.is_empty() {
            kept.push(item);
            continue;
        }
        if !item.is_object() {
            return Err(PatchError::BadArgType {
                expected: GO_MAP,
                actual: go_type(item),
            });
        }
        if !is_delete_directive(item) {
            kept.push(item);
        }
    }
    let (mut p, mut o) = (0, 0);
    while let (Some(item), Some(ordered)) = (kept.get(p), order.get(o)) {
        if has_directive(item) {
            p += 1;
            continue;
        }
        if merge_key_equal(item, ordered, merge_key)? {
            p += 1;
        }
        o += 1;
    }
    if p < kept.len() {
        return Err(PatchError::OrderMismatch {
            patch: go_fmt_list(patch_list),
            order: go_fmt_list(order),
        });
    }
    Ok(())
}

/// Whether two elements have the same merge key value (or are equal, for scalar lists).
fn merge_key_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let left_value = keyed_value(left, merge_key)?;
    let right_value = keyed_value(right, merge_key)?;
    Ok(left_value == right_value)
}

/// The merge key value of a list element, which must be an object holding the key.
fn keyed_value<'v>(item: &'v Value, merge_key: &str) -> Result<&'v Value, PatchError> {
    let Value::Object(map) = item else {
        return Err(PatchError::BadArgType {
            expected: GO_MAP,
            actual: go_type(item),
        });
    };
    map.get(merge_key).ok_or_else(|| PatchError::NoMergeKey {
        map: go_fmt(item),
        key: merge_key.to_string(),
    })
}

/// The common element type of two lists.
fn slice_element_kind(first: &[Value], second: &[Value]) -> Result<Kind, PatchError> {
    let mut kind = None;
    for item in first.iter().chain(second) {
        let this = kind_of(item);
        match kind {
            None if this == Kind::List => return Err(PatchError::ListOfLists),
            None => kind = Some(this),
            Some(seen) if seen != this => {
                return Err(PatchError::ElementTypesDiffer(format!(
                    "[{} {}]",
                    go_fmt_list(first),
                    go_fmt_list(second)
                )))
            }
            Some(_) => {}
        }
    }
    kind.ok_or(PatchError::NoElements)
}

// ---- lists ----

/// The result of merging two lists.
#[derive(Debug, Default)]
struct SliceMerge {
    /// The merged, ordered list.
    merged: Vec<Value>,
    /// The live list as Kubernetes still sees it after merging in place (deleted elements
    /// shifted out, appended ones written into the freed slots, stale values after); only
    /// kept when asked for, since only `$setElementOrder` orders against it.
    server_view: Vec<Value>,
}

/// Merges the patch list `patch` into the live list `original` element by element: scalars
/// as a set (or, for a `$deleteFromPrimitiveList`, by removing them), objects on the merge
/// key with the list directives applied.
fn merge_slice<S: Schema>(
    original: Vec<Value>,
    patch: Vec<Value>,
    info: &ListInfo<S>,
    delete_list: bool,
    want_view: bool,
) -> Result<SliceMerge, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(SliceMerge::default());
    }
    if slice_element_kind(&original, &patch)? != Kind::Map {
        return merge_scalars(original, patch, delete_list);
    }
    let merge_key = info.merge_key;
    if merge_key.is_empty() {
        return Err(PatchError::NoMergeKeyForList(info.element_name.clone()));
    }

    let size = original.len();
    let mut current = original;
    let mut view = if want_view {
        current.clone()
    } else {
        Vec::new()
    };

    // Directive elements first: deletions act on the live list at once, a replace marker
    // swaps the live list for the patch's plain elements.
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let target = keyed_value(&item, merge_key)?;
                while let Some(at) = current
                    .iter()
                    .position(|v| v.get(merge_key) == Some(target))
                {
                    let len = current.len();
                    current.remove(at);
                    if want_view {
                        // In-place removal leaves the last slot holding a stale copy.
                        for slot in at..len.saturating_sub(1) {
                            let next = view.get(slot + 1).cloned();
                            if let (Some(next), Some(here)) = (next, view.get_mut(slot)) {
                                *here = next;
                            }
                        }
                    }
                }
            }
            Some("replace") => replace = true,
            Some("merge") => return Err(PatchError::MergeListDirective),
            _ => {
                return Err(PatchError::UnknownPatchType {
                    directive: go_fmt_s(directive),
                    map: go_fmt(&item),
                })
            }
        }
    }

    let (mut current, plain) = if replace {
        (plain.into_iter().map(strip).collect::<Vec<_>>(), Vec::new())
    } else {
        (current, plain)
    };
    let server_order = current.clone();

    for item in &plain {
        let target = keyed_value(item, merge_key)?;
        match current
            .iter()
            .position(|v| v.get(merge_key) == Some(target))
        {
            Some(at) => {
                let live = match current.get_mut(at) {
                    Some(Value::Object(live)) => std::mem::take(live),
                    _ => Map::new(),
                };
                let patch_map = item.as_object().cloned().unwrap_or_default();
                let merged = merge_map(live, patch_map, info.element)?;
                if let Some(slot) = current.get_mut(at) {
                    *slot = Value::Object(merged);
                }
            }
            None => {
                if want_view && !replace && current.len() < size {
                    if let Some(slot) = view.get_mut(current.len()) {
                        *slot = item.clone();
                    }
                }
                current.push(strip(item.clone()));
            }
        }
    }

    let (in_patch, server_only) = partition_maps(current, &plain, merge_key)?;
    let merged = normalize_element_order(
        in_patch,
        server_only,
        &plain,
        &server_order,
        merge_key,
        true,
    )?;
    Ok(SliceMerge {
        merged,
        server_view: view,
    })
}

/// Merges two scalar lists: a set union ordered as Kubernetes orders it, or, for a
/// `$deleteFromPrimitiveList`, the live list without the patch's values.
fn merge_scalars(
    original: Vec<Value>,
    patch: Vec<Value>,
    delete_list: bool,
) -> Result<SliceMerge, PatchError> {
    if delete_list {
        let doomed: HashSet<String> = patch.iter().map(Value::to_string).collect();
        let merged = original
            .iter()
            .filter(|v| !doomed.contains(&v.to_string()))
            .cloned()
            .collect();
        return Ok(SliceMerge {
            merged,
            server_view: original,
        });
    }
    let mut seen = HashSet::new();
    let union: Vec<Value> = original
        .iter()
        .chain(&patch)
        .filter(|v| seen.insert(v.to_string()))
        .cloned()
        .collect();
    let (in_patch, server_only) =
        partition_scalars(union, &patch).ok_or(PatchError::ListOfLists)?;
    let merged = normalize_element_order(in_patch, server_only, &patch, &original, "", false)?;
    Ok(SliceMerge {
        merged,
        server_view: original,
    })
}

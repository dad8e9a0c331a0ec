//! The `paths` of a group-version's OpenAPI document: the operations Berth serves on each
//! resource, as the catalog's verbs allow.
//!
//! Clients read more than schemas here. kubectl trusts the server to check fields only when
//! the `patch` operation of a kind carries `x-kubernetes-group-version-kind` and a
//! `fieldValidation` query parameter, so every write operation lists the parameters the
//! server honours.

use super::schemas::REF_PREFIX;
use berth_api_types::catalog::{ResourceInfo, Subresource};
use serde_json::{json, Map, Value};

/// The patch media types the server accepts.
const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

fn query(name: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": kind, "uniqueItems": true}})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

fn pretty() -> Value {
    query(
        "pretty",
        "string",
        "If 'true', the output is pretty printed.",
    )
}

fn dry_run() -> Value {
    query(
        "dryRun",
        "string",
        "When present, changes are not persisted. The only valid value is All: the request is \
         processed in full, admission and validation included, and nothing is stored.",
    )
}

fn field_manager() -> Value {
    query(
        "fieldManager",
        "string",
        "The name of the actor or entity making the change.",
    )
}

/// The parameter kubectl looks for before it trusts the server with field validation.
pub fn field_validation() -> Value {
    query(
        "fieldValidation",
        "string",
        "How the server treats fields the schema does not know and fields given twice. \
         Ignore: drop them silently. Warn (the default): drop them and return one Warning header \
         per field. Strict: refuse the request with a BadRequest naming every such field.",
    )
}

fn list_params() -> Vec<Value> {
    vec![
        query(
            "allowWatchBookmarks",
            "boolean",
            "Asks a watch for BOOKMARK events.",
        ),
        query(
            "continue",
            "string",
            "The continue token of the previous page of a paged list.",
        ),
        query(
            "fieldSelector",
            "string",
            "Restricts the objects returned by their fields.",
        ),
        query(
            "labelSelector",
            "string",
            "Restricts the objects returned by their labels.",
        ),
        query(
            "limit",
            "integer",
            "The largest number of objects to return in one page.",
        ),
        query(
            "resourceVersion",
            "string",
            "The resourceVersion the list or watch starts from.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "How resourceVersion applies to a list.",
        ),
        query(
            "sendInitialEvents",
            "boolean",
            "Asks a watch to start with the current objects.",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "How long a list or watch call may last.",
        ),
        query(
            "watch",
            "boolean",
            "Streams changes as watch events instead of listing.",
        ),
    ]
}

fn delete_params() -> Vec<Value> {
    vec![
        dry_run(),
        query(
            "gracePeriodSeconds",
            "integer",
            "Seconds before the object is deleted; zero deletes at once.",
        ),
        query(
            "propagationPolicy",
            "string",
            "Whether and how dependents are deleted: Orphan, Background or Foreground.",
        ),
        query(
            "orphanDependents",
            "boolean",
            "Deprecated: use propagationPolicy.",
        ),
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("{REF_PREFIX}{name}")})
}

fn json_content(schema: &Value) -> Value {
    json!({"application/json": {"schema": schema}, "application/yaml": {"schema": schema}})
}

/// What one operation works on: its kind and that kind's schema component.
#[derive(Clone)]
pub struct Target<'a> {
    /// The kind's group.
    pub group: &'a str,
    /// The kind's version.
    pub version: &'a str,
    /// The kind.
    pub kind: &'a str,
    /// The component name of the kind's schema, when Berth has one.
    pub schema: Option<String>,
}

impl Target<'_> {
    fn gvk(&self) -> Value {
        json!({"group": self.group, "version": self.version, "kind": self.kind})
    }

    fn schema_or_object(&self) -> Value {
        self.schema
            .as_deref()
            .map_or_else(|| json!({"type": "object"}), schema_ref)
    }
}

struct Op<'a> {
    action: &'static str,
    id: String,
    description: String,
    params: Vec<Value>,
    body: Option<Value>,
    ok_codes: &'static [&'static str],
    response: Value,
    target: &'a Target<'a>,
    tag: &'a str,
}

impl Op<'_> {
    fn render(self) -> Value {
        let content = json_content(&self.response);
        let mut responses = Map::new();
        for code in self.ok_codes {
            let description = match *code {
                "201" => "Created",
                "202" => "Accepted",
                _ => "OK",
            };
            responses.insert(
                (*code).into(),
                json!({"description": description, "content": content}),
            );
        }
        responses.insert("401".into(), json!({"description": "Unauthorized"}));
        let mut op = json!({
            "tags": [self.tag],
            "description": self.description,
            "operationId": self.id,
            "parameters": self.params,
            "responses": responses,
            "x-kubernetes-action": self.action,
            "x-kubernetes-group-version-kind": self.target.gvk(),
        });
        if let Some(body) = self.body {
            op["requestBody"] = body;
        }
        op
    }
}

/// Upper camel case of a group, as operation ids spell it: `rbac.authorization.k8s.io` gives
/// `RbacAuthorization`, the core group `Core`.
fn group_id(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    let short = group.strip_suffix(".k8s.io").unwrap_or(group);
    short.split(['.', '-']).map(capitalize).collect()
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The OpenAPI tag of a group-version, such as `apps_v1` or `core_v1`.
pub fn tag(group: &str, version: &str) -> String {
    let g = if group.is_empty() {
        "core".to_owned()
    } else {
        group
            .strip_suffix(".k8s.io")
            .unwrap_or(group)
            .replace('.', "_")
    };
    format!("{g}_{version}")
}

/// The URL prefix of a group-version: `/api/v1` or `/apis/GROUP/VERSION`.
pub fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// Adds the paths of `r` (collection, object, the cross-namespace list, and the `status` and
/// `scale` subresources) to `paths`. `schema_of` names the component of a kind's schema.
pub fn add_resource(
    paths: &mut Map<String, Value>,
    r: &ResourceInfo,
    schema_of: &dyn Fn(&str, &str, &str) -> Option<String>,
) {
    let tag = tag(r.group, r.version);
    let base = prefix(r.group, r.version);
    let target = Target {
        group: r.group,
        version: r.version,
        kind: r.kind,
        schema: schema_of(r.group, r.version, r.kind),
    };
    let id_gv = format!("{}{}", group_id(r.group), capitalize(r.version));
    let scope = if r.namespaced { "Namespaced" } else { "" };
    let collection = if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{base}/{}", r.plural)
    };
    let item = format!("{collection}/{{name}}");
    let ns_param = || {
        path_param(
            "namespace",
            "object name and auth scope, such as for teams and projects",
        )
    };
    let name_param = |what: &str| path_param("name", &format!("name of the {what}"));
    let kind = r.kind;
    let schema = target.schema_or_object();
    let status_ref = schema_ref("io.k8s.apimachinery.pkg.apis.meta.v1.Status");
    let object_body = json!({"content": {"*/*": {"schema": schema}}, "required": true});

    // The collection: list, create, delete a collection.
    let mut coll = Map::new();
    let mut common = vec![pretty()];
    if r.namespaced {
        common.insert(0, ns_param());
    }
    coll.insert("parameters".into(), json!(common));
    if r.has_verb("list") {
        let op = Op {
            action: "list",
            id: format!("list{id_gv}{scope}{kind}"),
            description: format!("list or watch objects of kind {kind}"),
            params: list_params(),
            body: None,
            ok_codes: &["200"],
            response: json!({"type": "object"}),
            target: &target,
            tag: &tag,
        };
        coll.insert("get".into(), op.render());
    }
    if r.has_verb("create") {
        let op = Op {
            action: "post",
            id: format!("create{id_gv}{scope}{kind}"),
            description: format!("create a {kind}"),
            params: vec![dry_run(), field_manager(), field_validation()],
            body: Some(object_body.clone()),
            ok_codes: &["200", "201", "202"],
            response: schema.clone(),
            target: &target,
            tag: &tag,
        };
        coll.insert("post".into(), op.render());
    }
    if r.has_verb("deletecollection") {
        let mut params = delete_params();
        params.extend(list_params());
        let op = Op {
            action: "deletecollection",
            id: format!("deletecollection{id_gv}{scope}{kind}"),
            description: format!("delete collection of {kind}"),
            params,
            body: Some(delete_body()),
            ok_codes: &["200"],
            response: status_ref.clone(),
            target: &target,
            tag: &tag,
        };
        coll.insert("delete".into(), op.render());
    }
    paths.insert(collection.clone(), Value::Object(coll));

    // One object: read, replace, patch, delete.
    let mut obj = Map::new();
    let mut common = vec![name_param(kind), pretty()];
    if r.namespaced {
        common.insert(1, ns_param());
    }
    obj.insert("parameters".into(), json!(common));
    if r.has_verb("get") {
        let op = Op {
            action: "get",
            id: format!("read{id_gv}{scope}{kind}"),
            description: format!("read the specified {kind}"),
            params: vec![],
            body: None,
            ok_codes: &["200"],
            response: schema.clone(),
            target: &target,
            tag: &tag,
        };
        obj.insert("get".into(), op.render());
    }
    if r.has_verb("update") {
        obj.insert(
            "put".into(),
            put_op(
                format!("replace{id_gv}{scope}{kind}"),
                format!("replace the specified {kind}"),
                &target,
                &tag,
            ),
        );
    }
    if r.has_verb("patch") {
        obj.insert(
            "patch".into(),
            patch_op(
                format!("patch{id_gv}{scope}{kind}"),
                format!("partially update the specified {kind}"),
                &target,
                &tag,
            ),
        );
    }
    if r.has_verb("delete") {
        let op = Op {
            action: "delete",
            id: format!("delete{id_gv}{scope}{kind}"),
            description: format!("delete a {kind}"),
            params: delete_params(),
            body: Some(delete_body()),
            ok_codes: &["200", "202"],
            response: status_ref,
            target: &target,
            tag: &tag,
        };
        obj.insert("delete".into(), op.render());
    }
    paths.insert(item.clone(), Value::Object(obj));

    // Namespaced resources can also be listed across all namespaces.
    if r.namespaced && r.has_verb("list") {
        let op = Op {
            action: "list",
            id: format!("list{id_gv}{kind}ForAllNamespaces"),
            description: format!("list or watch objects of kind {kind}"),
            params: list_params(),
            body: None,
            ok_codes: &["200"],
            response: json!({"type": "object"}),
            target: &target,
            tag: &tag,
        };
        paths.insert(
            format!("{base}/{}", r.plural),
            json!({"parameters": [pretty()], "get": op.render()}),
        );
    }

    for sub in r
        .subresources
        .iter()
        .filter(|s| matches!(s.name, "status" | "scale"))
    {
        add_subresource(paths, r, sub, &item, &id_gv, scope, schema_of, &tag);
    }
}

#[allow(clippy::too_many_arguments)]
fn add_subresource(
    paths: &mut Map<String, Value>,
    r: &ResourceInfo,
    sub: &Subresource,
    item: &str,
    id_gv: &str,
    scope: &str,
    schema_of: &dyn Fn(&str, &str, &str) -> Option<String>,
    tag: &str,
) {
    let gv = sub.group_version(r);
    let target = Target {
        group: gv.group,
        version: gv.version,
        kind: sub.kind,
        schema: schema_of(gv.group, gv.version, sub.kind),
    };
    let suffix = capitalize(sub.name);
    let kind = r.kind;
    let mut ops = Map::new();
    let mut common = vec![
        path_param("name", &format!("name of the {}", sub.kind)),
        pretty(),
    ];
    if r.namespaced {
        common.insert(
            1,
            path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            ),
        );
    }
    ops.insert("parameters".into(), json!(common));
    if sub.has_verb("get") {
        let op = Op {
            action: "get",
            id: format!("read{id_gv}{scope}{kind}{suffix}"),
            description: format!("read {} of the specified {kind}", sub.name),
            params: vec![],
            body: None,
            ok_codes: &["200"],
            response: target.schema_or_object(),
            target: &target,
            tag,
        };
        ops.insert("get".into(), op.render());
    }
    if sub.has_verb("update") {
        ops.insert(
            "put".into(),
            put_op(
                format!("replace{id_gv}{scope}{kind}{suffix}"),
                format!("replace {} of the specified {kind}", sub.name),
                &target,
                tag,
            ),
        );
    }
    if sub.has_verb("patch") {
        ops.insert(
            "patch".into(),
            patch_op(
                format!("patch{id_gv}{scope}{kind}{suffix}"),
                format!("partially update {} of the specified {kind}", sub.name),
                &target,
                tag,
            ),
        );
    }
    paths.insert(format!("{item}/{}", sub.name), Value::Object(ops));
}

fn put_op(id: String, description: String, target: &Target<'_>, tag: &str) -> Value {
    let schema = target.schema_or_object();
    Op {
        action: "put",
        id,
        description,
        params: vec![dry_run(), field_manager(), field_validation()],
        body: Some(json!({"content": {"*/*": {"schema": schema}}, "required": true})),
        ok_codes: &["200", "201"],
        response: schema,
        target,
        tag,
    }
    .render()
}

fn patch_op(id: String, description: String, target: &Target<'_>, tag: &str) -> Value {
    let patch = schema_ref("io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
    let content: Map<String, Value> = PATCH_TYPES
        .iter()
        .map(|t| ((*t).to_owned(), json!({"schema": patch})))
        .collect();
    Op {
        action: "patch",
        id,
        description,
        params: vec![
            dry_run(),
            field_manager(),
            field_validation(),
            query(
                "force",
                "boolean",
                "Takes over fields owned by other managers; apply patches only.",
            ),
        ],
        body: Some(json!({"content": content, "required": true})),
        ok_codes: &["200", "201"],
        response: target.schema_or_object(),
        target,
        tag,
    }
    .render()
}

fn delete_body() -> Value {
    json!({"content": {"*/*": {"schema": schema_ref("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_group() {
        assert_eq!(group_id("rbac.authorization.k8s.io"), "RbacAuthorization");
        assert_eq!(group_id(""), "Core");
        assert_eq!(group_id("apps"), "Apps");
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(tag("networking.k8s.io", "v1"), "networking_v1");
        assert_eq!(prefix("", "v1"), "/api/v1");
        assert_eq!(prefix("apps", "v1"), "/apis/apps/v1");
    }
}

//! The identity endpoints: who am I, may I, is this token good, and TokenRequest.
//!
//! `kubectl auth whoami` creates a SelfSubjectReview, `kubectl auth can-i` a
//! SelfSubjectAccessReview (or a SelfSubjectRulesReview with `--list`), and
//! `kubectl create token` a TokenRequest on `serviceaccounts/token`. Reviews are never stored:
//! each is a question answered from the caller's identity ([`crate::authn`]) and the
//! [`Authorizer`](crate::authz::Authorizer), then echoed back with a `status`. They are routed
//! here before the generic registry; [`RESOURCES`] lists them for discovery.

use crate::authn::{self, UserInfo};
use crate::authz::{Attributes, ResourceAttributes, RuleSet, Target};
use crate::handler::ApiServer;
use crate::request::ResourceRequest;
use crate::serviceaccount::{self, BoundKind, Grant, ObjectRef, TokenRequestError};
use crate::status::{ApiError, ApiResult};
use berth_api_types::catalog::ResourceInfo;
use berth_api_types::validation::{FieldError, Path};
use serde_json::{json, Map, Value};

const AUTHENTICATION: &str = "authentication.k8s.io";
const AUTHORIZATION: &str = "authorization.k8s.io";

const fn review(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
) -> ResourceInfo {
    ResourceInfo {
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        verbs: &["create"],
        short_names: &[],
        categories: &[],
        subresources: &[],
    }
}

/// The review resources, create-only and never stored, in discovery order. They live here
/// rather than in the catalog because nothing but these handlers and discovery may see
/// them: the registry, tables and schemas have nothing to do with them. SelfSubjectReview
/// is also served as `v1beta1`, which kubectl 1.27 asks for.
pub static RESOURCES: &[ResourceInfo] = &[
    review(
        AUTHENTICATION,
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        false,
    ),
    review(
        AUTHENTICATION,
        "v1",
        "TokenReview",
        "tokenreviews",
        "tokenreview",
        false,
    ),
    review(
        AUTHENTICATION,
        "v1beta1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        false,
    ),
    review(
        AUTHORIZATION,
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        true,
    ),
    review(
        AUTHORIZATION,
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        false,
    ),
    review(
        AUTHORIZATION,
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        false,
    ),
    review(
        AUTHORIZATION,
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        "subjectaccessreview",
        false,
    ),
];

/// A request addressed to one of the review resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRoute {
    /// The review resource.
    pub resource: &'static ResourceInfo,
    /// The namespace in the path (LocalSubjectAccessReview only).
    pub namespace: Option<String>,
}

impl ReviewRoute {
    /// The review a request path names, if it names one.
    pub fn parse(path: &str) -> Option<Self> {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (group, version, namespace, plural) = match segs.as_slice() {
            ["apis", g, v, plural] => (*g, *v, None, *plural),
            ["apis", g, v, "namespaces", ns, plural] => (*g, *v, Some(*ns), *plural),
            _ => return None,
        };
        let resource = RESOURCES
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)?;
        if resource.namespaced != namespace.is_some() {
            return None;
        }
        let namespace = match namespace {
            Some(ns) => Some(
                percent_encoding::percent_decode_str(ns)
                    .decode_utf8()
                    .ok()?
                    .into_owned(),
            ),
            None => None,
        };
        Some(ReviewRoute {
            resource,
            namespace,
        })
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The body after checking its `kind` and `apiVersion` (when given) against the endpoint.
fn checked_body(body: Value, kind: &str, api_version: &str) -> ApiResult<Map<String, Value>> {
    let Value::Object(mut obj) = body else {
        return Err(ApiError::bad_request("the request body must be an object"));
    };
    for (field, want) in [("kind", kind), ("apiVersion", api_version)] {
        match obj.get(field).and_then(Value::as_str) {
            None | Some("") => {}
            Some(got) if got == want => {}
            Some(got) => {
                return Err(ApiError::bad_request(format!(
                    "the {field} {got:?} of the request body does not match this endpoint, which takes {kind} {api_version}"
                )))
            }
        }
    }
    obj.insert("kind".into(), json!(kind));
    obj.insert("apiVersion".into(), json!(api_version));
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj.insert("metadata".into(), json!({}));
    }
    Ok(obj)
}

fn user_info_json(user: &UserInfo) -> Value {
    let mut v = json!({"username": user.name, "groups": user.groups});
    if !user.uid.is_empty() {
        v["uid"] = json!(user.uid);
    }
    if !user.extra.is_empty() {
        v["extra"] = json!(user.extra);
    }
    v
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn string(value: &Value, field: &str) -> String {
    value
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The verb and target of an access review's spec, or the field errors that make it invalid.
fn access_question(spec: &Value) -> Result<(String, Target), Vec<FieldError>> {
    let path = Path::new("spec");
    let present = |f: &str| spec.get(f).is_some_and(|v| !v.is_null());
    match (
        present("resourceAttributes"),
        present("nonResourceAttributes"),
    ) {
        (true, false) => {
            let ra = &spec["resourceAttributes"];
            let target = Target::Resource(ResourceAttributes {
                namespace: string(ra, "namespace"),
                group: string(ra, "group"),
                version: string(ra, "version"),
                resource: string(ra, "resource"),
                subresource: string(ra, "subresource"),
                name: string(ra, "name"),
            });
            Ok((string(ra, "verb"), target))
        }
        (false, true) => {
            let nra = &spec["nonResourceAttributes"];
            Ok((
                string(nra, "verb"),
                Target::NonResource {
                    path: string(nra, "path"),
                },
            ))
        }
        (both, _) => {
            let shown = if both { "both" } else { "null" };
            Err(vec![FieldError::invalid(
                &path.child("resourceAttributes"),
                shown,
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )])
        }
    }
}

fn rules_json(rules: &RuleSet) -> Value {
    let resource_rules: Vec<Value> = rules
        .resource_rules
        .iter()
        .map(|r| {
            let mut v =
                json!({"verbs": r.verbs, "apiGroups": r.api_groups, "resources": r.resources});
            if !r.resource_names.is_empty() {
                v["resourceNames"] = json!(r.resource_names);
            }
            v
        })
        .collect();
    let non_resource_rules: Vec<Value> = rules
        .non_resource_rules
        .iter()
        .map(|r| json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}))
        .collect();
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": rules.incomplete})
}

impl ApiServer {
    /// Answers a review. Only POST (create) is served; the answer is the request object with
    /// its `status` filled in, sent with 201 Created.
    pub async fn review(
        &self,
        req: http::Request<hyper::body::Incoming>,
        route: ReviewRoute,
        user: &UserInfo,
    ) -> ApiResult<Value> {
        let res = route.resource;
        if req.method() != http::Method::POST {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({} {})",
                req.method(),
                crate::status::qualified(res.plural, res.group)
            )));
        }
        let body = crate::handler::read_object(req).await?;
        let mut obj = checked_body(body, res.kind, &res.api_version())?;
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert(
                "creationTimestamp".into(),
                json!(crate::registry::rfc3339(now())),
            );
        }
        let spec = obj.get("spec").cloned().unwrap_or_else(|| json!({}));
        let invalid = |errors: Vec<FieldError>| ApiError::invalid(res.group, res.kind, "", &errors);
        let status = match res.kind {
            "SelfSubjectReview" => json!({"userInfo": user_info_json(user)}),
            "TokenReview" => self.token_review(&spec).await?,
            "SelfSubjectRulesReview" => {
                let namespace = string(&spec, "namespace");
                rules_json(&self.authorizer.rules_for(user, &namespace).await)
            }
            "SelfSubjectAccessReview" => {
                let (verb, target) = access_question(&spec).map_err(invalid)?;
                self.access_status(user.clone(), verb, target).await
            }
            "SubjectAccessReview" | "LocalSubjectAccessReview" => {
                let subject = UserInfo {
                    name: string(&spec, "user"),
                    uid: string(&spec, "uid"),
                    groups: strings(spec.get("groups")),
                    extra: spec
                        .get("extra")
                        .and_then(Value::as_object)
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| (k.clone(), strings(Some(v))))
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                let mut errors = Vec::new();
                if subject.name.is_empty() && subject.groups.is_empty() {
                    errors.push(FieldError::invalid(
                        &Path::new("spec").child("user"),
                        "",
                        "at least one of user or group must be specified",
                    ));
                }
                let question = access_question(&spec);
                if let Err(e) = &question {
                    errors.extend(e.iter().cloned());
                }
                if let (Ok((_, target)), Some(ns)) = (&question, &route.namespace) {
                    match target {
                        Target::NonResource { .. } => errors.push(FieldError::invalid(
                            &Path::new("spec").child("nonResourceAttributes"),
                            "set",
                            "disallowed on this kind of request",
                        )),
                        Target::Resource(ra) if ra.namespace != *ns => {
                            return Err(ApiError::bad_request(format!(
                                "spec.resourceAttributes.namespace must match namespace: {ns}"
                            )))
                        }
                        Target::Resource(_) => {}
                    }
                    let meta_ns = obj
                        .get("metadata")
                        .and_then(|m| m.get("namespace"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if !meta_ns.is_empty() && meta_ns != ns {
                        return Err(ApiError::bad_request(
                            "the namespace of the provided object does not match the namespace sent on the request",
                        ));
                    }
                }
                if !errors.is_empty() {
                    return Err(invalid(errors));
                }
                let (verb, target) = question.map_err(invalid)?;
                self.access_status(subject, verb, target).await
            }
            other => {
                return Err(ApiError::internal(format!(
                    "no handler for review kind {other}"
                )))
            }
        };
        if let (Some(ns), Some(meta)) = (
            &route.namespace,
            obj.get_mut("metadata").and_then(Value::as_object_mut),
        ) {
            meta.insert("namespace".into(), json!(ns));
        }
        obj.insert("status".into(), status);
        Ok(Value::Object(obj))
    }

    async fn access_status(&self, user: UserInfo, verb: String, target: Target) -> Value {
        let decision = self
            .authorizer
            .authorize(&Attributes { user, verb, target })
            .await;
        let mut status = json!({"allowed": decision.allowed});
        if decision.denied {
            status["denied"] = json!(true);
        }
        if !decision.reason.is_empty() {
            status["reason"] = json!(decision.reason);
        }
        status
    }

    async fn token_review(&self, spec: &Value) -> ApiResult<Value> {
        let token = string(spec, "token");
        if token.is_empty() {
            return Err(ApiError::bad_request(
                "token is required for TokenReview in authentication",
            ));
        }
        let audiences = strings(spec.get("audiences"));
        let outcome = authn::authenticate_token(
            &token,
            &audiences,
            &self.tokens,
            &self.service_accounts,
            &self.registry,
            now(),
        )
        .await;
        Ok(match outcome {
            Ok((user, audiences)) => {
                json!({"authenticated": true, "user": user_info_json(&user), "audiences": audiences})
            }
            Err(e) => json!({"user": {}, "error": e.to_string()}),
        })
    }

    /// `POST …/serviceaccounts/NAME/token`: issues a token for an existing ServiceAccount,
    /// optionally bound to a Pod or Secret that must exist (and run as that ServiceAccount).
    pub async fn token_request(
        &self,
        req: http::Request<hyper::body::Incoming>,
        r: ResourceRequest,
        dry_run: bool,
    ) -> ApiResult<Value> {
        let (Some(namespace), Some(name)) = (r.namespace.clone(), r.name.clone()) else {
            return Err(ApiError::no_route());
        };
        let sa = self.registry.get(&r, &name).await?;
        let sa_uid = crate::registry::meta(&sa)
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let body = crate::handler::read_object(req).await?;
        let body = Value::Object(checked_body(
            body,
            "TokenRequest",
            "authentication.k8s.io/v1",
        )?);
        let body_ns = body
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let spec = self
            .service_accounts
            .parse_request(&body, &name)
            .map_err(|e| match e {
                TokenRequestError::Invalid(errors) => {
                    ApiError::invalid(AUTHENTICATION, "TokenRequest", &name, &errors)
                }
                other => ApiError::bad_request(other.to_string()),
            })?;
        let mut bound = None;
        if let Some(b) = &spec.bound {
            let plural = b.kind.plural();
            let resource = berth_api_types::catalog::find("", plural)
                .ok_or_else(|| ApiError::internal(format!("the catalog lacks {plural}")))?;
            let get = ResourceRequest {
                resource,
                namespace: Some(namespace.clone()),
                name: Some(b.name.clone()),
                subresource: None,
                verb: "get",
            };
            let obj = self.registry.get(&get, &b.name).await?;
            let uid = crate::registry::meta(&obj)
                .get("uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if b.uid.as_ref().is_some_and(|want| *want != uid) {
                return Err(ApiError::conflict(
                    "",
                    plural,
                    &b.name,
                    &format!(
                        "the UID in the bound object reference ({}) does not match the UID in record ({uid}). The object might have been deleted and then recreated",
                        b.uid.as_deref().unwrap_or_default()
                    ),
                ));
            }
            if b.kind == BoundKind::Pod {
                let pod_sa = obj
                    .pointer("/spec/serviceAccountName")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                if pod_sa != name {
                    return Err(ApiError::bad_request(format!(
                        "cannot bind token for serviceaccount {name:?} to pod running with different serviceaccount name."
                    )));
                }
            }
            bound = Some((
                b.kind,
                ObjectRef {
                    name: b.name.clone(),
                    uid,
                },
            ));
        }
        let now = now();
        let bound_uid = bound
            .as_ref()
            .map(|(_, o): &(BoundKind, ObjectRef)| o.uid.clone());
        let grant = Grant {
            namespace: namespace.clone(),
            service_account: ObjectRef {
                name: name.clone(),
                uid: sa_uid,
            },
            bound,
        };
        let (token, expires) = if dry_run {
            // A dry run checks everything but issues nothing.
            (String::new(), now + spec.expiration_seconds)
        } else {
            self.service_accounts
                .issue(&grant, &spec.audiences, spec.expiration_seconds, now)
                .map_err(|e| ApiError::internal(format!("signing the token failed: {e}")))?
        };
        Ok(serviceaccount::token_request_response(
            &namespace,
            &name,
            &spec,
            bound_uid.as_deref(),
            &token,
            expires,
            now,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_paths_are_recognised() {
        let r =
            ReviewRoute::parse("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews").unwrap();
        assert_eq!(
            (r.resource.kind, r.namespace),
            ("SelfSubjectAccessReview", None)
        );
        let r =
            ReviewRoute::parse("/apis/authentication.k8s.io/v1beta1/selfsubjectreviews/").unwrap();
        assert_eq!(
            (r.resource.kind, r.resource.version),
            ("SelfSubjectReview", "v1beta1")
        );
        let r = ReviewRoute::parse(
            "/apis/authorization.k8s.io/v1/namespaces/dev/localsubjectaccessreviews",
        )
        .unwrap();
        assert_eq!(
            (r.resource.kind, r.namespace.as_deref()),
            ("LocalSubjectAccessReview", Some("dev"))
        );
        for other in [
            "/apis/authorization.k8s.io/v1/localsubjectaccessreviews",
            "/apis/authorization.k8s.io/v1/namespaces/dev/selfsubjectaccessreviews",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/name",
            "/apis/authentication.k8s.io/v1beta1/tokenreviews",
            "/apis/authorization.k8s.io/v1",
            "/api/v1/namespaces/default/serviceaccounts/x/token",
            "/apis/rbac.authorization.k8s.io/v1/roles",
        ] {
            assert_eq!(ReviewRoute::parse(other), None, "{other}");
        }
    }

    #[test]
    fn review_resources_are_create_only_and_sorted() {
        for r in RESOURCES {
            assert_eq!(r.verbs, ["create"]);
            assert_eq!(r.singular, r.kind.to_ascii_lowercase());
            assert_eq!(r.plural, format!("{}s", r.singular));
        }
        for pair in RESOURCES.windows(2) {
            let key = |r: &ResourceInfo| (r.group, r.version, r.plural);
            assert!(key(&pair[0]) < key(&pair[1]));
        }
    }

    #[test]
    fn bodies_must_match_the_endpoint() {
        let obj = checked_body(
            json!({"spec": {}}),
            "TokenReview",
            "authentication.k8s.io/v1",
        )
        .unwrap();
        assert_eq!(obj["kind"], "TokenReview");
        assert_eq!(obj["metadata"], json!({}));
        assert_eq!(
            checked_body(
                json!({"kind": "Pod"}),
                "TokenReview",
                "authentication.k8s.io/v1"
            )
            .unwrap_err()
            .code,
            400
        );
        assert_eq!(
            checked_body(
                json!({"apiVersion": "v1"}),
                "TokenReview",
                "authentication.k8s.io/v1"
            )
            .unwrap_err()
            .code,
            400
        );
        assert_eq!(
            checked_body(json!([1]), "TokenReview", "authentication.k8s.io/v1")
                .unwrap_err()
                .code,
            400
        );
    }

    #[test]
    fn access_questions_need_exactly_one_kind_of_attributes() {
        let (verb, target) = access_question(&json!({"resourceAttributes": {"verb": "create", "resource": "pods", "namespace": "default"}})).unwrap();
        assert_eq!(verb, "create");
        match target {
            Target::Resource(ra) => assert_eq!(
                (ra.resource.as_str(), ra.namespace.as_str()),
                ("pods", "default")
            ),
            other => panic!("{other:?}"),
        }
        let (_, target) =
            access_question(&json!({"nonResourceAttributes": {"verb": "get", "path": "/healthz"}}))
                .unwrap();
        assert_eq!(
            target,
            Target::NonResource {
                path: "/healthz".into()
            }
        );
        assert!(access_question(&json!({})).is_err());
        let both = access_question(&json!({"resourceAttributes": {}, "nonResourceAttributes": {}}))
            .unwrap_err();
        assert_eq!(both[0].field, "spec.resourceAttributes");
    }

    #[test]
    fn user_info_leaves_out_empty_fields() {
        let user = UserInfo {
            name: "a".into(),
            groups: vec!["g".into()],
            ..UserInfo::default()
        };
        assert_eq!(
            user_info_json(&user),
            json!({"username": "a", "groups": ["g"]})
        );
    }
}

//! Request handling: authentication, routing, content negotiation and the verbs.
//!
//! Every outcome, success or failure, is rendered here, so every failure path ends in a
//! `Status` object with the reason and code clients expect.

use crate::authn::{TokenFile, UserInfo};
use crate::authz::{Attributes, ResourceAttributes, Target as AuthzTarget};
use crate::discovery::{self, Aggregated};
use crate::field_validation::{self, FieldValidation};
use crate::registry::{self, ListOptions, Registry};
use crate::request::{self, Query, ResourceRequest, Target};
use crate::status::{self, ApiError, ApiResult};
use crate::watch;
use berth_api_types::fields::FieldSelector;
use berth_api_types::labels::LabelSelector;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The body type of every response.
pub type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// The largest request body accepted, as Kubernetes limits it.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// The Kubernetes version Berth reports.
pub const GIT_VERSION: &str = "v1.33.0";

const TABLE_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Everything request handling needs.
pub struct ApiServer {
    /// The generic registry.
    pub registry: Registry,
    /// Static bearer tokens.
    pub tokens: TokenFile,
    /// `host:port` clients should use, for `/api`.
    pub server_address: String,
    /// Request, watch and store metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Issues and checks service-account tokens.
    pub service_accounts: crate::serviceaccount::ServiceAccountTokens,
    /// Decides what users may do.
    pub authorizer: Arc<dyn crate::authz::Authorizer>,
    /// Reaches node servers for logs, exec, attach and port-forward; `None` when this server
    /// has no kubelet-client identity.
    pub kubelet: Option<Arc<crate::streaming::kubelet::KubeletClient>>,
}

/// Wraps bytes as a response body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

fn json_response(code: StatusCode, value: &Value, content_type: &str) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(full(body));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/json")),
    );
    resp
}

fn ok_json(value: &Value) -> Response<Body> {
    json_response(StatusCode::OK, value, "application/json")
}

/// Renders an error as a `Status` response.
pub fn error_response(err: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &err.to_status(), "application/json")
}

fn text(code: StatusCode, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The media type of a header value, lower-cased, without parameters.
fn media_type(value: Option<&HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// One entry of an Accept header: the media type (lower-cased) and its `as`, `g` and `v`
/// parameters, or `None` for an entry the client refuses (`q=0`).
struct AcceptItem<'a> {
    media: String,
    as_kind: Option<&'a str>,
    group: Option<&'a str>,
    version: Option<&'a str>,
}

fn accept_items(accept: &str) -> impl Iterator<Item = AcceptItem<'_>> {
    accept.split(',').filter_map(|item| {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut out = AcceptItem {
            media,
            as_kind: None,
            group: None,
            version: None,
        };
        for param in parts {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            let value = value.trim();
            match key.trim() {
                "as" => out.as_kind = Some(value),
                "g" => out.group = Some(value),
                "v" => out.version = Some(value),
                "q" if value.parse::<f32>().is_ok_and(|q| q <= 0.0) => return None,
                _ => {}
            }
        }
        Some(out)
    })
}

impl AcceptItem<'_> {
    /// A server-side Table of a version Berth serves.
    fn is_table(&self) -> bool {
        self.as_kind == Some("Table") && self.meta_version()
    }

    fn meta_version(&self) -> bool {
        self.group == Some("meta.k8s.io") && matches!(self.version, Some("v1" | "v1beta1"))
    }

    /// Whether Berth answers a resource request in this form: JSON (which YAML and protobuf
    /// clients read too), any type, or a `meta.k8s.io` Table or object metadata.
    fn satisfiable(&self) -> bool {
        let media = matches!(
            self.media.as_str(),
            "application/json"
                | "application/yaml"
                | "application/vnd.kubernetes.protobuf"
                | "application/*"
                | "*/*"
                | ""
        );
        media
            && match self.as_kind {
                None => true,
                Some("Table" | "PartialObjectMetadata" | "PartialObjectMetadataList") => {
                    self.meta_version()
                }
                Some(_) => false,
            }
    }
}

/// Whether the client asked for a server-side Table.
fn wants_table(accept: &str) -> bool {
    accept_items(accept).any(|item| item.is_table())
}

/// Refuses Table options Kubernetes' TableOptions validation refuses (an unknown
/// `includeObject`), as the 400 it answers when it cannot convert to a Table.
fn check_table_options(query: &Query) -> ApiResult<()> {
    let Some(policy) = query.get("includeObject") else {
        return Ok(());
    };
    if berth_api_types::tables::IncludeObject::parse(policy).is_some() {
        return Ok(());
    }
    let err = berth_api_types::validation::FieldError::not_supported(
        &berth_api_types::validation::Path::new("includeObject"),
        policy,
        &["Metadata", "None", "Object"],
    );
    Err(ApiError::bad_request(format!(
        "Unable to convert to Table as requested: {err}"
    )))
}

/// Refuses, as Kubernetes' content negotiation does, an Accept header none of whose forms
/// the server can answer in (406), before the request does anything.
fn check_accept(accept: &str) -> ApiResult<()> {
    if accept.trim().is_empty() || accept_items(accept).any(|item| item.satisfiable()) {
        return Ok(());
    }
    Err(ApiError::not_acceptable(
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    ))
}

impl ApiServer {
    /// Identifies the caller from its verified certificate or its bearer token.
    async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        cert_user: Option<&UserInfo>,
    ) -> Option<UserInfo> {
        if let Some(auth) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            let token = auth.strip_prefix("Bearer ").map(str::trim)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let outcome = crate::authn::authenticate_token(
                token,
                &[],
                &self.tokens,
                &self.service_accounts,
                &self.registry,
                now,
            )
            .await;
            return match outcome {
                Ok((user, _)) => Some(user),
                Err(e) => {
                    tracing::debug!(error = %e, "bearer token refused");
                    None
                }
            };
        }
        cert_user.cloned()
    }

    /// Handles one request.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<hyper::body::Incoming>,
        cert_user: Option<UserInfo>,
    ) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let started = std::time::Instant::now();
        // An HTTP/1.x request that came with a body, which an early refusal leaves unread:
        // `read_body` marks it read.
        let mut req = req;
        let unread_body = (req.version() < http::Version::HTTP_2
            && !hyper::body::Body::is_end_stream(req.body()))
        .then(|| {
            let read = BodyRead::default();
            req.extensions_mut().insert(read.clone());
            read
        });
        let (verb, resource) =
            match request::parse(&method, &path, &Query::parse(req.uri().query())) {
                Ok(Target::Resource(r)) => (r.verb, r.resource.plural),
                _ => (method_verb(&method), ""),
            };
        let mut resp = match self.route(req, cert_user.as_ref()).await {
            Ok(resp) => resp,
            Err(err) => {
                if err.code >= 500 {
                    tracing::error!(%method, %path, code = err.code, message = %err.message, "request failed");
                }
                error_response(&err)
            }
        };
        if unread_body.is_some_and(|read| !read.0.load(std::sync::atomic::Ordering::Relaxed))
            && resp.status().as_u16() >= 400
        {
            // The body may still be on its way: the connection cannot be relied on for the
            // client's next request, so say that it ends here rather than drop it silently.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if method == Method::HEAD {
            // A HEAD answer has headers only: over HTTP/2 a body after them is a protocol
            // error that costs the client the whole answer.
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            *resp.body_mut() = full(Bytes::new());
        }
        tracing::debug!(%method, %path, code = resp.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
        self.metrics.request(
            verb,
            resource,
            resp.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        resp
    }

    async fn route(
        &self,
        req: Request<hyper::body::Incoming>,
        cert_user: Option<&UserInfo>,
    ) -> ApiResult<Response<Body>> {
        let path = req.uri().path().to_owned();
        // Health and version are public, as a Kubernetes server leaves them by default.
        match (req.method(), path.as_str()) {
            (&Method::GET, "/healthz" | "/livez") => return Ok(text(StatusCode::OK, "ok")),
            (&Method::GET, "/readyz") => {
                return Ok(match self.registry.store().health().await {
                    Ok(()) => text(StatusCode::OK, "ok"),
                    Err(_) => text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "[-]store failed: not ready\nreadyz check failed",
                    ),
                })
            }
            (&Method::GET, "/version") => return Ok(ok_json(&version())),
            _ => {}
        }
        let Some(user) = self.authenticate(req.headers(), cert_user).await else {
            return Err(ApiError::unauthorized());
        };
        let query = Query::parse(req.uri().query());
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_owned();
        if !path.starts_with("/api") {
            self.authorize(&user, req.method(), &path, None).await?;
        }
        if path == "/metrics" {
            let mut resp = Response::new(full(self.metrics.render()));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            return Ok(resp);
        }
        if path == crate::openapi::v2::PATH {
            let etag = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok());
            return crate::openapi::v2::serve(&accept, etag);
        }
        if path == crate::openapi::ROOT_PATH || path.starts_with("/openapi/v3/") {
            let etag = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok());
            return crate::openapi::serve_v3(&path, &query, etag);
        }
        if let Some(review) = crate::identity::ReviewRoute::parse(&path) {
            let attrs = ResourceAttributes {
                namespace: review.namespace.clone().unwrap_or_default(),
                group: review.resource.group.to_owned(),
                version: review.resource.version.to_owned(),
                resource: review.resource.plural.to_owned(),
                subresource: String::new(),
                name: String::new(),
            };
            self.authorize(&user, req.method(), &path, Some(("create", attrs)))
                .await?;
            let obj = self.review(req, review, &user).await?;
            return Ok(json_response(StatusCode::CREATED, &obj, "application/json"));
        }
        let target = request::parse(req.method(), &path, &query)?;
        match &target {
            Target::Resource(r) => {
                let attrs = ResourceAttributes {
                    namespace: r.namespace.clone().unwrap_or_default(),
                    group: r.resource.group.to_owned(),
                    version: r.resource.version.to_owned(),
                    resource: r.resource.plural.to_owned(),
                    subresource: r.subresource.clone().unwrap_or_default(),
                    name: r.name.clone().unwrap_or_default(),
                };
                self.authorize(&user, req.method(), &path, Some((r.verb, attrs)))
                    .await?;
            }
            _ => self.authorize(&user, req.method(), &path, None).await?,
        }
        match target {
            Target::CoreVersions => Ok(match Aggregated::from_accept(&accept) {
                Some(v) => json_response(
                    StatusCode::OK,
                    &discovery::aggregated(v, true),
                    v.content_type(),
                ),
                None => ok_json(&discovery::core_versions(&self.server_address)),
            }),
            Target::Groups => Ok(match Aggregated::from_accept(&accept) {
                Some(v) => json_response(
                    StatusCode::OK,
                    &discovery::aggregated(v, false),
                    v.content_type(),
                ),
                None => ok_json(&discovery::groups()),
            }),
            Target::Group(g) => discovery::group(&g)
                .map(|d| ok_json(&d))
                .ok_or_else(ApiError::no_route),
            Target::ResourceList { group, version } => discovery::resource_list(&group, &version)
                .map(|d| ok_json(&d))
                .ok_or_else(ApiError::no_route),
            Target::Resource(r) => self.resource(req, r, query, &accept).await,
        }
    }

    /// Asks the authorizer whether `user` may make this request: a resource request when
    /// `resource` names the verb and attributes, a request for `path` otherwise. A refusal is
    /// a 403 worded as Kubernetes words it, so clients print the familiar message.
    async fn authorize(
        &self,
        user: &UserInfo,
        method: &Method,
        path: &str,
        resource: Option<(&str, ResourceAttributes)>,
    ) -> ApiResult<()> {
        let (verb, target) = match resource {
            Some((verb, attrs)) => (verb.to_owned(), AuthzTarget::Resource(attrs)),
            None => (
                method.as_str().to_ascii_lowercase(),
                AuthzTarget::NonResource {
                    path: path.to_owned(),
                },
            ),
        };
        let attrs = Attributes {
            user: user.clone(),
            verb,
            target,
        };
        let decision = self.authorizer.authorize(&attrs).await;
        if decision.allowed {
            return Ok(());
        }
        Err(ApiError::forbidden(crate::authz::forbidden_message(
            &attrs,
            &decision.reason,
        )))
    }

    async fn resource(
        &self,
        req: Request<hyper::body::Incoming>,
        r: ResourceRequest,
        query: Query,
        accept: &str,
    ) -> ApiResult<Response<Body>> {
        let res = r.resource;
        let sub_verbs_ok = match &r.subresource {
            Some(sub) => res
                .subresource(sub)
                .is_some_and(|s| s.has_verb(r.verb) || r.verb == "patch" && s.has_verb("patch")),
            None => res.has_verb(r.verb),
        };
        if !sub_verbs_ok {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({} {})",
                r.verb,
                status::qualified(res.plural, res.group)
            )));
        }
        if let Some(name) = &r.name {
            request::check_name_segment(name)?;
        }
        if let Some("log" | "exec" | "attach" | "portforward") = r.subresource.as_deref() {
            return crate::streaming::pods::serve(self, req, &r).await;
        }
        // Every other answer is an API object: an Accept that takes none is refused first.
        check_accept(accept)?;
        if r.subresource.as_deref() == Some("scale") {
            let manager = field_manager(&r, &query, req.headers())?;
            return self.scale(req, r, dry_run_of(&query)?, manager).await;
        }
        if let (Some("binding" | "eviction"), "create") = (r.subresource.as_deref(), r.verb) {
            let dry_run = dry_run_of(&query)?;
            let name = r.name.clone().unwrap_or_default();
            let body = read_object(req).await?;
            let status = if r.subresource.as_deref() == Some("binding") {
                crate::pod_subresources::bind(&self.registry, &r, &name, &body, dry_run).await?
            } else {
                crate::pod_subresources::evict(&self.registry, &r, &name, &body, dry_run).await?
            };
            return Ok(json_response(
                StatusCode::CREATED,
                &status,
                "application/json",
            ));
        }
        if r.subresource.as_deref() == Some("token") {
            let obj = self.token_request(req, r, dry_run_of(&query)?).await?;
            return Ok(json_response(StatusCode::CREATED, &obj, "application/json"));
        }
        if let Some(sub) = &r.subresource {
            if !matches!(sub.as_str(), "status" | "finalize") {
                return Err(ApiError::method_not_allowed(format!(
                    "the {sub} subresource of {} is not served yet",
                    status::qualified(res.plural, res.group)
                )));
            }
        }
        if res.namespaced && r.namespace.is_none() && !matches!(r.verb, "list" | "watch") {
            return Err(ApiError::no_route());
        }
        let table = wants_table(accept);
        if table {
            check_table_options(&query)?;
        }
        let dry_run = dry_run_of(&query)?;
        match r.verb {
            "get" => {
                let name = r.name.clone().unwrap_or_default();
                self.registry
                    .check_get_version(query.get("resourceVersion"))
                    .await?;
                let obj = self.registry.get(&r, &name).await?;
                if table {
                    let rv = registry::meta(&obj)
                        .get("resourceVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    return Ok(self.table_response(&r, vec![obj], &rv, None, &query));
                }
                Ok(ok_json(&obj))
            }
            "list" => {
                let opts = list_options(&r, &query)?;
                if let Some(page) = self.registry.list_cached(&r, &opts).await? {
                    return Ok(if table {
                        let include = crate::table::include_object(query.get("includeObject"));
                        streamed_response(cached_table_parts(res, page, include), TABLE_TYPE)
                    } else {
                        streamed_response(cached_list_parts(res, page), "application/json")
                    });
                }
                let plain = opts.labels.as_ref().is_none_or(|l| l.is_empty())
                    && opts.fields.as_ref().is_none_or(|f| f.is_empty());
                if plain && !table {
                    let (items, page) = self.registry.list_raw(&r, &opts).await?;
                    let mut metadata =
                        json!({"resourceVersion": page.resource_version.to_string()});
                    if let Some(c) = page.continue_token {
                        metadata["continue"] = json!(c);
                    }
                    let head = format!(
                        "{{\"apiVersion\":{},\"items\":[",
                        serde_json::to_string(&res.api_version()).unwrap_or_default()
                    );
                    let tail = format!(
                        "],\"kind\":{},\"metadata\":{}}}",
                        serde_json::to_string(&res.list_kind()).unwrap_or_default(),
                        metadata
                    );
                    let mut body = Vec::with_capacity(head.len() + items.len() + tail.len());
                    body.extend_from_slice(head.as_bytes());
                    body.extend_from_slice(&items);
                    body.extend_from_slice(tail.as_bytes());
                    let mut resp = Response::new(full(body));
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    return Ok(resp);
                }
                let page = self.registry.list(&r, &opts).await?;
                if table {
                    return Ok(self.table_response(
                        &r,
                        page.items,
                        &page.resource_version.to_string(),
                        page.continue_token.as_deref(),
                        &query,
                    ));
                }
                let mut metadata = json!({"resourceVersion": page.resource_version.to_string()});
                if let Some(c) = page.continue_token {
                    metadata["continue"] = json!(c);
                }
                if let Some(n) = page.remaining {
                    metadata["remainingItemCount"] = json!(n);
                }
                Ok(ok_json(&json!({
                    "kind": res.list_kind(),
                    "apiVersion": res.api_version(),
                    "metadata": metadata,
                    "items": page.items,
                })))
            }
            "watch" => {
                let opts = list_options(&r, &query)?;
                let params = watch::WatchParams::from_query(&query)?;
                let guard = self.metrics.watch_started();
                watch::serve(self.registry.clone(), r, opts, params, table, guard).await
            }
            "create" => {
                let manager = field_manager(&r, &query, req.headers())?;
                let (body, warnings) = read_checked(req, res, &query).await?;
                let encoded = self
                    .registry
                    .create_encoded(&r, body, dry_run, Some(&manager))
                    .await?;
                let started = std::time::Instant::now();
                let mut resp = Response::new(full(encoded));
                *resp.status_mut() = StatusCode::CREATED;
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                crate::metrics::phase(crate::metrics::Phase::Encode, started);
                field_validation::add_warnings(&mut resp, &warnings);
                Ok(resp)
            }
            "update" => {
                let name = r.name.clone().unwrap_or_default();
                let manager = field_manager(&r, &query, req.headers())?;
                let (body, warnings) = read_checked(req, res, &query).await?;
                let existed = self.registry.get(&r, &name).await.is_ok();
                let obj = self
                    .registry
                    .update_by(&r, &name, body, dry_run, Some(&manager))
                    .await?;
                let code = if existed {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                let mut resp = json_response(code, &obj, "application/json");
                field_validation::add_warnings(&mut resp, &warnings);
                Ok(resp)
            }
            "patch" => {
                let name = r.name.clone().unwrap_or_default();
                let manager = field_manager(&r, &query, req.headers())?;
                let content_type = media_type(req.headers().get(header::CONTENT_TYPE));
                let body = read_body(req).await?;
                let patch = crate::patch::Patch::parse(&content_type, &body)?;
                let mode = FieldValidation::from_query(&query)?;
                let found = field_validation::patch_body_findings(&content_type, &body);
                let warnings = std::sync::Mutex::new(Vec::new());
                let obj = self
                    .registry
                    .modify_by(&r, &name, dry_run, Some(&manager), |current| {
                        let patched = patch.apply(res, current)?;
                        let (obj, w) =
                            field_validation::check_patched(res, mode, &found, current, patched)?;
                        *warnings.lock().unwrap_or_else(|e| e.into_inner()) = w;
                        Ok(obj)
                    })
                    .await?;
                let mut resp = ok_json(&obj);
                let warnings = warnings.into_inner().unwrap_or_else(|e| e.into_inner());
                field_validation::add_warnings(&mut resp, &warnings);
                Ok(resp)
            }
            "delete" => {
                let name = r.name.clone().unwrap_or_default();
                let options = delete_options(req, &query).await?;
                let dry_run = dry_run || options_dry_run(&options)?;
                let (obj, _gone) = self.registry.delete(&r, &name, &options, dry_run).await?;
                Ok(ok_json(&obj))
            }
            "deletecollection" => {
                let options = delete_options(req, &query).await?;
                let dry_run = dry_run || options_dry_run(&options)?;
                let opts = list_options(&r, &query)?;
                let page = self
                    .registry
                    .list(
                        &r,
                        &ListOptions {
                            limit: 0,
                            continue_token: None,
                            ..opts
                        },
                    )
                    .await?;
                let mut deleted = Vec::new();
                for item in page.items {
                    let name = registry::meta(&item)
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let mut one = r.clone();
                    if res.namespaced {
                        one.namespace = registry::meta(&item)
                            .get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                    }
                    match self.registry.delete(&one, &name, &options, dry_run).await {
                        Ok((obj, _)) => deleted.push(obj),
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(ok_json(&json!({
                    "kind": res.list_kind(),
                    "apiVersion": res.api_version(),
                    "metadata": {"resourceVersion": page.resource_version.to_string()},
                    "items": deleted,
                })))
            }
            other => Err(ApiError::method_not_allowed(format!(
                "verb {other} is not supported"
            ))),
        }
    }

    /// The `scale` subresource: get, update and patch an `autoscaling/v1` Scale.
    async fn scale(
        &self,
        req: Request<hyper::body::Incoming>,
        r: ResourceRequest,
        dry_run: bool,
        manager: String,
    ) -> ApiResult<Response<Body>> {
        let name = r.name.clone().unwrap_or_default();
        let manager = Some(manager.as_str());
        match r.verb {
            "get" => Ok(ok_json(&crate::scale::to_scale(
                &self.registry.get(&r, &name).await?,
            ))),
            "update" => {
                let body = read_object(req).await?;
                let obj = self
                    .registry
                    .modify_by(&r, &name, dry_run, manager, |current| {
                        crate::scale::apply_scale(current, &body)
                    })
                    .await?;
                Ok(ok_json(&crate::scale::to_scale(&obj)))
            }
            "patch" => {
                let content_type = media_type(req.headers().get(header::CONTENT_TYPE));
                let body = read_body(req).await?;
                let patch = crate::patch::Patch::parse(&content_type, &body)?;
                let obj = self
                    .registry
                    .modify_by(&r, &name, dry_run, manager, |current| {
                        let scale = crate::scale::to_scale(current);
                        let patched = patch.apply_kind("autoscaling", "Scale", &scale)?;
                        crate::scale::apply_scale(current, &patched)
                    })
                    .await?;
                Ok(ok_json(&crate::scale::to_scale(&obj)))
            }
            verb => Err(ApiError::method_not_allowed(format!(
                "{verb} is not allowed on scale"
            ))),
        }
    }

    fn table_response(
        &self,
        r: &ResourceRequest,
        items: Vec<Value>,
        rv: &str,
        continue_token: Option<&str>,
        query: &Query,
    ) -> Response<Body> {
        let include = crate::table::include_object(query.get("includeObject"));
        let table = crate::table::build(
            r.resource,
            &items,
            include,
            rv,
            continue_token.unwrap_or(""),
        );
        json_response(StatusCode::OK, &table, TABLE_TYPE)
    }
}

/// The list metadata of a cached page.
fn cached_list_meta(page: &registry::CachedPage) -> Value {
    let mut metadata = json!({"resourceVersion": page.resource_version.to_string()});
    if let Some(c) = &page.continue_token {
        metadata["continue"] = json!(c);
    }
    metadata
}

/// How many bytes a streamed answer gathers before handing them to the connection.
const STREAM_CHUNK: usize = 256 * 1024;

/// Writes one item of a streamed document.
type WriteItem = dyn FnMut(&crate::cache::Entry, &mut Vec<u8>) + Send + Sync;

/// A document made of a head, one part per item (comma-separated) and a tail, written a
/// chunk at a time as the connection takes it, so a large LIST never sits in memory whole.
pub(crate) struct Parts {
    head: Vec<u8>,
    items: std::vec::IntoIter<Arc<crate::cache::Entry>>,
    item: Box<WriteItem>,
    tail: Vec<u8>,
    started: bool,
    any: bool,
    done: bool,
}

impl Parts {
    /// Appends the next chunk (about [`STREAM_CHUNK`] bytes) to `out`; false once everything
    /// was written.
    fn next_chunk(&mut self, out: &mut Vec<u8>) -> bool {
        if self.done {
            return false;
        }
        if !self.started {
            self.started = true;
            out.extend_from_slice(&self.head);
        }
        let end = out.len() + STREAM_CHUNK;
        while out.len() < end {
            let Some(entry) = self.items.next() else {
                out.extend_from_slice(&self.tail);
                self.done = true;
                return true;
            };
            if std::mem::replace(&mut self.any, true) {
                out.push(b',');
            }
            (self.item)(&entry, out);
        }
        true
    }

    /// The whole document in one buffer.
    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.next_chunk(&mut out) {}
        out
    }
}

/// A 200 answer streaming `parts`.
fn streamed_response(parts: Parts, content_type: &'static str) -> Response<Body> {
    let stream = futures::stream::unfold(parts, |mut parts| async move {
        let mut chunk = Vec::with_capacity(STREAM_CHUNK + 16 * 1024);
        parts
            .next_chunk(&mut chunk)
            .then(|| (Ok(hyper::body::Frame::data(Bytes::from(chunk))), parts))
    });
    let mut resp = Response::new(http_body_util::StreamBody::new(stream).boxed());
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A JSON list of cached objects: their stored bytes joined, never decoded.
fn cached_list_parts(
    res: &berth_api_types::catalog::ResourceInfo,
    page: registry::CachedPage,
) -> Parts {
    let head = format!(
        "{{\"apiVersion\":{},\"items\":[",
        serde_json::to_string(&res.api_version()).unwrap_or_default()
    );
    let tail = format!(
        "],\"kind\":{},\"metadata\":{}}}",
        serde_json::to_string(&res.list_kind()).unwrap_or_default(),
        cached_list_meta(&page)
    );
    Parts {
        head: head.into_bytes(),
        items: page.items.into_iter(),
        item: Box::new(|entry, out| out.extend_from_slice(&entry.bytes)),
        tail: tail.into_bytes(),
        started: false,
        any: false,
        done: false,
    }
}

/// A Table of cached objects, from their memoized rows.
pub(crate) fn cached_table_parts(
    res: &'static berth_api_types::catalog::ResourceInfo,
    page: registry::CachedPage,
    include: crate::table::IncludeObject,
) -> Parts {
    let columns: Vec<Value> = berth_api_types::tables::columns(res.group, res.kind)
        .iter()
        .map(berth_api_types::tables::ColumnDefinition::to_json)
        .collect();
    let mut head = b"{\"apiVersion\":\"meta.k8s.io/v1\",\"columnDefinitions\":".to_vec();
    let _ = serde_json::to_writer(&mut head, &columns);
    head.extend_from_slice(b",\"kind\":\"Table\",\"metadata\":");
    let _ = serde_json::to_writer(&mut head, &cached_list_meta(&page));
    head.extend_from_slice(b",\"rows\":[");
    let now = crate::table::now_seconds();
    Parts {
        head,
        items: page.items.into_iter(),
        item: Box::new(move |entry, out| entry.write_row(res, include, now, out)),
        tail: b"]}".to_vec(),
        started: false,
        any: false,
        done: false,
    }
}

/// `dryRun` given in a DeleteOptions body (kubectl sends it there for deletes).
fn options_dry_run(options: &Value) -> ApiResult<bool> {
    match options.get("dryRun") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Array(values)) => {
            for v in values {
                if v.as_str() != Some("All") {
                    return Err(ApiError::bad_request(format!(
                        "Invalid dry run value: {v}: supported values are \"All\""
                    )));
                }
            }
            Ok(!values.is_empty())
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "dryRun must be a list, got {other}"
        ))),
    }
}

/// The metrics verb of a request outside the resource API.
fn method_verb(method: &Method) -> &'static str {
    match *method {
        Method::GET => "get",
        Method::POST => "post",
        Method::PUT => "put",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "other",
    }
}

/// The field manager of a write: the `fieldManager` parameter, checked as Kubernetes checks
/// it (a 422 naming the request's options), or else the client's User-Agent prefix.
fn field_manager(
    r: &ResourceRequest,
    query: &Query,
    headers: &http::HeaderMap,
) -> ApiResult<String> {
    match query.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(manager) => {
            let errors = crate::managed_fields::validate_manager(manager);
            if errors.is_empty() {
                return Ok(manager.to_owned());
            }
            let options = match r.verb {
                "create" => "CreateOptions",
                "update" => "UpdateOptions",
                _ => "PatchOptions",
            };
            Err(ApiError::invalid("meta.k8s.io", options, "", &errors))
        }
        None => {
            let agent = headers
                .get(header::USER_AGENT)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            Ok(crate::managed_fields::manager_from_user_agent(&agent))
        }
    }
}

fn dry_run_of(query: &Query) -> ApiResult<bool> {
    match query.get("dryRun") {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid dry run value: {other}: supported values are \"All\""
        ))),
    }
}

/// The `/version` document.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": GIT_VERSION,
        "gitCommit": "berth",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Checks how a list, watch or deletecollection combines `resourceVersion`,
/// `resourceVersionMatch`, `continue` and `sendInitialEvents`: a 422 naming every conflict
/// (as an invalid `ListOptions.meta.k8s.io`), or a 400 for a version with a continue token.
fn validate_list_query(query: &Query, watch: bool) -> ApiResult<()> {
    use berth_api_types::validation::{FieldError, Path};
    let present = |key: &str| query.get(key).filter(|v| !v.is_empty());
    let version = present("resourceVersion");
    let continued = present("continue").is_some();
    let matching = present("resourceVersionMatch");
    let initial = query.get("sendInitialEvents").is_some();
    let at = Path::new("resourceVersionMatch");
    let mut errors = Vec::new();
    if watch {
        if initial && matching != Some("NotOlderThan") {
            errors.push(FieldError::forbidden(
                &at,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if let Some(m) = matching {
            if !initial {
                errors.push(FieldError::forbidden(
                    &at,
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if m != "NotOlderThan" {
                errors.push(FieldError::not_supported(&at, m, &["NotOlderThan"]));
            }
            if continued {
                errors.push(FieldError::forbidden(
                    &at,
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
        }
    } else {
        if let Some(m) = matching {
            if version.is_none() {
                errors.push(FieldError::forbidden(
                    &at,
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if continued {
                errors.push(FieldError::forbidden(
                    &at,
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if m != "Exact" && m != "NotOlderThan" {
                errors.push(FieldError::not_supported(
                    &at,
                    m,
                    &["Exact", "NotOlderThan", ""],
                ));
            }
            if m == "Exact" && version == Some("0") {
                errors.push(FieldError::forbidden(
                    &at,
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if initial {
            errors.push(FieldError::forbidden(
                &Path::new("sendInitialEvents"),
                "sendInitialEvents is forbidden for list",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid("meta.k8s.io", "ListOptions", "", &errors));
    }
    if continued && version.is_some_and(|v| v != "0") {
        return Err(ApiError::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    Ok(())
}

fn list_options(r: &ResourceRequest, query: &Query) -> ApiResult<ListOptions> {
    validate_list_query(query, r.verb == "watch")?;
    let labels = match query.get("labelSelector") {
        Some(s) if !s.is_empty() => {
            Some(LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?)
        }
        _ => None,
    };
    let fields = match query.get("fieldSelector") {
        Some(s) if !s.is_empty() => {
            let parsed =
                FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?;
            Some(
                parsed
                    .for_kind(r.resource.group, r.resource.kind)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
            )
        }
        _ => None,
    };
    let limit = query.int("limit")?.unwrap_or(0).max(0) as usize;
    Ok(ListOptions {
        labels,
        fields,
        limit,
        continue_token: query
            .get("continue")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        resource_version: query
            .get("resourceVersion")
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        resource_version_match: query
            .get("resourceVersionMatch")
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    })
}

/// Set once a request's body was read to its end, so an error answer need not close the
/// HTTP/1.x connection the rest of the body would otherwise still be on.
#[derive(Clone, Default)]
struct BodyRead(Arc<std::sync::atomic::AtomicBool>);

/// Reads a request body, refusing oversized ones.
pub async fn read_body(req: Request<hyper::body::Incoming>) -> ApiResult<Bytes> {
    let read = req.extensions().get::<BodyRead>().cloned();
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => {
            if let Some(read) = read {
                read.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(collected.to_bytes())
        }
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::too_large(format!(
                "the request body is larger than {MAX_BODY} bytes"
            )))
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "reading the request body failed: {e}"
        ))),
    }
}

/// Decodes a JSON, YAML or protobuf object body.
pub(crate) async fn read_object(req: Request<hyper::body::Incoming>) -> ApiResult<Value> {
    let content_type = media_type(req.headers().get(header::CONTENT_TYPE));
    let body = read_body(req).await?;
    decode_object(&content_type, &body)
}

/// Reads a create or update body of `resource`, with unknown fields dropped and the request's
/// `fieldValidation` applied; returns the object and the warnings to send.
async fn read_checked(
    req: Request<hyper::body::Incoming>,
    resource: &berth_api_types::catalog::ResourceInfo,
    query: &Query,
) -> ApiResult<(Value, Vec<String>)> {
    let mode = FieldValidation::from_query(query)?;
    let content_type = media_type(req.headers().get(header::CONTENT_TYPE));
    let started = std::time::Instant::now();
    let body = read_body(req).await?;
    let started = crate::metrics::phase(crate::metrics::Phase::Body, started);
    let decoded = field_validation::decode_object(resource, &content_type, &body, mode);
    crate::metrics::phase(crate::metrics::Phase::Decode, started);
    decoded
}

/// Decodes a body of the given media type into a JSON value.
pub fn decode_object(content_type: &str, body: &[u8]) -> ApiResult<Value> {
    let value: Value = match content_type {
        "" | "application/json" | "*/*" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON body: {e}")))?,
        crate::protobuf::MEDIA_TYPE => crate::protobuf::decode(body)?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_request("the YAML body is not valid UTF-8"))?;
            serde_saphyr::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML body: {e}")))?
        }
        other => {
            return Err(ApiError::unsupported_media_type(
                other,
                &[
                    "application/json",
                    "application/yaml",
                    crate::protobuf::MEDIA_TYPE,
                ],
            ))
        }
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    Ok(value)
}

async fn delete_options(req: Request<hyper::body::Incoming>, query: &Query) -> ApiResult<Value> {
    let content_type = media_type(req.headers().get(header::CONTENT_TYPE));
    let body = read_body(req).await?;
    let options = if body.iter().all(u8::is_ascii_whitespace) {
        query_delete_options(query)?
    } else {
        decode_object(&content_type, &body)?
    };
    // Checked before a collection is listed, so bad options delete nothing.
    registry::check_delete_options(&options)?;
    Ok(options)
}

/// The DeleteOptions of a delete without a body, from its query; a body, when there is one,
/// is the whole of the options and the query's are not looked at.
fn query_delete_options(query: &Query) -> ApiResult<Value> {
    let mut options = json!({});
    if let Some(p) = query.get("propagationPolicy") {
        options["propagationPolicy"] = json!(p);
    }
    if let Some(g) = query.int("gracePeriodSeconds")? {
        options["gracePeriodSeconds"] = json!(g);
    }
    if query.get("orphanDependents").is_some() {
        options["orphanDependents"] = json!(query.flag("orphanDependents"));
    }
    Ok(options)
}

/// How long a watch may stay open when the client gives no `timeoutSeconds`.
pub const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn large_lists_stream_in_chunks_that_join_into_the_whole_document() {
        use berth_store::memory::MemoryStore;
        let store: berth_store::DynStore = Arc::new(MemoryStore::new());
        let cache = crate::cache::WatchCache::start(store.clone());
        let mut last = 0;
        for i in 0..300 {
            let pod = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("p{i:03}"), "namespace": "default",
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                    "annotations": {"note": "x".repeat(1000)}},
                "spec": {"containers": [{"name": "c", "image": "i"}]}});
            let key = format!("/registry/pods/default/p{i:03}");
            last = store
                .create(&key, serde_json::to_vec(&pod).unwrap())
                .await
                .unwrap()
                .mod_revision;
        }
        assert!(cache.wait_for(last, crate::cache::CONSISTENT_WAIT).await);
        let res = berth_api_types::catalog::find("", "pods").unwrap();
        let page = || {
            let page = cache
                .list("/registry/pods/", None, None, 0, |_| true)
                .unwrap();
            registry::CachedPage {
                items: page.items,
                resource_version: page.revision,
                continue_token: None,
            }
        };
        for (parts, items) in [
            (cached_list_parts(res, page()), "/items"),
            (
                cached_table_parts(res, page(), crate::table::IncludeObject::Metadata),
                "/rows",
            ),
        ] {
            let whole = cached_list_parts(res, page()).into_bytes();
            let mut parts = parts;
            let mut chunks = 0;
            let mut joined = Vec::new();
            while parts.next_chunk(&mut joined) {
                chunks += 1;
            }
            assert!(chunks > 1, "300 KB of pods take more than one chunk");
            let doc: Value = serde_json::from_slice(&joined).expect("one JSON document");
            let list = doc.pointer(items).and_then(Value::as_array).unwrap();
            assert_eq!(list.len(), 300);
            if items == "/items" {
                assert_eq!(joined, whole);
                assert_eq!(list[299]["metadata"]["name"], "p299");
                assert_eq!(doc["metadata"]["resourceVersion"], last.to_string());
            } else {
                assert_eq!(list[7]["object"]["metadata"]["name"], "p007");
                assert_eq!(list[7]["object"]["kind"], "PartialObjectMetadata");
            }
        }
        // An empty page is still one document.
        let empty = registry::CachedPage {
            items: Vec::new(),
            resource_version: 1,
            continue_token: None,
        };
        let doc: Value =
            serde_json::from_slice(&cached_list_parts(res, empty).into_bytes()).unwrap();
        assert_eq!(doc["items"], json!([]));
    }

    #[test]
    fn table_negotiation() {
        assert!(wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
        assert!(!wants_table("application/json"));
        assert!(!wants_table("application/json, */*"));
        assert!(!wants_table("application/json;as=Table;g=meta.k8s.io;v=v9"));
        assert!(check_accept("application/json;as=Table;g=meta.k8s.io;v=v9").is_err());
        assert!(check_accept("application/xml, application/json;q=0").is_err());
        assert!(check_accept("application/xml, application/json;q=0.5").is_ok());
        assert!(check_accept("application/vnd.kubernetes.protobuf;stream=watch").is_ok());
        assert!(check_accept("").is_ok());
    }

    #[test]
    fn bodies_decode_or_fail_clearly() {
        assert_eq!(
            decode_object("application/json", b"{\"a\":1}").unwrap(),
            json!({"a": 1})
        );
        assert_eq!(
            decode_object("application/yaml", b"a: 1\nb: [x]\n").unwrap(),
            json!({"a": 1, "b": ["x"]})
        );
        assert_eq!(
            decode_object("application/json", b"{not json")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            decode_object("application/json", b"[1,2]")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            decode_object("application/vnd.kubernetes.protobuf", b"k8s\0")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            decode_object("application/cbor", b"\xa0").unwrap_err().code,
            415
        );
    }

    #[test]
    fn list_options_combinations_are_checked_as_for_any_list() {
        let check = |query: &str, watch: bool| {
            validate_list_query(&Query::parse(Some(query)), watch).map_err(|e| (e.code, e.message))
        };
        for ok in [
            "",
            "resourceVersion=5&resourceVersionMatch=Exact",
            "resourceVersion=0&resourceVersionMatch=NotOlderThan",
            "continue=abc",
            "continue=abc&resourceVersion=0",
            "limit=5&resourceVersion=7",
        ] {
            assert_eq!(check(ok, false), Ok(()), "{ok}");
        }
        for ok in [
            "resourceVersion=5",
            "sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
            "sendInitialEvents=false&resourceVersionMatch=NotOlderThan&resourceVersion=3",
        ] {
            assert_eq!(check(ok, true), Ok(()), "{ok}");
        }
        let invalid = "ListOptions.meta.k8s.io \"\" is invalid: ";
        for (query, watch, code, message) in [
            ("resourceVersionMatch=Exact", false, 422, "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
            ("resourceVersion=0&resourceVersionMatch=Exact", false, 422, "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""),
            ("resourceVersion=3&resourceVersionMatch=Bogus", false, 422, "resourceVersionMatch: Unsupported value: \"Bogus\": supported values: \"Exact\", \"NotOlderThan\", \"\""),
            ("continue=abc&resourceVersion=3&resourceVersionMatch=Exact", false, 422, "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"),
            ("sendInitialEvents=true", false, 422, "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
            ("sendInitialEvents=true", true, 422, "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
            ("resourceVersion=3&resourceVersionMatch=NotOlderThan", true, 422, "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
            ("sendInitialEvents=true&resourceVersionMatch=Exact", true, 422, "Unsupported value: \"Exact\": supported values: \"NotOlderThan\""),
            ("continue=abc&resourceVersion=3", false, 400, "specifying resource version is not allowed when using continue"),
        ] {
            let (got_code, got) = check(query, watch).unwrap_err();
            assert_eq!(got_code, code, "{query}: {got}");
            if code == 422 {
                assert!(got.starts_with(invalid), "{query}: {got}");
            }
            assert!(got.contains(message), "{query}: {got}");
        }
    }

    #[test]
    fn a_delete_without_a_body_takes_its_options_from_the_query() {
        let options = |q: &str| query_delete_options(&Query::parse(Some(q))).unwrap();
        assert_eq!(options(""), json!({}));
        assert_eq!(
            options("propagationPolicy=Foreground&gracePeriodSeconds=0"),
            json!({"propagationPolicy": "Foreground", "gracePeriodSeconds": 0})
        );
        // The deprecated flag is carried as it came; the registry reads it as a policy and
        // refuses it beside a propagationPolicy.
        assert_eq!(
            options("orphanDependents=true"),
            json!({"orphanDependents": true})
        );
        for q in ["orphanDependents=true", "orphanDependents=false"] {
            assert!(registry::check_delete_options(&options(q)).is_ok(), "{q}");
        }
        let both = options("orphanDependents=true&propagationPolicy=Background");
        assert_eq!(registry::check_delete_options(&both).unwrap_err().code, 422);
    }
}

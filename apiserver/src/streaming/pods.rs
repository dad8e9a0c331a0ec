//! `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward`: find the pod's node, check
//! the request, and carry it to the node server.
//!
//! Between the API server and the kubelet every stream is SPDY/3.1 (`v4.channel.k8s.io` and
//! older for exec and attach, `portforward.k8s.io` for port-forward). A SPDY client's
//! connection is spliced byte for byte onto the kubelet's; a WebSocket client is translated:
//! the channel protocols through [`relay_channels`], the SPDY-in-WebSocket port-forward
//! tunnel by unwrapping its messages into the kubelet's SPDY byte stream.

use super::channel::{self, Version};
use super::spdy::{self, Session, StreamReader, StreamWriter};
use crate::handler::{full, ApiServer, Body};
use crate::registry::Registry;
use crate::request::ResourceRequest;
use crate::status::{ApiError, ApiResult};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::IpAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The WebSocket subprotocol of the SPDY port-forward tunnel.
pub const PORT_FORWARD_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";
/// The SPDY subprotocol of port-forward.
pub const PORT_FORWARD_PROTOCOL: &str = "portforward.k8s.io";

/// The raw query as name/value pairs, repeated names kept (exec's `command`).
fn query_pairs(req: &Request<hyper::body::Incoming>) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn flag(pairs: &[(String, String)], name: &str) -> bool {
    matches!(first(pairs, name), Some("true" | "1" | "True" | "TRUE"))
}

fn request_for(group: &str, plural: &str, namespace: Option<&str>) -> ApiResult<ResourceRequest> {
    Ok(ResourceRequest {
        resource: berth_api_types::catalog::find(group, plural)
            .ok_or_else(|| ApiError::internal(format!("the catalog lacks {plural}")))?,
        namespace: namespace.map(str::to_owned),
        name: None,
        subresource: None,
        verb: "get",
    })
}

/// Every container name of the pod, regular ones first.
fn container_names(pod: &Value) -> (Vec<String>, Vec<String>) {
    let names = |ptr: &str| -> Vec<String> {
        pod.pointer(ptr)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let regular = names("/spec/containers");
    let mut others = names("/spec/initContainers");
    others.extend(names("/spec/ephemeralContainers"));
    (regular, others)
}

/// Resolves the container a request names, as the API server checks it before contacting
/// the node.
fn resolve_container(pod: &Value, name: &str, asked: Option<&str>) -> ApiResult<String> {
    let (regular, others) = container_names(pod);
    match asked.filter(|c| !c.is_empty()) {
        Some(c) if regular.iter().chain(others.iter()).any(|n| n == c) => Ok(c.to_owned()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if regular.len() == 1 => Ok(regular[0].clone()),
        None if regular.is_empty() => Err(ApiError::bad_request(format!(
            "pod {name} does not have a container"
        ))),
        None => {
            let mut all = regular.clone();
            all.extend(others);
            Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                all.join(" ")
            )))
        }
    }
}

/// The status of container `name` in the pod, from any of the status lists.
fn container_status<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    [
        "/status/containerStatuses",
        "/status/initContainerStatuses",
        "/status/ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
    .flatten()
    .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
}

/// Where the pod's kubelet listens: the node's InternalIP and kubelet endpoint port.
async fn node_endpoint(registry: &Registry, node: &str) -> ApiResult<(IpAddr, u16)> {
    let nodes = request_for("", "nodes", None)?;
    let obj = registry.get(&nodes, node).await?;
    let addresses = obj
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let pick = |kind: &str| {
        addresses
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) == Some(kind))
            .find_map(|a| {
                a.get("address")
                    .and_then(Value::as_str)?
                    .parse::<IpAddr>()
                    .ok()
            })
    };
    let ip = pick("InternalIP")
        .or_else(|| pick("ExternalIP"))
        .ok_or_else(|| ApiError::bad_request(format!("node {node} has no InternalIP address")))?;
    let port = obj
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(10250);
    Ok((ip, port))
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

fn upgrade_kind(headers: &HeaderMap) -> Option<String> {
    let connection_upgrade = header_values(headers, "connection")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_upgrade {
        return None;
    }
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// Serves one of the streaming pod subresources.
pub async fn serve(
    api: &ApiServer,
    req: Request<hyper::body::Incoming>,
    r: &ResourceRequest,
) -> ApiResult<Response<Body>> {
    let sub = r.subresource.as_deref().unwrap_or_default().to_owned();
    let name = r.name.clone().unwrap_or_default();
    let ns = r.namespace.clone().unwrap_or_default();
    let pairs = query_pairs(&req);
    if sub == "log" {
        check_log_options(&name, &pairs)?;
    }
    let pods = request_for("", "pods", Some(&ns))?;
    let pod = api.registry.get(&pods, &name).await?;
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Pending")
        .to_owned();
    let mut path;
    match sub.as_str() {
        "log" => {
            let container = resolve_container(&pod, &name, first(&pairs, "container"))?;
            if node.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "pod {name} does not have a host assigned"
                )));
            }
            let status = container_status(&pod, &container);
            if let Some(reason) = status
                .and_then(|s| s.pointer("/state/waiting/reason"))
                .and_then(Value::as_str)
            {
                if !flag(&pairs, "previous") {
                    return Err(ApiError::bad_request(format!(
                        "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
                    )));
                }
            }
            path = format!(
                "/containerLogs/{}/{}/{}",
                enc(&ns),
                enc(&name),
                enc(&container)
            );
            let passed: Vec<(String, String)> = pairs
                .iter()
                .filter(|(n, _)| {
                    matches!(
                        n.as_str(),
                        "follow"
                            | "previous"
                            | "tailLines"
                            | "sinceSeconds"
                            | "sinceTime"
                            | "timestamps"
                            | "limitBytes"
                    )
                })
                .cloned()
                .collect();
            if !passed.is_empty() {
                path.push('?');
                path.push_str(
                    &form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(passed)
                        .finish(),
                );
            }
            let (ip, port) = node_endpoint(&api.registry, &node).await?;
            return proxy_logs(api, ip, port, &path).await;
        }
        "exec" | "attach" => {
            let container = resolve_container(&pod, &name, first(&pairs, "container"))?;
            let commands: Vec<&str> = pairs
                .iter()
                .filter(|(n, _)| n == "command")
                .map(|(_, v)| v.as_str())
                .collect();
            if sub == "exec" && commands.is_empty() {
                return Err(ApiError::bad_request("you must specify at least 1 command"));
            }
            let (stdin, stdout, stderr, tty) = (
                flag(&pairs, "stdin"),
                flag(&pairs, "stdout"),
                flag(&pairs, "stderr"),
                flag(&pairs, "tty"),
            );
            if !stdin && !stdout && !stderr {
                return Err(ApiError::bad_request(
                    "you must specify at least 1 of stdin, stdout, stderr",
                ));
            }
            if node.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "pod {name} does not have a host assigned"
                )));
            }
            if phase == "Succeeded" || phase == "Failed" {
                return Err(ApiError::bad_request(format!(
                    "cannot {sub} into a container in a completed pod; current phase is {phase}"
                )));
            }
            let running = container_status(&pod, &container)
                .and_then(|s| s.pointer("/state/running"))
                .is_some();
            if !running {
                return Err(ApiError::bad_request(format!(
                    "unable to upgrade connection: container not found (\"{container}\")"
                )));
            }
            let query = {
                let mut q = form_urlencoded::Serializer::new(String::new());
                for c in &commands {
                    q.append_pair("command", c);
                }
                for (k, v) in [
                    ("stdin", stdin),
                    ("stdout", stdout),
                    ("stderr", stderr && !tty),
                    ("tty", tty),
                ] {
                    if v {
                        q.append_pair(k, "true");
                    }
                }
                q.finish()
            };
            let verb = if sub == "exec" { "exec" } else { "attach" };
            path = format!(
                "/{verb}/{}/{}/{}?{}",
                enc(&ns),
                enc(&name),
                enc(&container),
                query
            );
            let opts = ExecStreams {
                stdin,
                stdout,
                stderr: stderr && !tty,
                tty,
            };
            let (ip, port) = node_endpoint(&api.registry, &node).await?;
            upgrade(api, req, ip, port, &path, Some(opts)).await
        }
        "portforward" => {
            if node.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "pod {name} does not have a host assigned"
                )));
            }
            if phase != "Running" {
                return Err(ApiError::bad_request(format!(
                    "pod {name} is not running (phase {phase}); port-forward needs a running pod"
                )));
            }
            path = format!("/portForward/{}/{}", enc(&ns), enc(&name));
            let (ip, port) = node_endpoint(&api.registry, &node).await?;
            upgrade(api, req, ip, port, &path, None).await
        }
        _ => Err(ApiError::no_route()),
    }
}

/// Rejects log options the kubelet could not honour for the log of pod `pod`, as Kubernetes
/// does before it looks at the pod: 400 for a value that is not a number or time, 422 Invalid
/// on `PodLogOptions` (named after the pod) for the validation rules.
fn check_log_options(pod: &str, pairs: &[(String, String)]) -> ApiResult<()> {
    use berth_api_types::validation::{FieldError, Path};
    let mut errors = Vec::new();
    for name in ["tailLines", "sinceSeconds", "limitBytes"] {
        if let Some(v) = first(pairs, name) {
            let n: i64 = v.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid value {v:?} for {name}: not an integer"))
            })?;
            let (min, detail) = if name == "tailLines" {
                (0, "must be greater than or equal to 0")
            } else {
                (1, "must be greater than 0")
            };
            if n < min {
                errors.push(FieldError::invalid(&Path::new(name), n, detail));
            }
        }
    }
    if let Some(t) = first(pairs, "sinceTime") {
        if t.parse::<jiff::Timestamp>().is_err() {
            return Err(ApiError::bad_request(format!(
                "invalid value {t:?} for sinceTime: not an RFC 3339 time"
            )));
        }
    }
    if first(pairs, "sinceSeconds").is_some() && first(pairs, "sinceTime").is_some() {
        errors.push(FieldError::forbidden(
            &Path::new("sinceSeconds"),
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("", "PodLogOptions", pod, &errors))
    }
}

async fn kubelet_client(api: &ApiServer) -> ApiResult<&super::kubelet::KubeletClient> {
    api.kubelet
        .as_deref()
        .ok_or_else(|| ApiError::internal("this API server has no kubelet client identity"))
}

/// Streams a container's log from its kubelet.
async fn proxy_logs(
    api: &ApiServer,
    ip: IpAddr,
    port: u16,
    path: &str,
) -> ApiResult<Response<Body>> {
    let client = kubelet_client(api).await?;
    let req = Request::get(path)
        .body(Empty::new())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let resp = client.send(ip, port, req).await?;
    let status = resp.status();
    let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();
    let body = resp
        .into_body()
        .map_err(|e| std::io::Error::other(e.to_string()))
        .boxed();
    let mut out = Response::new(body);
    *out.status_mut() = status;
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        content_type.unwrap_or(HeaderValue::from_static("text/plain")),
    );
    Ok(out)
}

/// Which exec or attach streams the client asked for.
#[derive(Debug, Clone, Copy)]
pub struct ExecStreams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// Dials the kubelet with a SPDY upgrade offering `protocols`. A refusal comes back as the
/// kubelet's own answer, ready to hand to the client.
async fn dial_spdy(
    api: &ApiServer,
    ip: IpAddr,
    port: u16,
    path: &str,
    protocols: &[&str],
) -> ApiResult<Result<(Upgraded, String), Response<Body>>> {
    let client = kubelet_client(api).await?;
    let mut builder = Request::post(path)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, spdy::UPGRADE);
    for p in protocols {
        builder = builder.header("X-Stream-Protocol-Version", *p);
    }
    let req = builder
        .body(Empty::new())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let resp = client.send(ip, port, req).await?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        let status = resp.status();
        let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();
        let body = tokio::time::timeout(super::kubelet::DIAL_TIMEOUT, resp.into_body().collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let mut out = Response::new(full(body));
        *out.status_mut() = status;
        if let Some(ct) = content_type {
            out.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        return Ok(Err(out));
    }
    let chosen = resp
        .headers()
        .get("X-Stream-Protocol-Version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let upgraded = hyper::upgrade::on(resp)
        .await
        .map_err(|e| ApiError::internal(format!("upgrading the kubelet connection: {e}")))?;
    Ok(Ok((upgraded, chosen)))
}

fn switching(headers: &[(&str, String)]) -> Response<Body> {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    for (n, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            resp.headers_mut().append(
                http::header::HeaderName::from_bytes(n.as_bytes()).unwrap_or(header::UPGRADE),
                v,
            );
        }
    }
    resp
}

/// Answers an exec, attach or port-forward upgrade: `exec` is `None` for port-forward.
async fn upgrade(
    api: &ApiServer,
    req: Request<hyper::body::Incoming>,
    ip: IpAddr,
    port: u16,
    path: &str,
    exec: Option<ExecStreams>,
) -> ApiResult<Response<Body>> {
    let kind = upgrade_kind(req.headers());
    match kind.as_deref() {
        Some("spdy/3.1") => {
            let offered: Vec<String> = header_values(req.headers(), "x-stream-protocol-version")
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            let offered: Vec<&str> = offered.iter().map(String::as_str).collect();
            let (kubelet, chosen) = match dial_spdy(api, ip, port, path, &offered).await? {
                Ok(pair) => pair,
                Err(refusal) => return Ok(refusal),
            };
            let on_client = hyper::upgrade::on(req);
            tokio::spawn(async move {
                let Ok(client) = on_client.await else {
                    return;
                };
                let mut client = TokioIo::new(client);
                let mut kubelet = TokioIo::new(kubelet);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut kubelet).await;
            });
            let mut headers = vec![
                ("Connection", "Upgrade".to_owned()),
                ("Upgrade", spdy::UPGRADE.to_owned()),
            ];
            if !chosen.is_empty() {
                headers.push(("X-Stream-Protocol-Version", chosen));
            }
            Ok(switching(&headers))
        }
        Some("websocket") => {
            let key = req
                .headers()
                .get("sec-websocket-key")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ApiError::bad_request("missing Sec-WebSocket-Key"))?
                .to_owned();
            let offers_owned: Vec<String> = header_values(req.headers(), "sec-websocket-protocol")
                .into_iter()
                .map(str::to_owned)
                .collect();
            let offers: Vec<&str> = offers_owned.iter().map(String::as_str).collect();
            let accept =
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            match exec {
                Some(streams) => {
                    let Some(version) = channel::negotiate(offers.iter().copied()) else {
                        return Err(ApiError::bad_request(format!(
                            "none of the offered subprotocols {offers:?} is supported; use one of {:?}",
                            Version::ALL.map(Version::name)
                        )));
                    };
                    let spdy_version = version.spdy_equivalent().name();
                    let (kubelet, _) = match dial_spdy(api, ip, port, path, &[spdy_version]).await?
                    {
                        Ok(pair) => pair,
                        Err(refusal) => return Ok(refusal),
                    };
                    let on_client = hyper::upgrade::on(req);
                    tokio::spawn(async move {
                        let Ok(client) = on_client.await else {
                            return;
                        };
                        let ws = WebSocketStream::from_raw_socket(
                            TokioIo::new(client),
                            Role::Server,
                            None,
                        )
                        .await;
                        let (session, _incoming) = Session::start(TokioIo::new(kubelet), false);
                        if let Err(e) = relay_channels(ws, session, version, streams).await {
                            tracing::debug!(error = %e, "exec relay ended");
                        }
                    });
                    Ok(switching(&[
                        ("Connection", "Upgrade".to_owned()),
                        ("Upgrade", "websocket".to_owned()),
                        ("Sec-WebSocket-Accept", accept),
                        ("Sec-WebSocket-Protocol", version.name().to_owned()),
                    ]))
                }
                None => {
                    let tunnel = offers
                        .iter()
                        .flat_map(|v| v.split(','))
                        .any(|p| p.trim() == PORT_FORWARD_TUNNEL);
                    if !tunnel {
                        return channel_port_forward(api, req, ip, port, path, &offers, accept)
                            .await;
                    }
                    let (kubelet, _) =
                        match dial_spdy(api, ip, port, path, &[PORT_FORWARD_PROTOCOL]).await? {
                            Ok(pair) => pair,
                            Err(refusal) => return Ok(refusal),
                        };
                    let on_client = hyper::upgrade::on(req);
                    tokio::spawn(async move {
                        let Ok(client) = on_client.await else {
                            return;
                        };
                        let ws = WebSocketStream::from_raw_socket(
                            TokioIo::new(client),
                            Role::Server,
                            None,
                        )
                        .await;
                        tunnel_bytes(ws, TokioIo::new(kubelet)).await;
                    });
                    Ok(switching(&[
                        ("Connection", "Upgrade".to_owned()),
                        ("Upgrade", "websocket".to_owned()),
                        ("Sec-WebSocket-Accept", accept),
                        ("Sec-WebSocket-Protocol", PORT_FORWARD_TUNNEL.to_owned()),
                    ]))
                }
            }
        }
        _ => Err(ApiError::bad_request("Upgrade request required")),
    }
}

/// The channel protocol of port-forward over WebSocket (`v4.channel.k8s.io`, or no
/// subprotocol): the ports come from `?ports=`, port number `i` uses channel `2i` for data and
/// `2i+1` for errors, and each channel starts with the port as two little-endian bytes.
async fn channel_port_forward(
    api: &ApiServer,
    req: Request<hyper::body::Incoming>,
    ip: IpAddr,
    port: u16,
    path: &str,
    offers: &[&str],
    accept: String,
) -> ApiResult<Response<Body>> {
    let offered: Vec<&str> = offers
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let protocol = if offered.is_empty() {
        None
    } else if offered.contains(&Version::V4.name()) {
        Some(Version::V4.name())
    } else {
        return Err(ApiError::bad_request(format!(
            "port-forward over WebSocket needs the subprotocol {PORT_FORWARD_TUNNEL} or {}",
            Version::V4.name()
        )));
    };
    let ports = forward_ports(&query_pairs(&req))?;
    let (kubelet, _) = match dial_spdy(api, ip, port, path, &[PORT_FORWARD_PROTOCOL]).await? {
        Ok(pair) => pair,
        Err(refusal) => return Ok(refusal),
    };
    let on_client = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(client) = on_client.await else { return };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(client), Role::Server, None).await;
        let (session, _) = Session::start(TokioIo::new(kubelet), false);
        if let Err(e) = relay_port_channels(ws, session, &ports).await {
            tracing::debug!(error = %e, "port-forward relay ended");
        }
    });
    let mut headers = vec![
        ("Connection", "Upgrade".to_owned()),
        ("Upgrade", "websocket".to_owned()),
        ("Sec-WebSocket-Accept", accept),
    ];
    if let Some(p) = protocol {
        headers.push(("Sec-WebSocket-Protocol", p.to_owned()));
    }
    Ok(switching(&headers))
}

/// The `ports` query parameter(s): repeated or comma-separated, each 1-65535.
fn forward_ports(pairs: &[(String, String)]) -> ApiResult<Vec<u16>> {
    let mut ports = Vec::new();
    for (_, v) in pairs.iter().filter(|(n, _)| n == "ports") {
        for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => ports.push(n),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "invalid port {p:?}: must be between 1 and 65535"
                    )))
                }
            }
        }
    }
    if ports.is_empty() {
        return Err(ApiError::bad_request(
            "query parameter \"ports\" is required",
        ));
    }
    if ports.len() > 127 {
        return Err(ApiError::bad_request(
            "at most 127 ports can be forwarded at once",
        ));
    }
    Ok(ports)
}

/// Relays WebSocket port-forward channels onto one SPDY error/data stream pair per port.
pub async fn relay_port_channels<S>(
    ws: WebSocketStream<S>,
    session: Session,
    ports: &[u16],
) -> Result<(), spdy::SpdyError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut source) = ws.split();
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
    let mut writers = Vec::new();
    let mut pumps = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let headers = |kind: &str| {
            vec![
                ("streamtype".to_owned(), kind.to_owned()),
                ("port".to_owned(), port.to_string()),
                ("requestid".to_owned(), i.to_string()),
            ]
        };
        let (_, error_rx) = session.open(headers("error")).await?;
        let (data_w, data_rx) = session.open(headers("data")).await?;
        let data_channel = (2 * i) as u8;
        for ch in [data_channel, data_channel + 1] {
            let _ = out_tx.send(Message::Binary(
                channel::message(ch, &port.to_le_bytes()).into(),
            ));
        }
        writers.push(data_w);
        for (mut reader, ch) in [(data_rx, data_channel), (error_rx, data_channel + 1)] {
            let tx = out_tx.clone();
            pumps.push(tokio::spawn(async move {
                while let Some(b) = reader.read().await {
                    if tx
                        .send(Message::Binary(channel::message(ch, &b).into()))
                        .is_err()
                    {
                        break;
                    }
                }
            }));
        }
    }
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let last = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || last {
                break;
            }
        }
    });
    let client = tokio::spawn(async move {
        while let Some(Ok(msg)) = source.next().await {
            let data = match msg {
                Message::Binary(b) => b,
                Message::Close(_) => break,
                _ => continue,
            };
            if let Some((ch, payload)) = channel::split(&data) {
                // Only data channels carry bytes from the client.
                if ch % 2 == 0 {
                    if let Some(w) = writers.get(usize::from(ch / 2)) {
                        if !payload.is_empty() && w.write(payload).is_err() {
                            break;
                        }
                    }
                }
            }
        }
        for w in &writers {
            let _ = w.finish();
        }
    });
    // The session lasts until the client leaves or every stream from the node has ended.
    let pumps_done = async {
        for p in pumps {
            let _ = p.await;
        }
    };
    tokio::select! {
        _ = pumps_done => {}
        _ = client => {}
    }
    let _ = out_tx.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    })));
    drop(out_tx);
    let _ = writer.await;
    session.close();
    Ok(())
}

/// Carries the SPDY byte stream of a port-forward tunnel: the payloads of the client's
/// binary messages go to the kubelet, the kubelet's bytes go back as binary messages.
pub async fn tunnel_bytes<S, K>(ws: WebSocketStream<S>, kubelet: K)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    K: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (mut krd, mut kwr) = tokio::io::split(kubelet);
    let up = async move {
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Binary(b) if kwr.write_all(&b).await.is_err() => break,
                Message::Close(_) => break,
                _ => {}
            }
        }
        let _ = kwr.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match krd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink
                        .send(Message::Binary(Bytes::copy_from_slice(&buf[..n])))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })))
            .await;
    };
    // Either side ending ends the tunnel.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

async fn collect(mut r: StreamReader) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(b) = r.read().await {
        if all.len() < 1 << 20 {
            all.extend_from_slice(&b);
        }
    }
    all
}

/// Relays an exec or attach session between a WebSocket channel-protocol client and a SPDY
/// session to the node (client role). Streams are opened in the order a SPDY client opens
/// them: error, stdin, stdout, stderr, resize.
pub async fn relay_channels<S>(
    ws: WebSocketStream<S>,
    session: Session,
    version: Version,
    streams: ExecStreams,
) -> Result<(), spdy::SpdyError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let open = |kind: &str| session.open(vec![("streamtype".to_owned(), kind.to_owned())]);
    let (_, error_rx) = open("error").await?;
    let stdin: Option<StreamWriter> = if streams.stdin {
        Some(open("stdin").await?.0)
    } else {
        None
    };
    let stdout = if streams.stdout {
        Some(open("stdout").await?.1)
    } else {
        None
    };
    let stderr = if streams.stderr {
        Some(open("stderr").await?.1)
    } else {
        None
    };
    let resize: Option<StreamWriter> = if streams.tty && version.spdy_equivalent().has_resize() {
        Some(open("resize").await?.0)
    } else {
        None
    };
    let (mut sink, mut source) = ws.split();
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let last = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || last {
                break;
            }
        }
    });
    let pump = |reader: Option<StreamReader>, ch: u8| {
        let tx = out_tx.clone();
        tokio::spawn(async move {
            let Some(mut r) = reader else { return };
            while let Some(b) = r.read().await {
                if tx
                    .send(Message::Binary(channel::message(ch, &b).into()))
                    .is_err()
                {
                    break;
                }
            }
        })
    };
    let out_task = pump(stdout, channel::STDOUT);
    let err_task = pump(stderr, channel::STDERR);
    // Client → node: stdin, resize, close signals. Ends when the client goes away.
    let reader_session = session.clone();
    let client_task = tokio::spawn(async move {
        let mut stdin = stdin;
        while let Some(msg) = source.next().await {
            let Ok(msg) = msg else { break };
            let data = match msg {
                Message::Binary(b) => b,
                Message::Close(_) => break,
                _ => continue,
            };
            match channel::split(&data) {
                Some((channel::STDIN, payload)) => {
                    if let Some(w) = &stdin {
                        if !payload.is_empty() && w.write(payload).is_err() {
                            break;
                        }
                    }
                }
                Some((channel::RESIZE, payload)) => {
                    if let (Some(w), Some(_)) = (&resize, channel::parse_resize(payload)) {
                        let _ = w.write(payload);
                    }
                }
                Some((channel::CLOSE, [channel::STDIN, ..])) if version == Version::V5 => {
                    if let Some(w) = stdin.take() {
                        let _ = w.finish();
                    }
                }
                _ => {}
            }
        }
        // The client left: nothing more will come; end the node's session too.
        if let Some(w) = stdin.take() {
            let _ = w.finish();
        }
        reader_session
    });
    let node_done = async move {
        let error = collect(error_rx).await;
        let _ = out_task.await;
        let _ = err_task.await;
        error
    };
    let mut client_task = client_task;
    let error = tokio::select! {
        error = node_done => Some(error),
        // The client went away first: nobody is left to tell; end the node's side.
        _ = &mut client_task => None,
    };
    let client_left = error.is_none();
    if let Some(error) = error {
        let status = if error.is_empty() && version.status_is_json() {
            serde_json::to_vec(&channel::exit_status(0)).unwrap_or_default()
        } else {
            error
        };
        if !status.is_empty() {
            let _ = out_tx.send(Message::Binary(
                channel::message(channel::ERROR, &status).into(),
            ));
        }
        let _ = out_tx.send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })));
    }
    drop(out_tx);
    if client_left {
        writer.abort();
    }
    let _ = writer.await;
    session.close();
    client_task.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_resolve_as_the_api_checks_them() {
        let pod = json!({"spec": {"containers": [{"name": "web"}, {"name": "side"}],
            "initContainers": [{"name": "init"}]}});
        assert_eq!(resolve_container(&pod, "p", Some("side")).unwrap(), "side");
        assert_eq!(resolve_container(&pod, "p", Some("init")).unwrap(), "init");
        let e = resolve_container(&pod, "p", Some("nosuch")).unwrap_err();
        assert_eq!((e.code, e.reason), (400, "BadRequest"));
        assert_eq!(e.message, "container nosuch is not valid for pod p");
        let e = resolve_container(&pod, "p", None).unwrap_err();
        assert_eq!(
            e.message,
            "a container name must be specified for pod p, choose one of: [web side init]"
        );
        let one = json!({"spec": {"containers": [{"name": "only"}]}});
        assert_eq!(resolve_container(&one, "p", Some("")).unwrap(), "only");
    }

    #[test]
    fn log_options_are_validated() {
        let p = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        assert!(check_log_options("p", &p(&[("tailLines", "10"), ("limitBytes", "5")])).is_ok());
        assert_eq!(
            check_log_options("p", &p(&[("tailLines", "-1")]))
                .unwrap_err()
                .code,
            422
        );
        assert_eq!(
            check_log_options("p", &p(&[("limitBytes", "0")]))
                .unwrap_err()
                .code,
            422
        );
        assert_eq!(
            check_log_options("p", &p(&[("sinceSeconds", "x")]))
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            check_log_options(
                "p",
                &p(&[("sinceSeconds", "5"), ("sinceTime", "2026-01-01T00:00:00Z")])
            )
            .unwrap_err()
            .code,
            422
        );
        assert_eq!(
            check_log_options("p", &p(&[("sinceTime", "yesterday")]))
                .unwrap_err()
                .code,
            400
        );
    }

    /// A node side that runs "tr a-z A-Z" on stdin and exits 3.
    async fn fake_node(io: tokio::io::DuplexStream) -> Vec<String> {
        let (session, mut incoming) = Session::start(io, true);
        let mut kinds = Vec::new();
        let mut by_kind = std::collections::HashMap::new();
        while kinds.len() < 4 {
            let s = incoming.recv().await.expect("stream");
            s.accept().unwrap();
            let kind = spdy::header(&s.headers, "streamtype").unwrap().to_owned();
            kinds.push(kind.clone());
            by_kind.insert(kind, s);
        }
        let mut stdin = by_kind.remove("stdin").unwrap();
        let stdout = by_kind.remove("stdout").unwrap();
        let stderr = by_kind.remove("stderr").unwrap();
        let error = by_kind.remove("error").unwrap();
        while let Some(b) = stdin.reader.read().await {
            stdout.writer.write(&b.to_ascii_uppercase()).unwrap();
        }
        stdout.writer.finish().unwrap();
        stderr.writer.write(b"stdin closed").unwrap();
        stderr.writer.finish().unwrap();
        error
            .writer
            .write(&serde_json::to_vec(&channel::exit_status(3)).unwrap())
            .unwrap();
        error.writer.finish().unwrap();
        session.close();
        kinds
    }

    #[tokio::test]
    async fn websocket_v5_sessions_are_carried_over_spdy_with_stdin_close_and_exit_code() {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let (node_a, node_b) = tokio::io::duplex(1 << 16);
        let node = tokio::spawn(fake_node(node_b));
        let relay = tokio::spawn(async move {
            let ws = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
            let (session, _) = Session::start(node_a, false);
            let streams = ExecStreams {
                stdin: true,
                stdout: true,
                stderr: true,
                tty: false,
            };
            relay_channels(ws, session, Version::V5, streams).await
        });
        let mut ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        // kubectl's heartbeat: every ping must be answered.
        ws.send(Message::Ping(Bytes::from_static(b"beat")))
            .await
            .unwrap();
        ws.send(Message::Binary(channel::message(0, b"hello ").into()))
            .await
            .unwrap();
        ws.send(Message::Binary(channel::message(0, b"world").into()))
            .await
            .unwrap();
        ws.send(Message::Binary(vec![channel::CLOSE, channel::STDIN].into()))
            .await
            .unwrap();
        let mut by_channel: std::collections::BTreeMap<u8, Vec<u8>> = Default::default();
        let mut closed = false;
        let mut pong = false;
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                Message::Pong(p) => pong = &p[..] == b"beat",
                Message::Binary(b) => {
                    let (c, p) = channel::split(&b).unwrap();
                    by_channel.entry(c).or_default().extend_from_slice(p);
                }
                Message::Close(frame) => {
                    closed = frame.map(|f| f.code) == Some(CloseCode::Normal);
                    break;
                }
                _ => {}
            }
        }
        assert!(closed, "the relay ends with a normal close");
        assert!(pong, "the ping was answered");
        assert_eq!(by_channel[&channel::STDOUT], b"HELLO WORLD");
        assert_eq!(by_channel[&channel::STDERR], b"stdin closed");
        let status: Value = serde_json::from_slice(&by_channel[&channel::ERROR]).unwrap();
        assert_eq!(status["details"]["causes"][0]["message"], "3");
        assert!(relay.await.unwrap().is_ok());
        assert_eq!(node.await.unwrap(), ["error", "stdin", "stdout", "stderr"]);
    }

    #[tokio::test]
    async fn v4_terminal_sessions_carry_resizes_and_report_success() {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let (node_a, node_b) = tokio::io::duplex(1 << 16);
        // The node echoes each resize message on stdout, then ends with an empty error
        // stream (success, as a v4 SPDY server may report it).
        let node = tokio::spawn(async move {
            let (session, mut incoming) = Session::start(node_b, true);
            let mut by_kind = std::collections::HashMap::new();
            while by_kind.len() < 3 {
                let s = incoming.recv().await.expect("stream");
                s.accept().unwrap();
                by_kind.insert(
                    spdy::header(&s.headers, "streamtype").unwrap().to_owned(),
                    s,
                );
            }
            let mut resize = by_kind.remove("resize").unwrap();
            let stdout = by_kind.remove("stdout").unwrap();
            let error = by_kind.remove("error").unwrap();
            let first = resize.reader.read().await.unwrap();
            stdout.writer.write(&first).unwrap();
            stdout.writer.finish().unwrap();
            error.writer.finish().unwrap();
            session.close();
        });
        let relay = tokio::spawn(async move {
            let ws = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
            let (session, _) = Session::start(node_a, false);
            let streams = ExecStreams {
                stdin: false,
                stdout: true,
                stderr: false,
                tty: true,
            };
            relay_channels(ws, session, Version::V4, streams).await
        });
        let mut ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        // A malformed size is dropped; the good one gets through.
        ws.send(Message::Binary(
            channel::message(channel::RESIZE, b"junk").into(),
        ))
        .await
        .unwrap();
        ws.send(Message::Binary(
            channel::message(channel::RESIZE, b"{\"Width\":80,\"Height\":24}").into(),
        ))
        .await
        .unwrap();
        let mut by_channel: std::collections::BTreeMap<u8, Vec<u8>> = Default::default();
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                Message::Binary(b) => {
                    let (c, p) = channel::split(&b).unwrap();
                    by_channel.entry(c).or_default().extend_from_slice(p);
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        assert_eq!(
            by_channel[&channel::STDOUT],
            b"{\"Width\":80,\"Height\":24}"
        );
        let status: Value = serde_json::from_slice(&by_channel[&channel::ERROR]).unwrap();
        assert_eq!(status["status"], "Success");
        relay.await.unwrap().unwrap();
        node.await.unwrap();
    }

    #[tokio::test]
    async fn a_client_that_leaves_ends_the_node_session() {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let (node_a, node_b) = tokio::io::duplex(1 << 16);
        // A node whose process never ends: it only notices the session closing.
        let node = tokio::spawn(async move {
            let (session, mut incoming) = Session::start(node_b, true);
            let mut held = Vec::new();
            while let Some(s) = incoming.recv().await {
                s.accept().unwrap();
                held.push(s);
            }
            drop(held);
            session.is_closed()
        });
        let relay = tokio::spawn(async move {
            let ws = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
            let (session, _) = Session::start(node_a, false);
            let streams = ExecStreams {
                stdin: false,
                stdout: true,
                stderr: true,
                tty: false,
            };
            relay_channels(ws, session, Version::V5, streams).await
        });
        let mut ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        ws.close(None).await.unwrap();
        drop(ws);
        // A guard against a hang, far above what the relay needs.
        let ended = tokio::time::timeout(std::time::Duration::from_secs(60), relay).await;
        assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
        assert!(node.await.unwrap(), "the node's session was closed");
    }

    #[test]
    fn forward_ports_are_parsed_and_checked() {
        let q = |v: &[&str]| {
            v.iter()
                .map(|p| ("ports".to_owned(), p.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            forward_ports(&q(&["80", "8080,9090"])).unwrap(),
            [80, 8080, 9090]
        );
        assert_eq!(forward_ports(&q(&[])).unwrap_err().code, 400);
        assert_eq!(forward_ports(&q(&["0"])).unwrap_err().code, 400);
        assert_eq!(forward_ports(&q(&["70000"])).unwrap_err().code, 400);
    }

    #[tokio::test]
    async fn websocket_port_forward_channels_map_onto_spdy_stream_pairs() {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let (node_a, node_b) = tokio::io::duplex(1 << 16);
        // The node answers each data stream with its port and what it received.
        let node = tokio::spawn(async move {
            let (_session, mut incoming) = Session::start(node_b, true);
            let mut seen = Vec::new();
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let mut s = incoming.recv().await.expect("stream");
                s.accept().unwrap();
                let kind = spdy::header(&s.headers, "streamtype").unwrap().to_owned();
                let port = spdy::header(&s.headers, "port").unwrap().to_owned();
                seen.push((
                    kind.clone(),
                    port.clone(),
                    spdy::header(&s.headers, "requestid").unwrap().to_owned(),
                ));
                if kind == "data" {
                    tasks.push(tokio::spawn(async move {
                        let got = s.reader.read().await.unwrap();
                        let mut reply = format!("{port}:").into_bytes();
                        reply.extend_from_slice(&got);
                        s.writer.write(&reply).unwrap();
                        s.writer.finish().unwrap();
                    }));
                } else {
                    s.writer.finish().unwrap();
                }
            }
            for t in tasks {
                t.await.unwrap();
            }
            seen
        });
        let relay = tokio::spawn(async move {
            let ws = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
            let (session, _) = Session::start(node_a, false);
            relay_port_channels(ws, session, &[80, 8080]).await
        });
        let mut ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        ws.send(Message::Binary(channel::message(2, b"two").into()))
            .await
            .unwrap();
        ws.send(Message::Binary(channel::message(0, b"zero").into()))
            .await
            .unwrap();
        let mut by_channel: std::collections::BTreeMap<u8, Vec<u8>> = Default::default();
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                Message::Binary(b) => {
                    let (c, p) = channel::split(&b).unwrap();
                    by_channel.entry(c).or_default().extend_from_slice(p);
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        // Each channel opens with its port, little-endian.
        assert_eq!(by_channel[&0], b"\x50\x0080:zero");
        assert_eq!(by_channel[&1], b"\x50\x00");
        assert_eq!(by_channel[&2], b"\x90\x1f8080:two");
        assert_eq!(by_channel[&3], b"\x90\x1f");
        relay.await.unwrap().unwrap();
        let seen = node.await.unwrap();
        assert!(seen.contains(&("error".into(), "80".into(), "0".into())));
        assert!(seen.contains(&("data".into(), "8080".into(), "1".into())));
    }

    #[tokio::test]
    async fn the_port_forward_tunnel_carries_bytes_both_ways() {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let (node_a, mut node_b) = tokio::io::duplex(1 << 16);
        let tunnel = tokio::spawn(async move {
            let ws = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
            tunnel_bytes(ws, node_a).await;
        });
        let mut ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        ws.send(Message::Binary(Bytes::from_static(b"\x80\x03abc")))
            .await
            .unwrap();
        let mut got = [0u8; 5];
        node_b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"\x80\x03abc");
        node_b.write_all(b"reply").await.unwrap();
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => assert_eq!(&b[..], b"reply"),
            other => panic!("expected a binary message, got {other:?}"),
        }
        drop(node_b);
        tunnel.await.unwrap();
    }
}

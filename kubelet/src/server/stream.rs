//! Exec, attach and port-forward: the runtime hands out a single-use streaming URL for each
//! session, and the node server splices the caller's SPDY/3.1 connection onto it, passing
//! the offered `X-Stream-Protocol-Version`s through so both ends agree on the version.
//! Followed logs are streamed from here too.

use super::logs::{self, Formatter, LogOptions};
use super::{full, query_pairs, Body, Failure, NodeServer};
use crate::cri::Cri;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use k8s_cri::v1 as cri;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::net::TcpStream;

/// How long dialing the runtime's streaming server and its answer may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a followed log is checked for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

fn flag(pairs: &[(String, String)], name: &str) -> bool {
    pairs
        .iter()
        .any(|(n, v)| n == name && matches!(v.as_str(), "true" | "1" | "True" | "TRUE"))
}

fn is_spdy_upgrade(req: &Request<hyper::body::Incoming>) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("SPDY/3.1"))
}

/// `/exec/...` and `/attach/...`.
pub async fn exec_or_attach(
    server: &NodeServer,
    req: Request<hyper::body::Incoming>,
    kind: &str,
    ns: &str,
    pod: &str,
    container: &str,
) -> Result<Response<Body>, Failure> {
    if !is_spdy_upgrade(&req) {
        return Err(Failure::bad_request("Upgrade request required"));
    }
    let pairs = query_pairs(req.uri().query());
    let (stdin, stdout, stderr, tty) = (
        flag(&pairs, "stdin"),
        flag(&pairs, "stdout"),
        flag(&pairs, "stderr"),
        flag(&pairs, "tty"),
    );
    if !stdin && !stdout && !stderr {
        return Err(Failure::bad_request(
            "you must specify at least 1 of stdin, stdout, stderr",
        ));
    }
    let c = server.running_container(ns, pod, container).await?;
    let mut rt = server.cri.runtime.clone();
    let url = if kind == "exec" {
        let cmd: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| n == "command")
            .map(|(_, v)| v.clone())
            .collect();
        if cmd.is_empty() {
            return Err(Failure::bad_request("you must specify at least 1 command"));
        }
        rt.exec(cri::ExecRequest {
            container_id: c.id,
            cmd,
            tty,
            stdin,
            stdout,
            stderr: stderr && !tty,
        })
        .await
        .map_err(Failure::runtime)?
        .into_inner()
        .url
    } else {
        rt.attach(cri::AttachRequest {
            container_id: c.id,
            stdin,
            tty,
            stdout,
            stderr: stderr && !tty,
        })
        .await
        .map_err(Failure::runtime)?
        .into_inner()
        .url
    };
    splice(req, &url).await
}

/// `/portForward/{ns}/{pod}`.
pub async fn port_forward(
    server: &NodeServer,
    req: Request<hyper::body::Incoming>,
    ns: &str,
    pod: &str,
) -> Result<Response<Body>, Failure> {
    if !is_spdy_upgrade(&req) {
        return Err(Failure::bad_request("Upgrade request required"));
    }
    let sandbox = server.sandbox(ns, pod).await?;
    let url = server
        .cri
        .runtime
        .clone()
        .port_forward(cri::PortForwardRequest {
            pod_sandbox_id: sandbox.id,
            port: Vec::new(),
        })
        .await
        .map_err(Failure::runtime)?
        .into_inner()
        .url;
    splice(req, &url).await
}

/// Opens `url` with the caller's SPDY upgrade headers; on 101, answers the caller 101 and
/// copies bytes both ways until either side ends.
async fn splice(req: Request<hyper::body::Incoming>, url: &str) -> Result<Response<Body>, Failure> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| Failure::internal(format!("the runtime gave a bad streaming URL {url:?}")))?;
    let host = uri
        .authority()
        .ok_or_else(|| Failure::internal(format!("the streaming URL {url:?} has no host")))?
        .to_string();
    let path = uri
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    let mut builder = Request::post(&path)
        .header(header::HOST, &host)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "SPDY/3.1");
    for v in req.headers().get_all("x-stream-protocol-version") {
        builder = builder.header("X-Stream-Protocol-Version", v.clone());
    }
    let upstream_req = builder
        .body(Empty::<Bytes>::new())
        .map_err(|e| Failure::internal(e.to_string()))?;
    let dial = async {
        let tcp = TcpStream::connect(&host).await?;
        let _ = tcp.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        sender
            .send_request(upstream_req)
            .await
            .map_err(std::io::Error::other)
    };
    let resp = tokio::time::timeout(DIAL_TIMEOUT, dial)
        .await
        .map_err(|_| Failure::internal("the runtime's streaming server did not answer"))?
        .map_err(|e| Failure::internal(format!("dialing the runtime's streaming server: {e}")))?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        let code = resp.status().as_u16();
        let body = tokio::time::timeout(DIAL_TIMEOUT, resp.into_body().collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        return Err(Failure::new(
            if code >= 500 { 500 } else { 400 },
            if code >= 500 {
                "InternalError"
            } else {
                "BadRequest"
            },
            format!(
                "the runtime refused the stream ({code}): {}",
                String::from_utf8_lossy(&body).trim()
            ),
        ));
    }
    let chosen = resp.headers().get("x-stream-protocol-version").cloned();
    let on_caller = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(runtime) = hyper::upgrade::on(resp).await else {
            return;
        };
        let Ok(caller) = on_caller.await else { return };
        let mut a = TokioIo::new(caller);
        let mut b = TokioIo::new(runtime);
        let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
    });
    let mut out = Response::new(full(Bytes::new()));
    *out.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = out.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
    if let Some(v) = chosen {
        h.insert("X-Stream-Protocol-Version", v);
    }
    Ok(out)
}

/// The body of `/containerLogs`: what the file holds now, and with `follow` what is
/// appended until the container stops or the client goes away.
pub async fn log_body(
    cri: Cri,
    container_id: String,
    path: PathBuf,
    opts: LogOptions,
    follow: bool,
) -> std::io::Result<Body> {
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => Some(f),
        // A container that never wrote has no file yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut content = Vec::new();
    if let Some(f) = file.as_mut() {
        f.read_to_end(&mut content).await?;
    }
    // Only complete lines are rendered; a trailing fragment waits for the rest.
    let complete = content
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let mut pending = content.split_off(complete);
    let start = opts.tail_lines.map_or(0, |n| logs::tail_start(&content, n));
    let mut fmt = Formatter {
        timestamps: opts.timestamps,
        since: opts.since,
        budget: opts.limit_bytes,
    };
    let mut first = Vec::new();
    let more = fmt.render(&content[start..], &mut first);
    if !follow || !more {
        return Ok(full(first));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
        return Ok(full(Bytes::new()));
    }
    tokio::spawn(async move {
        let mut rt = cri.runtime.clone();
        let mut offset = content.len() as u64 + pending.len() as u64;
        let mut idle = Duration::ZERO;
        let mut stopped = false;
        loop {
            if tx.is_closed() {
                return;
            }
            if file.is_none() {
                file = tokio::fs::File::open(&path).await.ok();
            }
            let mut fresh = Vec::new();
            if let Some(f) = file.as_mut() {
                let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
                if len < offset {
                    // The file was replaced (rotation); start over at its beginning.
                    offset = 0;
                    pending.clear();
                }
                if f.seek(std::io::SeekFrom::Start(offset)).await.is_ok() {
                    let _ = f.read_to_end(&mut fresh).await;
                }
                offset += fresh.len() as u64;
            }
            if fresh.is_empty() {
                if stopped {
                    return;
                }
                idle += FOLLOW_POLL;
                if idle >= Duration::from_secs(1) {
                    idle = Duration::ZERO;
                    let running = rt
                        .container_status(cri::ContainerStatusRequest {
                            container_id: container_id.clone(),
                            verbose: false,
                        })
                        .await
                        .ok()
                        .and_then(|r| r.into_inner().status)
                        .is_some_and(|s| s.state == cri::ContainerState::ContainerRunning as i32);
                    if !running {
                        // One more pass reads what was written before it stopped.
                        stopped = true;
                        continue;
                    }
                }
                tokio::time::sleep(FOLLOW_POLL).await;
                continue;
            }
            idle = Duration::ZERO;
            pending.extend_from_slice(&fresh);
            let complete = pending
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1);
            let rest = pending.split_off(complete);
            let mut out = Vec::new();
            let more = fmt.render(&pending, &mut out);
            pending = rest;
            if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
                return;
            }
            if !more {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::io::Error>(Frame::data(b)), rx))
    });
    Ok(StreamBody::new(stream).boxed())
}

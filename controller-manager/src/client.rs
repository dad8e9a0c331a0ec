//! The controller manager's API client: every request and watch of the process shares one
//! HTTP/2 connection.
//!
//! Over HTTP/1.1 each watch holds a connection of its own and every burst of concurrent
//! requests (up to 64 pod creates per ReplicaSet sync, the garbage collector's workers, the
//! event writer) opens more, which then wait idle in the pool, each with its TLS state and
//! buffers, in this process and in the API server. Over HTTP/2 they are streams of one
//! connection. The API server offers HTTP/2 through ALPN; a server that does not gets
//! HTTP/1.1 as before. Keep-alive pings find a dead connection, so watches fail over to a new
//! listing instead of waiting forever.

use anyhow::{Context as _, Result};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::ConfigExt;
use std::time::Duration;
use tower::{BoxError, ServiceBuilder};

/// How often an idle HTTP/2 connection is pinged.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection counts as dead.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Idle HTTP/1.1 connections kept for reuse (only when the server refuses HTTP/2).
const MAX_IDLE_HTTP1: usize = 8;

/// A client for `config` (server, CA, client certificate or token) that prefers HTTP/2.
pub fn api_client(config: kube::Config) -> Result<kube::Client> {
    let tls = config
        .rustls_client_config()
        .context("building the TLS configuration")?;
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(config.connect_timeout);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    let transport: HttpClient<_, kube::client::Body> = HttpClient::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_max_idle_per_host(MAX_IDLE_HTTP1)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .http2_keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .http2_keep_alive_while_idle(true)
        .build(https);
    let auth = config
        .auth_layer()
        .context("building the authentication layer")?;
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(auth)
        .map_err(BoxError::from)
        .service(transport);
    Ok(kube::Client::new(service, config.default_namespace))
}

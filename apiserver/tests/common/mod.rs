//! A small HTTPS client, a server-process guard and a stock-kubectl runner for the API
//! server's black-box tests and benchmarks: HTTP/2 over TLS with the admin client
//! certificate, as kubectl connects.

#![allow(dead_code)]

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The pod the benchmarks create: about 1 KB of JSON with labels, an annotation, one container
/// with a command, a port, environment variables and resources.
pub fn bench_pod(name: &str) -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "web"}, "annotations": {"note": "x".repeat(200)}},
        "spec": {"containers": [{
            "name": "app", "image": "registry.local/bench/app:1.0",
            "command": ["/bin/app", "--serve"], "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "MODE", "value": "bench"}, {"name": "LEVEL", "value": "info"}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        }]},
    })
}

/// An HTTP/2 connection to the API server.
#[derive(Clone)]
pub struct Client {
    sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
}

impl Client {
    /// Connects to `addr` with the admin credentials in `data_dir/pki`.
    pub async fn connect(addr: &str, data_dir: &Path) -> anyhow::Result<Client> {
        let pki = data_dir.join("pki");
        let ca = std::fs::read(pki.join("ca.crt"))?;
        let cert = std::fs::read(pki.join("admin.crt"))?;
        let key = std::fs::read(pki.join("admin.key"))?;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&ca) {
            roots.add(c?)?;
        }
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&cert).collect::<Result<_, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(&key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost")?.to_owned(), tcp)
            .await?;
        // kubectl's flow-control windows (4 MiB per stream, 1 GiB per connection), so large
        // answers are not held back by a smaller window than real clients offer.
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(4 << 20)
            .initial_connection_window_size(1 << 30)
            .handshake(TokioIo::new(tls))
            .await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client { sender })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.send_full(method, path, body, "application/json").await
    }

    /// Sends one request and checks that the answer has status `want`; returns the answer's
    /// body as JSON (`Value::Null` when it is empty). A failed request, another status or a
    /// body that is not JSON panics with the request and the answer's text, so a failing
    /// test shows what the server said.
    pub async fn send_expecting(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        want: StatusCode,
    ) -> Value {
        let request = format!("{method} {path}");
        let (status, bytes) = self
            .send(method, path, body)
            .await
            .unwrap_or_else(|err| panic!("{request}: {err:#}"));
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(status, want, "{request}: {text}");
        if bytes.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|err| panic!("{request}: the answer is not JSON ({err}): {text}"))
    }

    /// Sends a bodiless request with the given Accept header.
    pub async fn send_with_accept(
        &self,
        method: Method,
        path: &str,
        accept: &str,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.send_full(method, path, None, accept).await
    }

    /// Sends a JSON body with the given Accept header.
    pub async fn send_full_accept(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        accept: &str,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.send_full(method, path, Some(body), accept).await
    }

    /// Sends a bodiless GET with the given headers and returns the status, the response
    /// headers and the body.
    pub async fn get_with_headers(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(StatusCode, http::HeaderMap, Bytes)> {
        let mut sender = self.sender.clone();
        sender.ready().await?;
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(format!("https://localhost{path}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::new()))?)
            .await?;
        let status = resp.status();
        let head = resp.headers().clone();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, head, body))
    }

    async fn send_full(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let bytes = body
            .map(|b| Bytes::from(serde_json::to_vec(b).unwrap_or_default()))
            .unwrap_or_default();
        self.send_raw(method, path, bytes, accept).await
    }

    /// Sends a JSON body that is already encoded and reads the whole answer.
    pub async fn send_encoded(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.send_raw(method, path, body, "application/json").await
    }

    /// Sends a PATCH with the given patch media type.
    pub async fn send_patch(
        &self,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.send_with_type(Method::PATCH, path, content_type, body)
            .await
    }

    /// Sends a body of any media type and reads the whole answer.
    pub async fn send_with_type(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut sender = self.sender.clone();
        sender.ready().await?;
        let req = Request::builder()
            .method(method)
            .uri(format!("https://localhost{path}"))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(Full::new(body))?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    async fn send_raw(
        &self,
        method: Method,
        path: &str,
        bytes: Bytes,
        accept: &str,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut sender = self.sender.clone();
        sender.ready().await?;
        let req = Request::builder()
            .method(method)
            .uri(format!("https://localhost{path}"))
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(Full::new(bytes))?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Opens a watch (`path` carries `watch=true` and its options) and returns its events.
    pub async fn watch(&self, path: &str) -> anyhow::Result<Events> {
        let mut sender = self.sender.clone();
        sender.ready().await?;
        let req = Request::builder()
            .method(Method::GET)
            .uri(format!("https://localhost{path}"))
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))?;
        let resp = sender.send_request(req).await?;
        anyhow::ensure!(
            resp.status() == StatusCode::OK,
            "watch answered {}",
            resp.status()
        );
        Ok(Events::new(resp.into_body()))
    }
}

/// Reads newline-delimited JSON events from a watch body.
pub struct Events {
    body: hyper::body::Incoming,
    buf: Vec<u8>,
}

impl Events {
    /// Wraps a watch body.
    pub fn new(body: hyper::body::Incoming) -> Self {
        Events {
            body,
            buf: Vec::new(),
        }
    }

    /// The next event, or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return serde_json::from_slice(&line).ok();
            }
            let frame = self.body.frame().await?.ok()?;
            if let Ok(data) = frame.into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }

    /// The next event within `limit`; a test fails instead of hanging when none comes or the
    /// stream ends.
    pub async fn next_within(&mut self, limit: std::time::Duration) -> Value {
        tokio::time::timeout(limit, self.next())
            .await
            .unwrap_or_else(|_| panic!("no watch event within {limit:?}"))
            .expect("the watch stays open")
    }
}

/// A running `berth-apiserver`, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts the server binary on a free port; `extra` are more flags (e.g. etcd servers).
    pub async fn start(data_dir: &Path, extra: &[String]) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let bin = std::env::var("BERTH_APISERVER_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_berth-apiserver").to_owned());
        let child = Command::new(bin)
            .arg("--data-dir")
            .arg(data_dir)
            .args([
                "--bind-address",
                "127.0.0.1",
                "--secure-port",
                &port.to_string(),
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = Server {
            child,
            addr: format!("127.0.0.1:{port}"),
            data_dir: data_dir.to_owned(),
        };
        server.wait_ready(Duration::from_secs(30)).await?;
        Ok(server)
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&self, within: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if let Ok(client) = Client::connect(&self.addr, &self.data_dir).await {
                if let Ok((status, _)) = client.send(Method::GET, "/readyz", None).await {
                    if status == StatusCode::OK {
                        return Ok(started.elapsed());
                    }
                }
            }
            anyhow::ensure!(
                started.elapsed() < within,
                "the API server was not ready within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A client of this server.
    pub async fn client(&self) -> anyhow::Result<Client> {
        Client::connect(&self.addr, &self.data_dir).await
    }

    /// SIGKILLs the server.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit.
    pub async fn terminate(&mut self, within: Duration) -> anyhow::Result<()> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(sent.success(), "kill -TERM {} failed", self.child.id());
        let started = Instant::now();
        while self.child.try_wait()?.is_none() {
            anyhow::ensure!(
                started.elapsed() < within,
                "the API server did not exit within {within:?} of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The process id, for RSS readings.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Resident set size of a process in KiB, from /proc.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Stock kubectl 1.`version` with one kubeconfig and a private discovery cache.
pub struct Kubectl {
    bin: String,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    /// kubectl `version` (such as `1.33`) with `kubeconfig`, its cache under `cache_root`;
    /// fails the test when that release is not installed.
    pub fn new(version: &str, kubeconfig: &Path, cache_root: &Path) -> Self {
        let bin = format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}");
        assert!(Path::new(&bin).exists(), "{bin} is needed for this test");
        let name = kubeconfig
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("kubeconfig");
        Kubectl {
            bin,
            kubeconfig: kubeconfig.to_owned(),
            cache: cache_root.join(format!("{version}-{name}")),
        }
    }

    /// Runs a command, whatever its outcome, with a 20 s request timeout.
    pub fn output(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .arg("--request-timeout=20s")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.bin))
    }

    /// Runs a command that must succeed and returns its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "{} {} failed:\n{}",
            self.bin,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail and returns its standard error.
    pub fn fail(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            !out.status.success(),
            "{} {} should have failed but printed:\n{}",
            self.bin,
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `get <what> -o json`, decoded.
    pub fn get(&self, what: &[&str]) -> Value {
        let mut args = vec!["get"];
        args.extend(what);
        args.extend(["-o", "json"]);
        let text = self.run(&args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("kubectl get {what:?}: {e}: {text}"))
    }
}

//! Berth's API server: the Kubernetes API over HTTPS, backed by the Berth store.
//!
//! Stock kubectl and client libraries drive it as they drive a Kubernetes v1.33 API server.
//! One generic [`registry::Registry`] implements every verb for every resource in the
//! catalog; [`strategy`] holds the few per-resource hooks. On first start it creates the
//! cluster PKI and an admin kubeconfig under its data directory.

pub mod admission;
pub mod allocator;
pub mod authn;
pub mod authz;
pub mod cache;
pub mod compactor;
pub mod discovery;
pub mod event_ttl;
pub mod field_validation;
pub mod handler;
pub mod identity;
pub mod jwt;
pub mod kubernetes_endpoints;
pub mod managed_fields;
pub mod metrics;
pub mod openapi;
pub mod patch;
pub mod pod_subresources;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod scale;
pub mod server;
pub mod serviceaccount;
pub mod status;
pub mod strategy;
pub mod streaming;
pub mod table;
pub mod watch;

use anyhow::{Context, Result};
use berth_component_base::{kubeconfig, pki};
use berth_store::DynStore;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// Command-line options of `berth-apiserver` (and `berth apiserver`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Directory for the embedded store, the PKI and the admin kubeconfig.
    #[arg(long, default_value = "/var/lib/berth")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
    /// HTTPS port.
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// The address other components and clients use to reach this server.
    #[arg(long)]
    pub advertise_address: Option<IpAddr>,
    /// etcd client URLs; without them the embedded SQLite store in the data directory is used.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// The service IP range; its first address is the `kubernetes` Service's.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// The NodePort range.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,
    /// Static bearer tokens, one `token,user,uid,"groups"` per line.
    #[arg(long)]
    pub token_auth_file: Option<PathBuf>,
    /// How long Events are kept after they were last observed.
    #[arg(long, default_value = "1h", value_parser = berth_component_base::duration::parse)]
    pub event_ttl: std::time::Duration,
    /// How often the store's history is compacted, keeping one interval of it; 0 turns
    /// compaction off.
    #[arg(long, default_value = "5m", value_parser = berth_component_base::duration::parse)]
    pub etcd_compaction_interval: std::time::Duration,
    /// The local node whose kubelet gets `kubelet.kubeconfig` (user `system:node:<name>`);
    /// the host name when not given.
    #[arg(long)]
    pub node_name: Option<String>,
}

/// A running API server, ready to serve.
pub struct Prepared {
    /// The listener, already bound.
    pub listener: tokio::net::TcpListener,
    /// The TLS configuration.
    pub tls: rustls::ServerConfig,
    /// The request handler.
    pub state: Arc<handler::ApiServer>,
    /// Where the admin kubeconfig was written.
    pub kubeconfig: PathBuf,
    /// The address it listens on.
    pub address: SocketAddr,
    /// The `kubernetes` endpoints reconciler: withdraw this server from them on a clean
    /// shutdown.
    pub endpoints: kubernetes_endpoints::Handle,
}

/// Opens the store, creates or loads the PKI, writes the admin kubeconfig, creates the
/// default namespaces, starts the Event expiry sweep and the store's compaction and binds the
/// port.
pub async fn prepare(opts: &Options) -> Result<Prepared> {
    std::fs::create_dir_all(&opts.data_dir)
        .with_context(|| format!("creating {}", opts.data_dir.display()))?;
    let metrics = Arc::new(metrics::Metrics::default());
    let store: DynStore = if opts.etcd_servers.is_empty() {
        let sqlite = Arc::new(berth_store::sqlite::SqliteStore::open(
            opts.data_dir.join("state.db"),
        )?);
        let weak = Arc::downgrade(&sqlite);
        metrics.set_writer_stats(move || weak.upgrade().map(|s| s.writer_stats()));
        sqlite
    } else {
        Arc::new(berth_store::etcd::EtcdStore::connect(&opts.etcd_servers).await?)
    };
    store.health().await.context("the store is not answering")?;
    let store: DynStore = Arc::new(metrics::TimedStore::new(store, metrics.clone()));
    let listener = tokio::net::TcpListener::bind((opts.bind_address, opts.secure_port))
        .await
        .with_context(|| format!("binding {}:{}", opts.bind_address, opts.secure_port))?;
    let address = listener.local_addr()?;
    let advertise = opts
        .advertise_address
        .unwrap_or(if opts.bind_address.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            opts.bind_address
        });

    // Parsed once: the first address goes into the serving certificate, the ranges into the
    // allocator.
    let ranges = allocator::ServiceRanges::parse(
        &opts.service_cluster_ip_range,
        &opts.service_node_port_range,
    )
    .map_err(anyhow::Error::msg)?;
    let pki_dir = opts.data_dir.join("pki");
    let ca = pki::ClusterCa::load_or_create(&pki_dir, "berth-ca")?;
    let mut ips = vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(ranges.first())];
    for ip in [opts.bind_address, advertise] {
        if !ip.is_unspecified() && !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    let dns: Vec<String> = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    .map(String::from)
    .to_vec();
    // The serving certificate is cheap to make; a fresh one each start always has the
    // current addresses.
    let serving = ca.issue_server("berth-apiserver", &dns, &ips)?;
    pki::write_public(&pki_dir.join("apiserver.crt"), &serving.cert_pem)?;
    pki::write_private(&pki_dir.join("apiserver.key"), &serving.key_pem)?;
    let sa_key = pki_dir.join("sa.key");
    if !sa_key.exists() {
        pki::write_private(&sa_key, &pki::generate_signing_key()?)?;
    }
    let service_accounts = serviceaccount::ServiceAccountTokens::from_pem(&pki::read(&sa_key)?)
        .with_context(|| format!("loading the service-account key {}", sa_key.display()))?;
    // The kubeconfigs name an address the server listens on: the bind address when it is one
    // address, the advertised one when it listens on all.
    let reachable = if opts.bind_address.is_unspecified() {
        advertise
    } else {
        opts.bind_address
    };
    let server_url = format!("https://{}", SocketAddr::new(reachable, address.port()));
    let kubeconfig_path = opts.data_dir.join("admin.kubeconfig");
    for client in CLIENT_KUBECONFIGS {
        let cert = load_or_issue_client(&ca, &pki_dir, client.file, client.user, client.groups)?;
        pki::write_private(
            &opts.data_dir.join(format!("{}.kubeconfig", client.file)),
            &kubeconfig::render("berth", &server_url, ca.cert_pem(), client.user, &cert),
        )?;
    }
    // The local node's kubelet: its certificate is kept per node name, so renaming the node
    // issues a new one rather than reusing a certificate for another identity.
    let node_name = opts
        .node_name
        .clone()
        .unwrap_or_else(berth_component_base::default_node_name);
    let node_user = format!("system:node:{node_name}");
    let kubelet_cert = load_or_issue_client(
        &ca,
        &pki_dir,
        &format!("kubelet-{node_name}"),
        &node_user,
        &["system:nodes"],
    )?;
    pki::write_private(
        &opts.data_dir.join("kubelet.kubeconfig"),
        &kubeconfig::render(
            "berth",
            &server_url,
            ca.cert_pem(),
            &node_user,
            &kubelet_cert,
        ),
    )?;

    // The identity node servers accept for logs, exec, attach and port-forward.
    let kubelet_client = load_or_issue_client(
        &ca,
        &pki_dir,
        "apiserver-kubelet-client",
        streaming::kubelet::KUBELET_CLIENT_USER,
        &["system:masters"],
    )?;

    let tokens = match &opts.token_auth_file {
        Some(path) => authn::TokenFile::load(path)?,
        None => authn::TokenFile::default(),
    };
    let alloc = allocator::Allocator::new(store.clone(), ranges);
    let registry = registry::Registry::new(store.clone())
        .with_allocator(alloc.clone())
        .with_cache(cache::WatchCache::start(store));
    create_default_namespaces(&registry).await?;
    create_system_priority_classes(&registry).await?;
    ensure_kubernetes_service(&registry, &alloc, address.port()).await?;
    if advertise.is_loopback() {
        tracing::info!("advertise address is loopback: the kubernetes Endpoints list no address of this server");
    }
    let endpoints = kubernetes_endpoints::Reconciler {
        registry: registry.clone(),
        hostname: berth_component_base::default_node_name(),
        endpoint: SocketAddr::new(advertise, address.port()),
    }
    .start();
    tokio::spawn(event_ttl::run(registry.clone(), opts.event_ttl));
    tokio::spawn(compactor::run(
        registry.store().clone(),
        opts.etcd_compaction_interval,
    ));
    let state = Arc::new(handler::ApiServer {
        registry,
        tokens,
        server_address: SocketAddr::new(advertise, address.port()).to_string(),
        metrics,
        service_accounts,
        authorizer: Arc::new(authz::AllowAuthenticated),
        kubelet: Some(Arc::new(
            streaming::kubelet::KubeletClient::new(ca.cert_pem(), &kubelet_client)
                .map_err(anyhow::Error::msg)?,
        )),
    });
    let tls = server::tls_config(ca.cert_pem(), &serving)?;
    Ok(Prepared {
        listener,
        tls,
        state,
        kubeconfig: kubeconfig_path,
        address,
        endpoints,
    })
}

/// A client identity the first start issues, with the kubeconfig written for it.
struct ClientKubeconfig {
    /// File stem of the certificate, key (under `pki/`) and kubeconfig (in the data dir).
    file: &'static str,
    /// The user (certificate common name).
    user: &'static str,
    /// The groups (certificate organizations).
    groups: &'static [&'static str],
}

/// The kubeconfigs written under the data directory: the administrator's and one per
/// control-plane component.
const CLIENT_KUBECONFIGS: &[ClientKubeconfig] = &[
    ClientKubeconfig {
        file: "admin",
        user: "kubernetes-admin",
        groups: &["system:masters"],
    },
    ClientKubeconfig {
        file: "controller-manager",
        user: "system:kube-controller-manager",
        groups: &[],
    },
    ClientKubeconfig {
        file: "scheduler",
        user: "system:kube-scheduler",
        groups: &[],
    },
];

/// The client certificate `pki/<file>.crt` for `user` in `groups`, issued by the cluster CA
/// on the first start and kept.
fn load_or_issue_client(
    ca: &pki::ClusterCa,
    pki_dir: &std::path::Path,
    file: &str,
    user: &str,
    groups: &[&str],
) -> Result<pki::CertKey> {
    let cert_path = pki_dir.join(format!("{file}.crt"));
    let key_path = pki_dir.join(format!("{file}.key"));
    if cert_path.exists() && key_path.exists() {
        return Ok(pki::CertKey {
            cert_pem: pki::read(&cert_path)?,
            key_pem: pki::read(&key_path)?,
        });
    }
    let cert = ca.issue_client(user, groups)?;
    pki::write_public(&cert_path, &cert.cert_pem)?;
    pki::write_private(&key_path, &cert.key_pem)?;
    Ok(cert)
}

async fn create_default_namespaces(registry: &registry::Registry) -> Result<()> {
    let namespaces =
        berth_api_types::catalog::find("", "namespaces").context("catalog lacks namespaces")?;
    let r = request::ResourceRequest {
        resource: namespaces,
        namespace: None,
        name: None,
        subresource: None,
        verb: "create",
    };
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match registry.create(&r, body, false).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => anyhow::bail!("creating namespace {name}: {}", e.message),
        }
    }
    Ok(())
}

async fn create_system_priority_classes(registry: &registry::Registry) -> Result<()> {
    let r = resource_request("scheduling.k8s.io", "priorityclasses", None, "create")?;
    for (name, _, _) in admission::SYSTEM_PRIORITY_CLASSES {
        let body = admission::system_priority_class(name).context("built-in class")?;
        match registry.create(&r, body, false).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => anyhow::bail!("creating PriorityClass {name}: {}", e.message),
        }
    }
    Ok(())
}

fn resource_request(
    group: &str,
    plural: &str,
    namespace: Option<&str>,
    verb: &'static str,
) -> Result<request::ResourceRequest> {
    Ok(request::ResourceRequest {
        resource: berth_api_types::catalog::find(group, plural)
            .with_context(|| format!("catalog lacks {plural}"))?,
        namespace: namespace.map(str::to_owned),
        name: None,
        subresource: None,
        verb,
    })
}

/// Creates the `kubernetes` Service in `default` on the first service address; its
/// Endpoints and EndpointSlice are kept by [`kubernetes_endpoints`].
async fn ensure_kubernetes_service(
    registry: &registry::Registry,
    alloc: &allocator::Allocator,
    port: u16,
) -> Result<()> {
    let svc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": alloc.ranges().first().to_string(),
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "sessionAffinity": "None",
        },
    });
    let services = resource_request("", "services", Some("default"), "create")?;
    match registry.get(&services, "kubernetes").await {
        Ok(_) => {}
        Err(e) if e.code == 404 => {
            // The first address is reserved for this Service; claim it before creating.
            alloc
                .claim_first(&svc)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            // Created with the reserved address set directly, bypassing allocation.
            let services_raw = registry::Registry::new(registry.store().clone());
            let mut with_ip = svc.clone();
            with_ip["spec"]["clusterIPs"] = serde_json::json!([alloc.ranges().first().to_string()]);
            with_ip["spec"]["ipFamilies"] = serde_json::json!(["IPv4"]);
            with_ip["spec"]["ipFamilyPolicy"] = serde_json::json!("SingleStack");
            match services_raw.create(&services, with_ip, false).await {
                Ok(_) => {}
                Err(e) if e.code == 409 => {}
                Err(e) => anyhow::bail!("creating the kubernetes Service: {}", e.message),
            }
        }
        Err(e) => anyhow::bail!("reading the kubernetes Service: {}", e.message),
    }
    Ok(())
}

/// Runs the API server until SIGINT or SIGTERM.
pub async fn run(opts: Options) -> Result<()> {
    let started = std::time::Instant::now();
    let prepared = prepare(&opts).await?;
    tracing::info!(
        address = %prepared.address,
        kubeconfig = %prepared.kubeconfig.display(),
        ready_ms = started.elapsed().as_millis() as u64,
        "berth-apiserver is serving"
    );
    let served = server::serve(
        prepared.listener,
        prepared.tls,
        prepared.state,
        berth_component_base::shutdown_signal(),
    )
    .await;
    prepared.endpoints.withdraw().await;
    served?;
    Ok(())
}

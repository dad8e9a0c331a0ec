//! What two or more Berth binaries share: the cluster PKI (certificates signed by the cluster
//! CA), kubeconfig files, leader election on Leases, Go-style duration flags, shared copies
//! of repeating values, the `main` of the component binaries, tracing setup, the shutdown
//! signal and fast memory copies on AMD machines.

pub mod duration;
pub mod intern;
pub mod kubeconfig;
pub mod leader_election;
pub mod memcpy;
pub mod pki;

/// The machine's host name, lowercased, as a default node name: what the kernel reports in
/// `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `localhost`.
pub fn default_node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The whole `main` of a component binary (`berth-apiserver`, `berth-controller-manager`,
/// `berth-scheduler`, `berth-kubelet`): vector memory copies first (this may re-execute the
/// process, see [`memcpy`]), then a multi-threaded tokio runtime in which tracing is set up,
/// the command line is parsed into `C` (a bad one exits with clap's message) and `run` runs
/// to its end.
pub fn run_component<C, F, Fut, E>(run: F) -> Result<(), E>
where
    C: clap::Parser,
    F: FnOnce(C) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: From<std::io::Error>,
{
    memcpy::prefer_vector_copies();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        init_tracing();
        run(C::parse()).await
    })
}

/// Sets up `tracing` output on stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests, the all-in-one binary) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves when the process is asked to stop (SIGINT or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

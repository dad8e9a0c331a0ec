//! `berth-apiserver`: the Berth API server as its own process.

use clap::Parser;

// An allocator that hands freed memory back to the system promptly: after a large LIST the
// server's resident memory falls back instead of staying at its peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "berth-apiserver", version, about = "The Berth API server")]
struct Cli {
    #[command(flatten)]
    options: berth_apiserver::Options,
}

fn main() -> anyhow::Result<()> {
    berth_component_base::run_component(|cli: Cli| berth_apiserver::run(cli.options))
}

//! `berth-kubelet`: the Berth node agent as its own process.

use clap::Parser;

// An allocator that hands freed memory back to the system promptly (see berth-apiserver).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "berth-kubelet", version, about = "The Berth node agent")]
struct Cli {
    #[command(flatten)]
    options: berth_kubelet::run::Options,
}

fn main() -> anyhow::Result<()> {
    berth_component_base::run_component(|cli: Cli| berth_kubelet::run::run(cli.options))
}

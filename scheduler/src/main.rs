//! `berth-scheduler`: the Berth scheduler as its own process.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "berth-scheduler", version, about = "The Berth scheduler")]
struct Cli {
    #[command(flatten)]
    options: berth_scheduler::run::Options,
}

fn main() -> anyhow::Result<()> {
    berth_component_base::run_component(|cli: Cli| berth_scheduler::run::run(cli.options))
}

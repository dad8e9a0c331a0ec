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
    berth_component_base::memcpy::prefer_vector_copies();
    run()
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    berth_component_base::init_tracing();
    let cli = Cli::parse();
    berth_scheduler::run::run(cli.options).await
}

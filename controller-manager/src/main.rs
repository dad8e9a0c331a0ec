//! `berth-controller-manager`: Berth's controllers as their own process.

use clap::Parser;

// An allocator that hands freed memory back to the system promptly (see berth-apiserver).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "berth-controller-manager",
    version,
    about = "The Berth controller manager"
)]
struct Cli {
    #[command(flatten)]
    options: berth_controller_manager::Options,
}

fn main() -> anyhow::Result<()> {
    berth_component_base::memcpy::prefer_vector_copies();
    run()
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    berth_component_base::init_tracing();
    let cli = Cli::parse();
    berth_controller_manager::run(cli.options).await
}

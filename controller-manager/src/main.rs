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
    berth_component_base::run_component(|cli: Cli| berth_controller_manager::run(cli.options))
}

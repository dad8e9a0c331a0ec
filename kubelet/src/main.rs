//! `berth-kubelet`: the Berth node agent as its own process.

use clap::Parser;

#[derive(Parser)]
#[command(name = "berth-kubelet", version, about = "The Berth node agent")]
struct Cli {
    #[command(flatten)]
    options: berth_kubelet::run::Options,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    berth_component_base::init_tracing();
    let cli = Cli::parse();
    berth_kubelet::run::run(cli.options).await
}

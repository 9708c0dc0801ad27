use projectors::{Config, SERVICE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = settings::load_or_exit(SERVICE);
    telemetry::init_tracing(SERVICE);
    let projectors = projectors::build(config).await?;
    projectors.run_until(probes::shutdown_signal()).await?;
    Ok(())
}

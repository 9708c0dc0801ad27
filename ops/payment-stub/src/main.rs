use payment_stub::{Config, SERVICE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = settings::load_or_exit(SERVICE);
    telemetry::init_tracing(SERVICE);
    let service = payment_stub::build(config).await?;
    service.run_until(probes::shutdown_signal()).await?;
    Ok(())
}

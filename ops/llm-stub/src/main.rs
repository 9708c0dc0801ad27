//! The stub upstream providers, as a service.

use llm_stub::{Config, SERVICE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = settings::load_or_exit(SERVICE);
    telemetry::init_tracing(SERVICE);
    let service = llm_stub::build(config).await?;
    service.run_until(probes::shutdown_signal()).await?;
    Ok(())
}

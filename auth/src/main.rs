//! The auth service.

use auth::{Config, SERVICE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = settings::load_or_exit(SERVICE);
    telemetry::init_tracing(SERVICE);
    auth::build(config)
        .await?
        .run_until(probes::shutdown_signal())
        .await?;
    Ok(())
}

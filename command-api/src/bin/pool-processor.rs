//! The pool processor: the single writer per partition of the token-pool topics.

use command_api::processor::PoolKind;
use command_api::{ProcessorConfig, run_processor_service};

const SERVICE: &str = "pool-processor";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: ProcessorConfig = settings::load_or_exit(SERVICE);
    telemetry::init_tracing(SERVICE);
    run_processor_service::<PoolKind>(
        SERVICE,
        config.pool_processor.listen,
        config.kafka,
        config.schema_registry,
    )
    .await
}

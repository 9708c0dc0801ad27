//! The purchase processor: the single writer per partition of the purchase topics.

use command_api::processor::PurchaseKind;
use command_api::{PurchaseProcessorConfig, run_processor_service};

const SERVICE: &str = "purchase-processor";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: PurchaseProcessorConfig = settings::load_or_exit(SERVICE);
    telemetry::init_tracing(SERVICE);
    run_processor_service::<PurchaseKind>(
        SERVICE,
        config.purchase_processor.listen,
        config.kafka,
        config.schema_registry,
    )
    .await
}

//! The pool processor: the single writer per partition of the token-pool topics.

use command_api::processor::{self, Batching};
use command_api::{ProcessorConfig, probes_service};
use tokio::sync::watch;

const SERVICE: &str = "pool-processor";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: ProcessorConfig = settings::load_or_exit(SERVICE);
    telemetry::init_tracing(SERVICE);
    let probes = probes_service(
        SERVICE,
        config.pool_processor.listen,
        &config.kafka,
        &config.schema_registry,
    )
    .await?;

    // The processor stops between batches; the probes stop once it has.
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        probes::shutdown_signal().await;
        let _ = stop.send(true);
    });
    let mut until_signal = stopped.clone();
    let processor = processor::run(
        config.kafka,
        config.schema_registry,
        Batching::default(),
        async move {
            let _ = until_signal.wait_for(|stop| *stop).await;
        },
    );
    let (processed, served) = tokio::join!(processor, async move {
        let mut until_stopped = stopped;
        probes
            .run_until(async move {
                let _ = until_stopped.wait_for(|stop| *stop).await;
            })
            .await
    });
    served?;
    processed
}

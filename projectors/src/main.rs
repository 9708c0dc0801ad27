use projectors::{Config, SERVICE};

/// `projectors` runs every projection; `projectors rebuild <projection>` rebuilds one into
/// a fresh copy and swaps it in, then exits.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = settings::load_or_exit(SERVICE);
    telemetry::init_tracing(SERVICE);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("rebuild") {
        let Some(projection) = args.get(1) else {
            eprintln!(
                "usage: projectors rebuild <projection>   (projection: {})",
                projectors::rebuild::REBUILDABLE
            );
            std::process::exit(2);
        };
        return projectors::rebuild::rebuild(config, projection).await;
    }
    let projectors = projectors::build(config).await?;
    projectors.run_until(probes::shutdown_signal()).await?;
    Ok(())
}

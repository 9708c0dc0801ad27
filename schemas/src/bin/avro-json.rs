//! `leaky-avro-json`: decodes kcat's raw output of Avro topics into JSON lines.
//! See `schemas::avro_json` (and `schemas/README.md`) for the recipe.

use std::io::{self, BufReader};
use std::process::ExitCode;

use schemas::avro_json::{Options, REGISTRY_ENV, UsageError, run};

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1), std::env::var(REGISTRY_ENV).ok()) {
        Ok(options) => options,
        Err(UsageError::Help) => {
            println!("{}", UsageError::Help);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("leaky-avro-json: {error}");
            return ExitCode::from(2);
        }
    };
    let input = BufReader::new(io::stdin().lock());
    match run(&options, input, io::stdout().lock()) {
        Ok(summary) if summary.failed == 0 => ExitCode::SUCCESS,
        Ok(summary) => {
            eprintln!(
                "leaky-avro-json: {} of {} records did not decode",
                summary.failed, summary.records
            );
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("leaky-avro-json: {error}");
            ExitCode::from(2)
        }
    }
}

//! Acceptance: the official OpenAI Python SDK, pointed at the gateway, completes a plain and
//! a streamed chat against the stub provider, and the pool is debited by exactly the usage
//! the provider reported (read back from the pool's events).
//!
//! The SDK is installed by `tests/sdk/setup-venv` into a virtualenv under Cargo's test
//! scratch directory (needs `python3` with `venv` and access to PyPI once).

mod support;

use std::path::Path;
use std::process::Command;

use domain::Tier;
use serde_json::Value;
use support::Deployment;
use support::log::{Fate, fate_of};

const SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk");

fn python_with_openai() -> String {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openai-venv");
    let setup = Command::new(format!("{SDK_DIR}/setup-venv"))
        .arg(&venv)
        .status()
        .expect("setup-venv runs");
    assert!(setup.success(), "could not install the OpenAI SDK");
    venv.join("bin/python").display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openai_sdk_chats_through_the_gateway_and_the_pool_pays_the_reported_usage() {
    let python = tokio::task::spawn_blocking(python_with_openai)
        .await
        .unwrap();
    let deployment = Deployment::start(&[]).await;
    deployment
        .pool_with("user:alice/openai", Tier::User, 10_000)
        .await;

    let base_url = deployment.url("");
    let output = tokio::process::Command::new(&python)
        .arg(format!("{SDK_DIR}/chat.py"))
        .arg(&base_url)
        .arg(deployment.alice.trim_start_matches("Bearer "))
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "the SDK script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();

    for call in ["plain", "stream"] {
        let seen = &result[call];
        assert_eq!(
            seen["text"],
            "the stub says ok and more word text for you the stub says ok and more"
        );
        let id = seen["request_id"].as_str().unwrap();
        let reported = deployment.reported(id).expect("the stub delivered usage");
        assert_eq!(
            seen["total_tokens"].as_u64(),
            Some(reported),
            "{call}: the SDK saw the usage"
        );
        match fate_of(&deployment.kafka, id).await {
            Fate::Settled { consumed, .. } => assert_eq!(consumed, reported, "{call}"),
            other => panic!("{call}: expected a settlement, got {other:?}"),
        }
    }
}

//! Schema evolution rules: the `.avsc` files are every published version, each version can
//! read what all earlier ones wrote (checked here and by the real registry), the newest is
//! the one the code uses, and the check does refuse a breaking change.

use std::path::Path;

use schema_registry_converter::async_impl::schema_registry::{SrSettings, post_schema};
use schema_registry_converter::schema_registry_common::{SchemaType, SuppliedSchema};
use schemas::compat::{CompatError, check_history, check_published};
use schemas::{TopicKind, current_schema};
use serde_json::{Value, json};

#[test]
fn the_avsc_files_are_the_published_versions_and_the_newest_is_the_one_in_use() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("avro");
    for kind in TopicKind::ALL {
        let mut files: Vec<String> = std::fs::read_dir(root.join(kind.suffix()))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort_by_key(|name| {
            name.trim_start_matches('v')
                .trim_end_matches(".avsc")
                .parse::<usize>()
                .unwrap()
        });
        let expected: Vec<String> = (1..=files.len()).map(|n| format!("v{n}.avsc")).collect();
        assert_eq!(
            files, expected,
            "{kind}: versions must be v1.avsc..vN.avsc, none missing"
        );

        let embedded = kind.versions();
        assert_eq!(
            embedded.len(),
            files.len(),
            "{kind}: add the new file to TopicKind::versions"
        );
        for (file, text) in files.iter().zip(embedded) {
            let on_disk = std::fs::read_to_string(root.join(kind.suffix()).join(file)).unwrap();
            assert_eq!(
                &on_disk, text,
                "{kind}/{file} differs from the embedded version"
            );
        }
        let newest = apache_avro::Schema::parse_str(embedded.last().unwrap()).unwrap();
        assert_eq!(kind.current(), *embedded.last().unwrap());
        assert_eq!(
            current_schema(kind).unwrap().canonical_form(),
            newest.canonical_form()
        );
        assert_eq!(newest.name().unwrap().fullname(None), kind.record_name());
    }
}

#[test]
fn every_version_reads_everything_all_earlier_versions_wrote() {
    check_published().unwrap();
}

/// The commands v1 schema with `change` applied to its JSON.
fn changed(change: impl FnOnce(&mut Value)) -> String {
    let mut schema: Value = serde_json::from_str(TopicKind::PoolCommands.current()).unwrap();
    change(&mut schema);
    schema.to_string()
}

fn fields(schema: &mut Value) -> &mut Vec<Value> {
    schema["fields"].as_array_mut().unwrap()
}

fn command_union(schema: &mut Value) -> &mut Vec<Value> {
    schema["fields"][6]["type"].as_array_mut().unwrap()
}

/// Breaking changes: a new field without default, a removed union branch, a removed symbol.
fn breaking() -> Vec<(&'static str, String)> {
    vec![
        (
            "a new field without default",
            changed(|s| fields(s).push(json!({"name": "origin", "type": "string"}))),
        ),
        (
            "a removed union branch",
            changed(|s| command_union(s).retain(|b| b["name"] != "Consume")),
        ),
        (
            "a removed enum symbol",
            changed(|s| {
                let tier = &mut command_union(s)[0]["fields"][1]["type"]["symbols"];
                tier.as_array_mut()
                    .unwrap()
                    .retain(|symbol| symbol != "ADMIN");
            }),
        ),
    ]
}

/// A compatible change: a new field with default, a new branch, a new symbol, all at once.
fn compatible() -> String {
    changed(|s| {
        fields(s).push(json!({"name": "origin", "type": "string", "default": "api"}));
        let union = command_union(s);
        union.push(json!({"type": "record", "name": "Freeze", "fields": []}));
        let tier = &mut union[0]["fields"][1]["type"]["symbols"];
        tier.as_array_mut().unwrap().push(json!("TRIAL"));
    })
}

#[test]
fn the_check_refuses_a_breaking_v2_and_accepts_a_compatible_one() {
    let v1 = TopicKind::PoolCommands.current();
    for (what, v2) in breaking() {
        let error = check_history(TopicKind::PoolCommands, &[v1, &v2]).unwrap_err();
        assert!(
            matches!(
                error,
                CompatError::NotBackward {
                    writer: 1,
                    reader: 2,
                    ..
                }
            ),
            "{what}: {error}"
        );
    }
    let v2 = compatible();
    check_history(TopicKind::PoolCommands, &[v1, &v2]).unwrap();
    // Transitive: v3 reads v2 (which always has `origin`) but not v1 (which never had it).
    let with_default =
        changed(|s| fields(s).push(json!({"name": "origin", "type": "string", "default": "api"})));
    let (_, without_default) = breaking().remove(0);
    let error = check_history(
        TopicKind::PoolCommands,
        &[v1, &with_default, &without_default],
    );
    assert!(
        matches!(
            error,
            Err(CompatError::NotBackward {
                writer: 1,
                reader: 3,
                ..
            })
        ),
        "{error:?}"
    );
}

fn registry() -> SrSettings {
    SrSettings::new(testkit::infra().registry.url.to_string())
}

/// A fresh subject that checks every new schema against all earlier ones, like `check_history`.
async fn transitive_subject(name: &str) -> String {
    let subject = format!("{}-value", testkit::unique(name));
    let url = format!("{}/config/{subject}", testkit::infra().registry.url);
    let response = reqwest::Client::new()
        .put(url)
        .json(&json!({"compatibility": "BACKWARD_TRANSITIVE"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    subject
}

async fn register(subject: &str, schema: &str) -> Result<u32, String> {
    let supplied = SuppliedSchema::new(None, SchemaType::Avro, schema.to_owned());
    post_schema(&registry(), subject.to_owned(), supplied)
        .await
        .map(|registered| registered.id)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_registry_accepts_every_published_history_in_order() {
    for kind in TopicKind::ALL {
        let subject =
            transitive_subject(&format!("compat-{}", kind.suffix().replace('.', "-"))).await;
        for (version, schema) in (1..).zip(kind.versions()) {
            register(&subject, schema)
                .await
                .unwrap_or_else(|e| panic!("{kind} v{version} refused: {e}"));
        }
    }
}

#[tokio::test]
async fn the_registry_agrees_with_the_check_on_breaking_and_compatible_changes() {
    for (what, v2) in breaking() {
        let subject = transitive_subject("compat-breaking").await;
        register(&subject, TopicKind::PoolCommands.current())
            .await
            .unwrap();
        assert!(
            register(&subject, &v2).await.is_err(),
            "the registry accepted {what}"
        );
    }
    let subject = transitive_subject("compat-compatible").await;
    register(&subject, TopicKind::PoolCommands.current())
        .await
        .unwrap();
    register(&subject, &compatible()).await.unwrap();
}

//! The auth log against real Kafka and the real schema registry: events are Avro, under
//! the subject `<prefix>auth.events-value`, and read back equal; a record that can never be
//! read is skipped (and counted) without losing the events after it; and while the
//! registry cannot be reached a follower waits rather than skip what it cannot read yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use auth::directory::Directory;
use auth::log::{Appender, ensure_topic, follow, topic};
use domain::{AuthEvent, OrgId, Role, Timestamp, UserId};
use eventlog::{ClientRole, client_config};
use rdkafka::producer::{FutureProducer, FutureRecord};
use schemas::AuthCodec;
use settings::{KafkaSettings, RegistrySettings};
use tokio::net::{TcpListener, TcpStream};

/// A deployment of its own: topics no other test reads.
async fn deployment() -> KafkaSettings {
    let kafka = KafkaSettings {
        topic_prefix: format!("{}.", testkit::unique("auth-log")),
        ..testkit::infra().kafka
    };
    ensure_topic(&kafka).await.unwrap();
    kafka
}

fn registry() -> RegistrySettings {
    testkit::infra().registry
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

fn alice() -> UserId {
    UserId::parse("alice").unwrap()
}

const KEY_HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// One of every event: alice registers as PRO, joins an org, creates a key, revokes it.
fn history() -> Vec<AuthEvent> {
    vec![
        AuthEvent::UserRegistered {
            user: alice(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role: Role::Pro,
            at: at(1_700_000_000_000),
        },
        AuthEvent::OrgMembershipGranted {
            user: alice(),
            org: OrgId::parse("acme").unwrap(),
            at: at(1_700_000_000_001),
        },
        AuthEvent::ApiKeyCreated {
            user: alice(),
            key_id: "k1".into(),
            sha256: KEY_HASH.into(),
            name: "laptop".into(),
            at: at(1_700_000_000_002),
        },
        AuthEvent::ApiKeyRevoked {
            user: alice(),
            key_id: "k1".into(),
            at: at(1_700_000_000_003),
        },
    ]
}

/// Asserts that `directory` is what [`history`] makes of an empty one.
fn assert_history_applied(directory: &Directory) {
    let user = directory.user(&alice()).expect("alice is registered");
    assert_eq!(user.role, Role::Pro, "the first registration wins");
    assert!(user.orgs.contains(&OrgId::parse("acme").unwrap()));
    let keys = directory.keys_of(&alice());
    assert_eq!((keys.len(), keys[0].0), (1, "k1"));
    assert!(keys[0].1.revoked, "the revocation was applied");
    assert!(directory.live_key(KEY_HASH).is_none());
}

async fn append_history(kafka: &KafkaSettings) {
    let appender = Appender::new(kafka, &registry()).unwrap();
    for event in history() {
        appender.append(&event).await.unwrap();
    }
}

/// Writes `value` to the log as is, bypassing the codec.
async fn append_raw(kafka: &KafkaSettings, key: &str, value: &[u8]) {
    let producer: FutureProducer = client_config(kafka, &ClientRole::Producer)
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::to(&topic(kafka))
                .key(key)
                .payload(value)
                .partition(0),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn appended_events_are_avro_of_the_topic_subject_and_read_back_equal() {
    let kafka = deployment().await;
    append_history(&kafka).await;

    let subject = format!("{}auth.events-value", kafka.topic_prefix);
    let url = format!("{}/subjects/{subject}/versions", registry().url);
    let response = reqwest::get(&url).await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let versions: Vec<u32> = response.json().await.unwrap();
    assert_eq!(versions.len(), 1, "one schema registered under {subject}");

    let codec = AuthCodec::new(&registry()).unwrap();
    let records = eventlog::read_topic(&kafka, &topic(&kafka), 1)
        .await
        .unwrap();
    assert_eq!(records.len(), history().len());
    for (record, event) in records.iter().zip(history()) {
        let value = record.value.as_deref().unwrap();
        assert_eq!(value[0], 0, "Confluent magic byte, not JSON");
        assert_eq!(
            record.key.as_deref(),
            Some(&b"alice"[..]),
            "keyed by user id"
        );
        assert_eq!(codec.decode_event(value).await.unwrap(), event);
    }

    let view = follow(&kafka, &registry()).await.unwrap();
    view.read(assert_history_applied);
    assert_eq!(view.skipped_records().get(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_skips_a_record_that_is_not_avro_and_applies_the_events_after_it() {
    let kafka = deployment().await;
    // What a development machine's log holds from when its values were JSON: an ADMIN
    // registration that, were it read, would win over the PRO one after it.
    let json =
        br#"{"type":"UserRegistered","user":"alice","password_hash":"h","role":"ADMIN","at_ms":1}"#;
    append_raw(&kafka, "alice", json).await;
    append_history(&kafka).await;

    let view = follow(&kafka, &registry()).await.unwrap();
    view.read(assert_history_applied);
    assert_eq!(view.skipped_records().get(), 1);

    // Live too: a record written while following is skipped, the next event applied.
    append_raw(&kafka, "bob", b"not avro").await;
    let appender = Appender::new(&kafka, &registry()).unwrap();
    let bob = UserId::parse("bob").unwrap();
    let offset = appender
        .append(&AuthEvent::UserRegistered {
            user: bob.clone(),
            password_hash: "h".into(),
            role: Role::User,
            at: at(1_700_000_000_100),
        })
        .await
        .unwrap();
    assert!(view.caught_up_to(offset).await);
    assert!(view.read(|d| d.user(&bob).is_some()));
    assert_eq!(view.skipped_records().get(), 2);
}

/// A TCP forwarder to the real registry that drops every connection until it is opened,
/// as an unreachable registry would, counting the connections it dropped.
struct Gate {
    settings: RegistrySettings,
    open: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
}

async fn gate() -> Gate {
    let real = registry().url.as_str().to_owned();
    let rest = real.strip_prefix("http://").expect("an http:// registry");
    let (target, path) = rest.split_once('/').unwrap_or((rest, ""));
    let target = target.to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = match path {
        "" => format!("http://{}", listener.local_addr().unwrap()),
        path => format!("http://{}/{path}", listener.local_addr().unwrap()),
    };
    let open = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (is_open, drops) = (Arc::clone(&open), Arc::clone(&dropped));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !is_open.load(Ordering::SeqCst) {
                drops.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Gate {
        settings: RegistrySettings {
            url: url.try_into().unwrap(),
        },
        open,
        dropped,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_waits_for_an_unreachable_registry_instead_of_skipping() {
    let kafka = deployment().await;
    append_history(&kafka).await;
    let gate = gate().await;

    let following = tokio::spawn({
        let (kafka, registry) = (kafka.clone(), gate.settings.clone());
        async move { follow(&kafka, &registry).await }
    });
    let turned_away = async {
        while gate.dropped.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(8), turned_away)
        .await
        .expect("the follower asks the registry again and again");
    assert!(
        !following.is_finished(),
        "the follower got past records it could not read"
    );

    gate.open.store(true, Ordering::SeqCst);
    let view = following.await.unwrap().unwrap();
    view.read(assert_history_applied);
    assert_eq!(view.skipped_records().get(), 0, "nothing was skipped");
}

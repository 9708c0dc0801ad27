//! Exactly once under client retries: a client that does what every HTTP client library
//! does (send again, with the same `Idempotency-Key`, after a 202, a 503 or a timeout) has
//! its command applied once, whatever the writer was doing meanwhile: dead, restarting, or
//! trading partitions with a second instance. Each case is checked by reading
//! `token-pool.events` back, not by trusting the replies.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use domain::{Aggregate, CommandId, PoolId, ReservationId, TokenPool, TokenPoolEvent};
use reqwest::{Client, StatusCode};
use schemas::PoolEventEnvelope;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

mod support;

use support::deployment::{Deployment, Processor};

/// A processor, the auth service and an API on fresh topics; requests go as the ADMIN.
struct Stack {
    deployment: Deployment,
    http: Client,
}

/// How long a client waits for an answer before it gives up on the request and retries.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);

impl Stack {
    async fn start(name: &str) -> Self {
        // A short reply wait: a command the writer cannot answer at once is a 202 soon.
        let settings = [("LEAKY_COMMAND_API__REPLY_WAIT_MS", "500")];
        let deployment = Deployment::start(name, Processor::Running, &settings).await;
        let admin = deployment.auth.admin().await;
        Self {
            http: testkit::auth::client_as(&admin),
            deployment,
        }
    }

    /// One attempt: the answer, or `None` when the request timed out or found no server.
    async fn send(&self, path: &str, key: &str, body: &Value) -> Option<(StatusCode, Value)> {
        let sent = self
            .http
            .post(self.deployment.api.url(path))
            .header("Idempotency-Key", key)
            .json(body)
            .timeout(CLIENT_TIMEOUT)
            .send()
            .await
            .ok()?;
        let status = sent.status();
        Some((status, sent.json().await.unwrap_or(Value::Null)))
    }

    /// Sends until the answer is final, as a retrying client does: again after a 202, a
    /// 503 or a timeout, always with the same key and body.
    async fn until_final(&self, path: &str, key: &str, body: &Value) -> (StatusCode, Value) {
        let (status, answer, _) = self.until_final_counting(path, key, body).await;
        (status, answer)
    }

    /// [`Self::until_final`], and how many tries it took.
    async fn until_final_counting(
        &self,
        path: &str,
        key: &str,
        body: &Value,
    ) -> (StatusCode, Value, usize) {
        let give_up = Instant::now() + Duration::from_secs(90);
        let mut tries = 0;
        while Instant::now() < give_up {
            tries += 1;
            match self.send(path, key, body).await {
                Some((StatusCode::ACCEPTED | StatusCode::SERVICE_UNAVAILABLE, _)) | None => {
                    sleep(Duration::from_millis(200)).await;
                }
                Some((status, answer)) => return (status, answer, tries),
            }
        }
        panic!("no final answer to {path} under {key} within 90 s");
    }

    /// Provisions `pool` and grants it `tokens`.
    async fn funded(&self, pool: &str, tokens: u64) {
        let provisioned = self
            .until_final(
                pool,
                &format!("{pool}-p"),
                &json!({"policy": testkit::unlimited_policy()}),
            )
            .await;
        assert_eq!(provisioned.0, StatusCode::OK, "{}", provisioned.1);
        let granted = self
            .until_final(
                &format!("{pool}/grants"),
                &format!("{pool}-g"),
                &json!({"amount": tokens}),
            )
            .await;
        assert_eq!(granted.0, StatusCode::OK, "{}", granted.1);
    }

    async fn events(&self) -> Vec<PoolEventEnvelope> {
        support::logged_events(&self.deployment.kafka).await
    }
}

fn command_id(answer: &Value) -> CommandId {
    answer["command_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no command id in {answer}"))
}

/// The `TokensConsumed` events of `command`.
fn consumptions_of(events: &[PoolEventEnvelope], command: CommandId) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.command_id == command)
        .filter_map(|e| match &e.event {
            TokenPoolEvent::TokensConsumed { amount, .. } => Some(amount.get()),
            _ => None,
        })
        .collect()
}

/// A client's tries while no writer runs: each is answered 202 (never 503: the command
/// reached Kafka), so a client retries them all.
async fn tries_while_the_writer_is_down(stack: &Stack, path: &str, key: &str, bodies: &[Value]) {
    for body in bodies {
        let (status, answer) = stack.send(path, key, body).await.expect("the API answers");
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    }
}

const POOL: &str = "/api/v1/pools/user/alice/openai";

#[tokio::test(flavor = "multi_thread")]
async fn a_consume_retried_while_the_writer_is_down_is_applied_once() {
    let stack = Stack::start("retry-down").await;
    stack.funded(POOL, 1_000).await;
    let consume = format!("{POOL}/consume");
    let body = json!({"amount": 10});

    stack.deployment.kill_processor().await;
    tries_while_the_writer_is_down(
        &stack,
        &consume,
        "K",
        &[body.clone(), body.clone(), body.clone()],
    )
    .await;
    stack.deployment.restart_processor().await;
    let (status, answer) = stack.until_final(&consume, "K", &body).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["balance"]["consumed"], 10, "{answer}");
    let events = stack.events().await;
    assert_eq!(consumptions_of(&events, command_id(&answer)), [10]);
    assert_eq!(
        support::consumed_by_pool(&events)[&"user:alice/openai".parse().unwrap()],
        10
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_payload_under_the_key_while_the_writer_is_down_is_refused_and_not_applied() {
    let stack = Stack::start("retry-conflict").await;
    stack.funded(POOL, 1_000).await;
    let consume = format!("{POOL}/consume");
    let (ten, twenty) = (json!({"amount": 10}), json!({"amount": 20}));

    stack.deployment.kill_processor().await;
    tries_while_the_writer_is_down(&stack, &consume, "K", &[ten.clone(), twenty.clone()]).await;
    stack.deployment.restart_processor().await;

    let (status, problem) = stack.until_final(&consume, "K", &twenty).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, answer) = stack.until_final(&consume, "K", &ten).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let events = stack.events().await;
    assert_eq!(consumptions_of(&events, command_id(&answer)), [10]);
    assert_eq!(
        support::consumed_by_pool(&events)[&"user:alice/openai".parse().unwrap()],
        10
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_a_takeover_with_another_payload_is_a_conflict() {
    // The writer that decided the command is killed before it snapshots it: its successor
    // knows the command from its event alone, and finds its payload in its record.
    let stack = Stack::start("retry-takeover").await;
    stack.funded(POOL, 1_000).await;
    let consume = format!("{POOL}/consume");
    let (status, first) = stack
        .until_final(&consume, "K", &json!({"amount": 10}))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    stack.deployment.restart_processor().await;

    let (status, problem) = stack
        .until_final(&consume, "K", &json!({"amount": 20}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, again) = stack
        .until_final(&consume, "K", &json!({"amount": 10}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["consistency_token"], first["consistency_token"]);
    assert_eq!(
        consumptions_of(&stack.events().await, command_id(&first)),
        [10]
    );
}

/// What one storm client asked, and the final answer it got.
#[derive(Debug)]
struct Asked {
    pool: String,
    what: &'static str,
    reservation: Option<ReservationId>,
    status: StatusCode,
    answer: Value,
    /// Tries it took: more than one means it was sent again under its key.
    tries: usize,
}

/// Steps of each storm client: about 20 s of load.
const STORM_STEPS: usize = 20;

/// Client `i` of the storm: a score of commands on one of `pools` (consumes, and holds then
/// settled or released), each sent until its answer is final.
async fn storm_client(stack: &Stack, pools: &[String], i: usize) -> Vec<Asked> {
    let pool = &pools[i % pools.len()];
    // Spread amounts and choices deterministically over clients and steps.
    let spread = |n: usize, modulo: u64| ((i * 7 + n * 13) as u64) % modulo;
    let mut asked = Vec::new();
    for n in 0..STORM_STEPS {
        // Paced, so the load spans the crashes and rebalances.
        sleep(Duration::from_millis(700 + 20 * (i as u64 % 10))).await;
        let key = |step: &str| format!("client-{i}-{n}-{step}");
        if (i + n).is_multiple_of(2) {
            let body = json!({"amount": 5 + spread(n, 35)});
            let (status, answer, tries) = stack
                .until_final_counting(&format!("{pool}/consume"), &key("c"), &body)
                .await;
            asked.push(Asked {
                pool: pool.clone(),
                what: "consume",
                reservation: None,
                status,
                answer,
                tries,
            });
            continue;
        }
        let hold = ReservationId::from_uuid(uuid::Uuid::new_v4());
        let amount = 10 + spread(n, 50);
        let body = json!({"amount": amount, "reservation_id": hold.to_string()});
        let (status, answer, tries) = stack
            .until_final_counting(&format!("{pool}/reservations"), &key("r"), &body)
            .await;
        asked.push(Asked {
            pool: pool.clone(),
            what: "reserve",
            reservation: Some(hold),
            status,
            answer,
            tries,
        });
        let (what, path, body) = if spread(n, 10) < 7 {
            (
                "settle",
                format!("{pool}/reservations/{hold}/settle"),
                json!({"actual": spread(n, amount + 1)}),
            )
        } else {
            (
                "release",
                format!("{pool}/reservations/{hold}/release"),
                json!({}),
            )
        };
        let (status, answer, tries) = stack.until_final_counting(&path, &key(what), &body).await;
        asked.push(Asked {
            pool: pool.clone(),
            what,
            reservation: Some(hold),
            status,
            answer,
            tries,
        });
    }
    asked
}

/// Checks the log itself: per pool, at every prefix, consumed + reserved never exceed what
/// was granted; no hold is reserved or resolved twice; no command consumes twice.
fn assert_the_log_is_sound(events: &[PoolEventEnvelope]) {
    let mut pools: HashMap<PoolId, TokenPool> = HashMap::new();
    let mut reserved = HashSet::new();
    let mut resolved = HashSet::new();
    for envelope in events {
        let pool = pools.entry(envelope.pool_id.clone()).or_default();
        pool.apply(&envelope.event);
        let (granted, spent) = (
            pool.granted().get(),
            pool.consumed().get() + pool.reserved().get(),
        );
        assert!(
            spent <= granted,
            "{}: {spent} spent of {granted}",
            envelope.pool_id
        );
        match &envelope.event {
            TokenPoolEvent::TokensReserved { reservation_id, .. } => {
                assert!(
                    reserved.insert(*reservation_id),
                    "hold {reservation_id} reserved twice"
                );
            }
            TokenPoolEvent::ReservationSettled { reservation_id, .. }
            | TokenPoolEvent::ReservationReleased { reservation_id, .. }
            | TokenPoolEvent::ReservationExpired { reservation_id, .. } => {
                assert!(
                    resolved.insert(*reservation_id),
                    "hold {reservation_id} resolved twice"
                );
            }
            _ => {}
        }
    }
    support::consumed_by_pool(events); // asserts that no command consumed twice
}

/// How many events of each command, by event name.
fn events_by_command(events: &[PoolEventEnvelope]) -> HashMap<(CommandId, &'static str), usize> {
    let mut counted = HashMap::new();
    for envelope in events {
        *counted
            .entry((envelope.command_id, envelope.event.name()))
            .or_default() += 1;
    }
    counted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_storm_across_crashes_and_rebalances_applies_every_command_once() {
    let stack = Stack::start("retry-storm").await;
    let pools: Vec<String> = (0..3)
        .map(|i| format!("/api/v1/pools/user/storm-{i}/openai"))
        .collect();
    for pool in &pools {
        stack.funded(pool, 4_000).await;
    }

    // 48 clients, each retrying its commands under their keys; meanwhile the writer is
    // SIGKILLed and restarted, and a second instance joins (taking partitions over) and is
    // SIGKILLed in turn.
    let load = futures::future::join_all((0..48).map(|i| storm_client(&stack, &pools, i)));
    let chaos = async {
        for round in 0..3 {
            sleep(Duration::from_millis(1_500)).await;
            stack.deployment.kill_processor().await;
            sleep(Duration::from_millis(1_500)).await;
            stack.deployment.restart_processor().await;
            let second = stack.deployment.spawn_processor().await;
            sleep(Duration::from_millis(2_000 + 500 * round)).await;
            second.kill().await;
        }
    };
    let (answers, ()) = tokio::join!(load, chaos);
    let answers: Vec<Asked> = answers.into_iter().flatten().collect();

    let events = stack.events().await;
    assert_the_log_is_sound(&events);
    let counted = events_by_command(&events);
    let mut accepted = 0;
    for asked in &answers {
        let event = match asked.what {
            "consume" => "TokensConsumed",
            "reserve" => "TokensReserved",
            "settle" => "ReservationSettled",
            _ => "ReservationReleased",
        };
        match asked.status {
            StatusCode::OK => {
                accepted += 1;
                let id = command_id(&asked.answer);
                assert_eq!(
                    counted.get(&(id, event)).copied(),
                    Some(1),
                    "{} {} ({:?}) answered {} must be in the log once",
                    asked.what,
                    asked.pool,
                    asked.reservation,
                    asked.answer
                );
            }
            // Refusals: out of tokens or rate, or resolving a hold that was refused.
            StatusCode::TOO_MANY_REQUESTS | StatusCode::NOT_FOUND | StatusCode::CONFLICT => {}
            other => panic!("unexpected {other} to {}: {}", asked.what, asked.answer),
        }
    }
    let mut refusals: HashMap<String, usize> = HashMap::new();
    for asked in answers.iter().filter(|a| a.status != StatusCode::OK) {
        let refusal = format!("{} {} {}", asked.what, asked.status, asked.answer["code"]);
        eprintln!("REFUSED {}", asked.answer);
        *refusals.entry(refusal).or_default() += 1;
    }
    // About 6,000 tokens asked of each pool's 4,000: most commands accepted, some refused.
    let retried = answers.iter().filter(|a| a.tries > 1).count();
    eprintln!(
        "{accepted} of {} accepted, {retried} sent more than once",
        answers.len()
    );
    assert!(
        retried >= 48,
        "the storm must make clients retry: {retried} did"
    );
    assert!(
        accepted > answers.len() / 2,
        "{accepted} of {} accepted; refused: {refusals:?}",
        answers.len()
    );
    // Every event the clients caused was asked for and answered: nothing extra in the log.
    let caused: usize = counted
        .iter()
        .filter(|((_, name), _)| {
            matches!(
                *name,
                "TokensConsumed" | "TokensReserved" | "ReservationSettled" | "ReservationReleased"
            )
        })
        .count();
    assert_eq!(
        caused, accepted,
        "the log holds exactly the accepted commands"
    );
}

/// The `PurchaseRequested` events in the purchase log.
async fn purchases_requested(stack: &Stack) -> Vec<schemas::PurchaseEventEnvelope> {
    let kafka = &stack.deployment.kafka;
    let codec = schemas::PurchaseCodec::new(&testkit::infra().registry).unwrap();
    let topic = eventlog::Topics::new(kafka).purchase_events();
    let mut requested = Vec::new();
    for record in eventlog::read_topic(kafka, &topic, kafka.partitions)
        .await
        .unwrap()
    {
        let envelope = codec.decode_event(&record.value.unwrap()).await.unwrap();
        if matches!(
            envelope.event,
            domain::PurchaseEvent::PurchaseRequested { .. }
        ) {
            requested.push(envelope);
        }
    }
    requested
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purchase_retried_while_its_writer_is_down_is_placed_once() {
    let stack = Stack::start("retry-purchase").await;
    let order = |tokens: u64| json!({"pool": "user:alice/openai", "tokens": tokens, "payment_method": "pm_card_visa"});
    let purchases = "/api/v1/purchases";
    // No purchase processor yet: every try waits in purchase.commands and is answered 202.
    tries_while_the_writer_is_down(&stack, purchases, "order-1", &[order(1_000), order(1_000)])
        .await;
    tries_while_the_writer_is_down(&stack, purchases, "order-1", &[order(2_000)]).await;
    let _processor = stack.deployment.spawn_purchase_processor().await;

    let (status, placed) = stack.until_final(purchases, "order-1", &order(1_000)).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let (status, problem) = stack.until_final(purchases, "order-1", &order(2_000)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let requested = purchases_requested(&stack).await;
    assert_eq!(requested.len(), 1, "{requested:?}");
    assert_eq!(requested[0].purchase_id.to_string(), placed["purchase_id"]);
}

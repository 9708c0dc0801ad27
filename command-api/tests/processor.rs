//! The single writer against real Kafka: concurrent commands never overspend a pool, every
//! accepted command is in the log exactly once, retries get their first answer, and a
//! processor killed with SIGKILL is replaced without losing or duplicating anything.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use command_api::dispatch::Dispatcher;
use command_api::processor::PoolKind;
use domain::{
    Actor, CommandId, DurationMs, EffectivePolicy, GrantId, GrantSource, OverageRule, PoolId,
    RateLimit, RateLimitStrategy, ReservationTtl, Tier, Timestamp, TokenPool, TokenPoolCommand,
    TokenPoolEvent, Tokens,
};
use eventlog::{Topics, ensure_topics};
use schemas::{CommandReply, PoolCommandEnvelope, PoolEventEnvelope, ReplyOutcome};
use settings::KafkaSettings;
use testkit::SpawnedService;
use uuid::Uuid;

mod support;

use support::consumed_by_pool;

const PROCESSOR: &str = env!("CARGO_BIN_EXE_pool-processor");
const PARTITIONS: u32 = 3;

/// A fresh set of topics and a client; processors are started on them separately so a
/// test can kill and replace them.
struct Deployment {
    kafka: KafkaSettings,
    env: Vec<(String, String)>,
    dispatcher: Dispatcher,
}

impl Deployment {
    async fn start() -> Self {
        let infra = testkit::infra();
        let prefix = format!("{}.", testkit::unique("proc"));
        let kafka = KafkaSettings {
            topic_prefix: prefix.clone(),
            partitions: PARTITIONS,
            ..infra.kafka
        };
        let topics = Topics::new(&kafka);
        ensure_topics(&kafka, &topics.pool_topic_specs(PARTITIONS))
            .await
            .unwrap();
        let env = vec![
            ("LEAKY_KAFKA__TOPIC_PREFIX".to_owned(), prefix),
            ("LEAKY_KAFKA__PARTITIONS".to_owned(), PARTITIONS.to_string()),
        ];
        let dispatcher = Dispatcher::start(&kafka, &infra.registry, testkit::unique("api"))
            .await
            .unwrap();
        Self {
            kafka,
            env,
            dispatcher,
        }
    }

    /// A processor instance on these topics (killed when dropped).
    async fn start_processor(&self) -> SpawnedService {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        SpawnedService::start(PROCESSOR, "LEAKY_POOL_PROCESSOR__LISTEN", &env).await
    }

    fn envelope(&self, pool: &PoolId, command: TokenPoolCommand) -> PoolCommandEnvelope {
        PoolCommandEnvelope {
            command_id: CommandId::from_uuid(Uuid::new_v4()),
            pool_id: pool.clone(),
            reply_to: self.dispatcher.instance_id().to_owned(),
            actor: "system:test".parse::<Actor>().unwrap(),
            issued_at: now(),
            deadline: Timestamp::from_millis(now().as_millis() + 120_000).unwrap(),
            command,
        }
    }

    async fn send(&self, envelope: &PoolCommandEnvelope) -> CommandReply {
        self.dispatcher
            .dispatch(envelope, Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no reply to {:?}", envelope.command))
    }

    async fn provision_with(&self, pool: &PoolId, granted: u64) {
        let provision = TokenPoolCommand::ProvisionPool {
            pool: pool.clone(),
            tier: Tier::User,
            policy: generous_policy(),
        };
        assert_eq!(
            self.send(&self.envelope(pool, provision)).await.outcome,
            ReplyOutcome::Accepted
        );
        let grant = TokenPoolCommand::GrantTokens {
            grant_id: GrantId::from_uuid(Uuid::new_v4()),
            amount: Tokens::new(granted).unwrap(),
            source: GrantSource::Admin,
        };
        assert_eq!(
            self.send(&self.envelope(pool, grant)).await.outcome,
            ReplyOutcome::Accepted
        );
    }

    /// Every event in the log, decoded.
    async fn events(&self) -> Vec<PoolEventEnvelope> {
        support::logged_events(&self.kafka).await
    }
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_millis(millis as i64).unwrap()
}

/// Limits high enough that only the balance can refuse a command.
fn generous_policy() -> EffectivePolicy {
    let minute = DurationMs::from_millis(60_000).unwrap();
    EffectivePolicy {
        strategy: RateLimitStrategy::TokenBucket,
        requests: RateLimit::new(1_000_000, 1_000_000, minute).unwrap(),
        tokens: RateLimit::new(100_000_000, 100_000_000, minute).unwrap(),
        overage: OverageRule::Reject,
        reservation_ttl: ReservationTtl::new(minute, minute).unwrap(),
        periodic_quota: None,
        quota_cap: Tokens::new(1_000_000_000).unwrap(),
    }
}

fn pool(name: &str) -> PoolId {
    format!("user:{name}/openai").parse().unwrap()
}

fn consume(amount: u64) -> TokenPoolCommand {
    TokenPoolCommand::Consume {
        amount: Tokens::new(amount).unwrap(),
    }
}

/// Sends `count` consumes of `amount` to each pool at once; the accepted command ids.
async fn concurrent_consumes(
    deployment: &Arc<Deployment>,
    pools: &[PoolId],
    count: usize,
    amount: u64,
) -> HashSet<CommandId> {
    concurrent_consumes_counted(deployment, pools, count, amount, Arc::default()).await
}

/// [`concurrent_consumes`], counting answered commands in `answered` as they come.
async fn concurrent_consumes_counted(
    deployment: &Arc<Deployment>,
    pools: &[PoolId],
    count: usize,
    amount: u64,
    answered: Arc<AtomicUsize>,
) -> HashSet<CommandId> {
    let mut tasks = Vec::new();
    for i in 0..count {
        for pool in pools {
            let deployment = Arc::clone(deployment);
            let envelope = deployment.envelope(pool, consume(amount + (i as u64 % 3)));
            let answered = Arc::clone(&answered);
            tasks.push(tokio::spawn(async move {
                let reply = deployment.send(&envelope).await;
                answered.fetch_add(1, Ordering::Relaxed);
                (envelope.command_id, reply.outcome)
            }));
        }
    }
    let mut accepted = HashSet::new();
    for task in tasks {
        let (id, outcome) = task.await.unwrap();
        if outcome == ReplyOutcome::Accepted {
            accepted.insert(id);
        }
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consumers_never_overspend_and_every_accepted_command_is_logged_once() {
    let deployment = Arc::new(Deployment::start().await);
    let _processor = deployment.start_processor().await;
    let pools: Vec<PoolId> = ["hot", "warm", "cold"].map(pool).to_vec();
    for pool in &pools {
        deployment.provision_with(pool, 1_000).await;
    }

    let accepted = concurrent_consumes(&deployment, &pools, 150, 20).await;

    let events = deployment.events().await;
    let consumed = consumed_by_pool(&events);
    for pool in &pools {
        let spent = consumed.get(pool).copied().unwrap_or_default();
        assert!(spent <= 1_000, "{pool} spent {spent} of 1000");
        assert!(
            spent > 1_000 - 22,
            "{pool} left {} unspent while consumers were refused",
            1_000 - spent
        );
    }
    let logged: HashSet<CommandId> = support::consuming_commands(&events);
    assert_eq!(
        logged, accepted,
        "the accepted commands are exactly the logged ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_command_gets_its_first_answer_and_writes_nothing_new() {
    let deployment = Deployment::start().await;
    let _processor = deployment.start_processor().await;
    let pool = pool("retrier");
    deployment.provision_with(&pool, 100).await;

    let first = deployment.envelope(&pool, consume(30));
    let answer = deployment.send(&first).await;
    let retry = deployment.send(&first).await;
    assert_eq!(answer.outcome, ReplyOutcome::Accepted);
    assert_eq!(retry.outcome, ReplyOutcome::Accepted);
    assert_eq!(retry.consistency_token, answer.consistency_token);

    let conflicting = PoolCommandEnvelope {
        command: consume(31),
        ..first.clone()
    };
    let conflict = deployment.send(&conflicting).await;
    assert_eq!(conflict.outcome, ReplyOutcome::Rejected);
    assert_eq!(conflict.rejection.unwrap().code, "idempotency_conflict");

    let consumed = consumed_by_pool(&deployment.events().await);
    assert_eq!(consumed[&pool], 30);
}

/// Concurrent consumes running in the background, so a test can kill processors mid-load.
struct Load {
    answered: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<HashSet<CommandId>>,
}

impl Load {
    fn start(deployment: &Arc<Deployment>, pools: &[PoolId], count: usize, amount: u64) -> Self {
        let answered = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (deployment, pools, answered) = (
                Arc::clone(deployment),
                pools.to_vec(),
                Arc::clone(&answered),
            );
            async move {
                concurrent_consumes_counted(&deployment, &pools, count, amount, answered).await
            }
        });
        Self { answered, task }
    }

    /// Waits until `count` commands have been answered: a kill then lands mid-load.
    async fn wait_until_answered(&self, count: usize) {
        while self.answered.load(Ordering::Relaxed) < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The accepted command ids, once every command is answered.
    async fn finish(self) -> HashSet<CommandId> {
        self.task.await.unwrap()
    }
}

/// No pool spent more than it was granted, the accepted consumes are exactly the logged
/// ones (each once), and a takeover would load exactly the replay of each pool's events.
async fn assert_exactly_once(
    deployment: &Deployment,
    pools: &[PoolId],
    granted: u64,
    accepted: &HashSet<CommandId>,
) {
    let events = deployment.events().await;
    assert_within_grants(&events, pools, granted);
    let logged: HashSet<CommandId> = support::consuming_commands(&events);
    // Each side's surplus, so a failure says which promise broke (the whole sets are too long
    // to read in a CI log).
    let unlogged: Vec<_> = accepted.difference(&logged).collect();
    let unanswered: Vec<_> = logged.difference(accepted).collect();
    assert!(
        unlogged.is_empty() && unanswered.is_empty(),
        "every accepted command is in the log exactly once: {} accepted and not logged \
         {unlogged:?}; {} logged and not answered as accepted {unanswered:?}",
        unlogged.len(),
        unanswered.len()
    );
    let mut consumes: HashMap<CommandId, usize> = HashMap::new();
    for event in &events {
        if matches!(event.event, TokenPoolEvent::TokensConsumed { .. }) {
            *consumes.entry(event.command_id).or_default() += 1;
        }
    }
    let twice: Vec<_> = consumes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "commands consumed more than once: {twice:?}"
    );
    assert_takeover_equals_replay(deployment, pools).await;
}

/// The log is the truth: what a takeover loads for each pool (its latest snapshot plus the
/// events since the last snapshot flush) equals the pool replayed from all its events.
async fn assert_takeover_equals_replay(deployment: &Deployment, pools: &[PoolId]) {
    let events = deployment.events().await;
    for pool in pools {
        let history: Vec<TokenPoolEvent> = events
            .iter()
            .filter(|e| &e.pool_id == pool)
            .map(|e| e.event.clone())
            .collect();
        let replayed: TokenPool = domain::replay(&history);
        let partition = eventlog::partition_for(pool.to_string().as_bytes(), PARTITIONS);
        let (loaded, _) = command_api::processor::rebuild_partition::<PoolKind>(
            &deployment.kafka,
            &testkit::infra().registry,
            partition,
        )
        .await
        .unwrap();
        assert_eq!(
            loaded.slot(pool).map(|slot| &slot.state),
            Some(&replayed),
            "what a takeover loads for {pool} differs from its replayed events"
        );
    }
}

fn assert_within_grants(deployment_events: &[PoolEventEnvelope], pools: &[PoolId], granted: u64) {
    let consumed = consumed_by_pool(deployment_events);
    for pool in pools {
        let spent = consumed.get(pool).copied().unwrap_or_default();
        assert!(spent <= granted, "{pool} spent {spent} of {granted}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_processor_killed_mid_load_and_restarted_loses_and_duplicates_nothing() {
    let deployment = Arc::new(Deployment::start().await);
    let processor = deployment.start_processor().await;
    let pools: Vec<PoolId> = ["crash-a", "crash-b"].map(pool).to_vec();
    for pool in &pools {
        deployment.provision_with(pool, 500).await;
    }

    let load = Load::start(&deployment, &pools, 60, 10);
    load.wait_until_answered(30).await;
    processor.kill().await;
    let _restarted = deployment.start_processor().await;
    let accepted = load.finish().await;

    assert_exactly_once(&deployment, &pools, 500, &accepted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_one_of_two_processors_moves_its_partitions_to_the_other() {
    let deployment = Arc::new(Deployment::start().await);
    let first = deployment.start_processor().await;
    let _second = deployment.start_processor().await;
    let pools: Vec<PoolId> = ["pair-a", "pair-b", "pair-c", "pair-d"].map(pool).to_vec();
    for pool in &pools {
        deployment.provision_with(pool, 400).await;
    }

    let load = Load::start(&deployment, &pools, 50, 10);
    load.wait_until_answered(40).await;
    first.kill().await;
    let accepted = load.finish().await;

    assert_exactly_once(&deployment, &pools, 400, &accepted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lapsed_reservation_is_expired_in_the_log_without_anyone_asking() {
    let deployment = Deployment::start().await;
    let _processor = deployment.start_processor().await;
    let pool = pool("forgetful");
    deployment.provision_with(&pool, 100).await;
    let hold = TokenPoolCommand::Reserve {
        reservation_id: domain::ReservationId::from_uuid(Uuid::new_v4()),
        amount: Tokens::new(40).unwrap(),
        ttl_ms: Some(DurationMs::from_millis(300).unwrap()),
        via: None,
    };
    assert_eq!(
        deployment
            .send(&deployment.envelope(&pool, hold))
            .await
            .outcome,
        ReplyOutcome::Accepted
    );

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let expired = deployment
            .events()
            .await
            .into_iter()
            .find(|e| matches!(e.event, TokenPoolEvent::ReservationExpired { .. }));
        if let Some(expired) = expired {
            assert_eq!(expired.actor.to_string(), "system:reservation-sweeper");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lapsed hold was never expired"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_takeover_loads_snapshots_and_replays_no_history() {
    let deployment = Arc::new(Deployment::start().await);
    let processor = deployment.start_processor().await;
    let pool = pool("long-history");
    deployment.provision_with(&pool, 100_000).await;
    concurrent_consumes(&deployment, std::slice::from_ref(&pool), 200, 5).await;
    // Changed pools are snapshotted at most every SNAPSHOT_EVERY, and an idle partition
    // flushes them within that long: by then a takeover has no events to replay.
    tokio::time::sleep(command_api::processor::SNAPSHOT_EVERY * 3).await;
    processor.kill().await;

    let partition = eventlog::partition_for(pool.to_string().as_bytes(), PARTITIONS);
    let (ledger, report) = command_api::processor::rebuild_partition::<PoolKind>(
        &deployment.kafka,
        &testkit::infra().registry,
        partition,
    )
    .await
    .unwrap();

    let events = deployment.events().await;
    let history: Vec<TokenPoolEvent> = events
        .iter()
        .filter(|e| e.pool_id == pool)
        .map(|e| e.event.clone())
        .collect();
    assert!(
        history.len() > 200,
        "the pool has a long history ({} events)",
        history.len()
    );
    assert_eq!(
        report.events_replayed, 0,
        "a takeover must not replay history: {report:?}"
    );
    assert_eq!(
        ledger.slot(&pool).unwrap().state,
        domain::replay::<TokenPool>(&history)
    );
}

//! One example of every variant of every enum a topic carries, each round-tripped, and a
//! check that the examples and the schema's union agree, so a new variant needs both.

use std::collections::BTreeSet;

use domain::{TokenPool, TokenPoolCommand};
use schemas::{
    CommandReply, ConsistencyToken, PoolCommandEnvelope, PoolEventEnvelope, PoolRejectionRecord,
    PoolSnapshot, ReplyRejection, TopicKind, command_type,
};

use crate::support::examples::{
    AUTH_EVENT_VARIANTS, COMMAND_VARIANTS, EVENT_VARIANTS, REJECTION_VARIANTS, auth_event_variant,
    auth_events, command_variant, commands, event_variant, events, rejection_variant, rejections,
};
use crate::support::{alice, command_id, pool_id, round_trip, t, tokens, top_level_branches};

fn envelope(command: TokenPoolCommand) -> PoolCommandEnvelope {
    PoolCommandEnvelope {
        command_id: command_id(7),
        pool_id: pool_id(),
        reply_to: "command-api-0f3a".into(),
        actor: alice(),
        issued_at: t(1_700_000_000_000),
        deadline: t(1_700_000_005_000),
        command,
    }
}

#[test]
fn the_examples_cover_every_command_event_and_rejection_variant() {
    let covered = |variants: BTreeSet<usize>| variants.len();
    assert_eq!(
        covered(commands().iter().map(command_variant).collect()),
        COMMAND_VARIANTS
    );
    assert_eq!(
        covered(events().iter().map(event_variant).collect()),
        EVENT_VARIANTS
    );
    assert_eq!(
        covered(rejections().iter().map(rejection_variant).collect()),
        REJECTION_VARIANTS
    );
    assert_eq!(
        covered(auth_events().iter().map(auth_event_variant).collect()),
        AUTH_EVENT_VARIANTS
    );
}

#[test]
fn every_union_branch_of_the_current_schemas_has_an_example() {
    let branches = |kind, field| {
        top_level_branches(kind, field)
            .into_iter()
            .collect::<BTreeSet<_>>()
    };
    let commands: BTreeSet<String> = commands()
        .iter()
        .map(|c| command_type(c).to_owned())
        .collect();
    assert_eq!(commands, branches(TopicKind::PoolCommands, "command"));
    let events: BTreeSet<String> = events().iter().map(|e| e.name().to_owned()).collect();
    assert_eq!(events, branches(TopicKind::PoolEvents, "event"));
    let auth: BTreeSet<String> = auth_events().iter().map(|e| e.name().to_owned()).collect();
    assert_eq!(auth, branches(TopicKind::AuthEvents, "event"));
}

#[test]
fn every_auth_event_round_trips_exactly() {
    for event in auth_events() {
        assert_eq!(round_trip(&event), event);
    }
}

#[test]
fn every_command_round_trips_exactly() {
    for command in commands() {
        let sent = envelope(command);
        assert_eq!(round_trip(&sent), sent);
    }
}

#[test]
fn every_event_round_trips_exactly() {
    let command = envelope(TokenPoolCommand::ExpireReservations);
    for event in events() {
        let sent = PoolEventEnvelope::caused_by(&command, event.clone());
        assert_eq!(
            (&sent.command_id, &sent.actor, &sent.event),
            (&command.command_id, &command.actor, &event)
        );
        assert_eq!(round_trip(&sent), sent);
    }
}

#[test]
fn every_rejection_round_trips_exactly_as_a_record_and_in_a_reply() {
    for rejection in rejections() {
        let command = envelope(TokenPoolCommand::Consume { amount: tokens(5) });
        let record = PoolRejectionRecord::new(&command, t(1_700_000_000_001), rejection.clone());
        assert_eq!(record.command_type, "Consume");
        assert_eq!(round_trip(&record), record);

        let reply = CommandReply::rejected(&command, &rejection, &TokenPool::default(), t(1));
        let back = round_trip(&reply);
        assert_eq!(back, reply);
        let why = back.rejection.unwrap();
        assert_eq!(
            (why.code.as_str(), why.pool_rejection()),
            (rejection.code(), Some(rejection))
        );
    }
}

#[test]
fn a_snapshot_of_a_pool_that_has_lived_round_trips_exactly() {
    let mut pool = TokenPool::default();
    let ctx = |ms| domain::Ctx {
        now: t(ms),
        command_id: command_id(1),
        actor: alice(),
    };
    let history = [
        TokenPoolCommand::ProvisionPool {
            pool: pool_id(),
            tier: domain::Tier::Pro,
            policy: crate::support::examples::full_policy(),
        },
        TokenPoolCommand::GrantTokens {
            grant_id: crate::support::id(1),
            amount: tokens(1_000),
            source: domain::GrantSource::Admin,
        },
        TokenPoolCommand::Reserve {
            reservation_id: crate::support::id(3),
            amount: tokens(300),
            ttl_ms: Some(domain::DurationMs::MINUTE),
            via: Some("gateway".parse().unwrap()),
        },
        TokenPoolCommand::Reserve {
            reservation_id: crate::support::id(4),
            amount: tokens(100),
            ttl_ms: Some(domain::DurationMs::MINUTE),
            via: None,
        },
        TokenPoolCommand::Release {
            reservation_id: crate::support::id(4),
            via: None,
        },
        TokenPoolCommand::Consume { amount: tokens(42) },
    ];
    for (at, command) in history.iter().enumerate() {
        domain::execute(&mut pool, command, &ctx(1_000 * at as i64)).unwrap();
    }
    assert!(pool.is_provisioned() && pool.reservation(&crate::support::id(3)).is_some());
    for state in [TokenPool::default(), pool] {
        let snapshot = PoolSnapshot {
            pool_id: pool_id(),
            next_event_offset: 1_234,
            state,
            recent_commands: serde_json::json!([{"command_id": "x", "outcome": {"events": []}}]),
        };
        assert_eq!(round_trip(&snapshot), snapshot);
    }
}

#[test]
fn replies_of_every_outcome_round_trip_exactly() {
    let command = envelope(TokenPoolCommand::ExpireReservations);
    let mut pool = TokenPool::default();
    let ctx = domain::Ctx {
        now: t(0),
        command_id: command_id(1),
        actor: alice(),
    };
    let events = domain::execute(&mut pool, &commands()[0], &ctx).unwrap();
    let token = Some(ConsistencyToken {
        partition: 3,
        offset: 41,
    });
    assert!(!command.is_past_deadline(command.deadline));
    assert!(command.is_past_deadline(t(command.deadline.as_millis() + 1)));
    let replies = [
        CommandReply::accepted(&command, &events, token, &pool, t(5)),
        CommandReply::accepted(&command, &[], None, &TokenPool::default(), t(5)),
        CommandReply::expired(&command, t(1_700_000_009_000)),
    ];
    assert_eq!(replies[0].events, ["PoolProvisioned"]);
    assert!(replies[0].balance.is_some() && replies[0].limits.is_some());
    assert_eq!(
        replies[2].rejection.as_ref().unwrap().code,
        ReplyRejection::DEADLINE_EXCEEDED
    );
    for reply in replies {
        assert_eq!(round_trip(&reply), reply);
    }
}

#[test]
fn a_consistency_token_is_partition_colon_offset() {
    let token: ConsistencyToken = "12:345".parse().unwrap();
    assert_eq!(
        token,
        ConsistencyToken {
            partition: 12,
            offset: 345
        }
    );
    assert_eq!(token.to_string(), "12:345");
    for bad in ["", "12", "12:", ":3", "-1:3", "1:-3", "a:b", "1:2:3"] {
        assert!(bad.parse::<ConsistencyToken>().is_err(), "{bad:?}");
    }
}

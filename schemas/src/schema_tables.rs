//! The hand-written branch and symbol tables agree with the current schemas, in order:
//! an index written by this code always means the same branch or symbol to a reader.

use apache_avro::Schema;
use apache_avro::schema::{Name, ResolvedSchema};

use crate::auth::{AUTH_EVENT, ROLE};
use crate::datum::current_schema;
use crate::pool::{COMMAND, EVENT, GRANT_SOURCE, OVERAGE, STRATEGY, TIER};
use crate::purchase::{FAILURE_CODE, PURCHASE_COMMAND, PURCHASE_EVENT};
use crate::reply::{OUTCOME, PURCHASE_STATUS};
use crate::resolve::type_name;
use crate::topic::TopicKind;

/// The named type `name` (in our namespace) of `kind`'s current schema.
fn named(kind: TopicKind, name: &str) -> Schema {
    let schema = current_schema(kind).unwrap();
    let names = ResolvedSchema::new(&schema).unwrap();
    let full = Name::new(format!("dev.leakytokens.{name}")).unwrap();
    let found = names.get_names().get(&full).copied();
    found
        .unwrap_or_else(|| panic!("{kind} has no type {name}"))
        .clone()
}

/// Branch names of the union field `field` of record `record`.
fn branches(kind: TopicKind, record: &str, field: &str) -> Vec<String> {
    let Schema::Record(r) = named(kind, record) else {
        panic!("{record} is not a record")
    };
    let field = r.fields.iter().find(|f| f.name == field).unwrap();
    let Schema::Union(u) = &field.schema else {
        panic!("{record}.{} is not a union", field.name)
    };
    u.variants().iter().map(type_name).collect()
}

/// Symbols of enum `name`.
fn symbols(kind: TopicKind, name: &str) -> Vec<String> {
    match named(kind, name) {
        Schema::Enum(e) => e.symbols,
        _ => panic!("{name} is not an enum"),
    }
}

#[test]
fn the_command_and_event_unions_list_the_branches_in_schema_order() {
    let commands = branches(TopicKind::PoolCommands, "PoolCommandRecord", "command");
    assert_eq!(commands, COMMAND.branches);
    let events = branches(TopicKind::PoolEvents, "PoolEventRecord", "event");
    assert_eq!(events, EVENT.branches);
}

#[test]
fn the_grant_source_union_is_the_same_in_commands_and_events() {
    let commands = branches(TopicKind::PoolCommands, "GrantTokens", "source");
    assert_eq!(commands, GRANT_SOURCE.branches);
    let events = branches(TopicKind::PoolEvents, "TokensGranted", "source");
    assert_eq!(events, GRANT_SOURCE.branches);
}

#[test]
fn every_enum_lists_its_symbols_in_schema_order() {
    for kind in [TopicKind::PoolCommands, TopicKind::PoolEvents] {
        assert_eq!(symbols(kind, "Tier"), TIER.symbols());
        assert_eq!(symbols(kind, "RateLimitStrategy"), STRATEGY.symbols());
        assert_eq!(symbols(kind, "OverageRule"), OVERAGE.symbols());
    }
    assert_eq!(
        symbols(TopicKind::Replies, "ReplyOutcome"),
        OUTCOME.symbols()
    );
    assert_eq!(
        symbols(TopicKind::Replies, "PurchaseStatus"),
        PURCHASE_STATUS.symbols()
    );
}

#[test]
fn the_purchase_unions_and_failure_codes_follow_their_schemas() {
    let commands = branches(
        TopicKind::PurchaseCommands,
        "PurchaseCommandRecord",
        "command",
    );
    assert_eq!(commands, PURCHASE_COMMAND.branches);
    let events = branches(TopicKind::PurchaseEvents, "PurchaseEventRecord", "event");
    assert_eq!(events, PURCHASE_EVENT.branches);
    for kind in [TopicKind::PurchaseCommands, TopicKind::PurchaseEvents] {
        assert_eq!(symbols(kind, "FailureCode"), FAILURE_CODE.symbols());
    }
}

#[test]
fn the_auth_event_union_and_roles_follow_their_schema() {
    let events = branches(TopicKind::AuthEvents, "AuthEventRecord", "event");
    assert_eq!(events, AUTH_EVENT.branches);
    assert_eq!(symbols(TopicKind::AuthEvents, "Role"), ROLE.symbols());
}

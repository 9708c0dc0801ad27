//! The access rules by example.

use auth::Role;
use domain::{Actor, OrgId, Owner, PoolId, UserId};
use problem::Problem;

use super::{Identity, Refusal};

fn user(name: &str, role: Role, orgs: &[&str]) -> Identity {
    Identity {
        user: UserId::parse(name).unwrap(),
        role,
        orgs: orgs.iter().map(|o| OrgId::parse(o).unwrap()).collect(),
    }
}

fn pool(text: &str) -> PoolId {
    text.parse().unwrap()
}

#[test]
fn a_user_spends_from_and_reads_its_own_pools_and_its_orgs() {
    let alice = user("alice", Role::User, &["acme"]);
    assert_eq!(alice.may_use_pool(&pool("user:alice/openai")), Ok(()));
    assert_eq!(alice.may_use_pool(&pool("org:acme/gemini")), Ok(()));
}

#[test]
fn a_user_may_not_touch_another_users_pool_nor_an_org_it_is_not_in() {
    let alice = user("alice", Role::Pro, &["acme"]);
    assert_eq!(
        alice.may_use_pool(&pool("user:bob/openai")),
        Err(Refusal::NotYours {
            user: alice.user.clone(),
            owner: "user:bob".parse().unwrap(),
        })
    );
    let refusal = alice.may_use_pool(&pool("org:globex/openai")).unwrap_err();
    assert_eq!(refusal.to_string(), "alice is not a member of org globex");
}

#[test]
fn an_admin_may_use_every_pool() {
    let root = user("root", Role::Admin, &[]);
    assert_eq!(root.may_use_pool(&pool("user:bob/openai")), Ok(()));
    assert_eq!(root.may_use_pool(&pool("org:globex/openai")), Ok(()));
}

#[test]
fn only_an_admin_manages_pools_and_reads_across_tenants() {
    for role in [Role::User, Role::Pro, Role::Enterprise] {
        let someone = user("carol", role, &["acme"]);
        assert!(matches!(
            someone.may_manage("grant tokens"),
            Err(Refusal::AdminOnly {
                what: "grant tokens",
                ..
            })
        ));
        assert!(someone.may_read_across_tenants("top consumers").is_err());
    }
    let root = user("root", Role::Admin, &[]);
    assert_eq!(root.may_manage("grant tokens"), Ok(()));
    assert_eq!(root.may_read_across_tenants("top consumers"), Ok(()));
}

#[test]
fn acting_for_an_org_needs_membership_even_for_an_admin() {
    let alice = user("alice", Role::User, &["acme"]);
    assert_eq!(alice.acting_for(None), Ok(Owner::User(alice.user.clone())));
    assert_eq!(
        alice.acting_for(Some(OrgId::parse("acme").unwrap())),
        Ok(Owner::Org(OrgId::parse("acme").unwrap()))
    );
    let root = user("root", Role::Admin, &[]);
    assert!(
        root.acting_for(Some(OrgId::parse("acme").unwrap()))
            .is_err()
    );
}

#[test]
fn the_actor_of_a_command_says_whether_admin_rights_were_used() {
    assert_eq!(
        user("alice", Role::Enterprise, &[]).actor(),
        Actor::User(UserId::parse("alice").unwrap())
    );
    assert_eq!(
        user("root", Role::Admin, &[]).actor(),
        Actor::Admin(UserId::parse("root").unwrap())
    );
}

#[test]
fn a_refusal_is_a_403_problem_that_says_why() {
    let alice = user("alice", Role::User, &[]);
    let problem: Problem = alice.may_manage("provision pools").unwrap_err().into();
    assert_eq!(problem.status(), axum::http::StatusCode::FORBIDDEN);
    let problem: Problem = alice
        .may_use_pool(&pool("user:bob/openai"))
        .unwrap_err()
        .into();
    assert_eq!(problem.status(), axum::http::StatusCode::FORBIDDEN);
}

//! The directory by example: given these facts of the log, this is who may do what.

use super::*;

fn t(ms: i64) -> domain::Timestamp {
    domain::Timestamp::from_millis(ms).unwrap()
}

fn alice() -> UserId {
    UserId::parse("alice").unwrap()
}

fn root() -> UserId {
    UserId::parse("root").unwrap()
}

fn admin_actor() -> Actor {
    Actor::Admin(root())
}

fn registration(user: UserId, role: Role) -> AuthEvent {
    AuthEvent::UserRegistered {
        user,
        password_hash: "h".into(),
        role,
        at: t(1),
    }
}

fn registered() -> Directory {
    let mut directory = Directory::default();
    directory.apply(&registration(alice(), Role::User));
    directory
}

#[test]
fn a_name_is_registered_once() {
    let directory = registered();
    let again = AuthEvent::UserRegistered {
        user: alice(),
        password_hash: "x".into(),
        role: Role::Admin,
        at: t(2),
    };
    assert_eq!(directory.register(again), Err(Refusal::UserExists(alice())));
}

#[test]
fn a_registration_never_grants_admin_whatever_the_name_or_the_role_it_carries() {
    let mut directory = Directory::default();
    // What the first-come rule wrote for whoever registered `admin` first.
    let squatter = UserId::parse("admin").unwrap();
    directory.apply(&registration(squatter.clone(), Role::Admin));
    assert_eq!(directory.user(&squatter).unwrap().role, Role::User);
}

#[test]
fn admin_comes_only_from_a_role_change_and_goes_with_one() {
    let mut directory = registered();
    directory.apply(&AuthEvent::RoleChanged {
        user: alice(),
        role: Role::Admin,
        by: admin_actor(),
        at: t(2),
    });
    assert_eq!(directory.user(&alice()).unwrap().role, Role::Admin);
    directory.apply(&AuthEvent::RoleChanged {
        user: alice(),
        role: Role::User,
        by: admin_actor(),
        at: t(3),
    });
    assert_eq!(directory.user(&alice()).unwrap().role, Role::User);
}

#[test]
fn the_bootstrap_credential_grants_admin_once_per_log() {
    let admin = UserId::parse("admin").unwrap();
    let mut directory = Directory::default();
    assert_eq!(directory.bootstrap(&admin), Bootstrap::Register);
    directory.apply(&registration(admin.clone(), Role::User));
    assert_eq!(
        directory.bootstrap(&admin),
        Bootstrap::PromoteIfPasswordMatches("h".into()),
        "a taken name is promoted only if its password is the bootstrap one"
    );
    directory.apply(&AuthEvent::RoleChanged {
        user: admin.clone(),
        role: Role::Admin,
        by: bootstrap_actor(),
        at: t(2),
    });
    // Demoted later by another ADMIN: the next start must not make it ADMIN again.
    directory.apply(&AuthEvent::RoleChanged {
        user: admin.clone(),
        role: Role::User,
        by: admin_actor(),
        at: t(3),
    });
    assert_eq!(directory.bootstrap(&admin), Bootstrap::Done);
    assert_eq!(directory.user(&admin).unwrap().role, Role::User);
}

#[test]
fn a_revoked_membership_is_gone_and_revoking_a_non_member_is_refused() {
    let acme = OrgId::parse("acme").unwrap();
    let mut directory = registered();
    directory.apply(&AuthEvent::OrgMembershipGranted {
        user: alice(),
        org: acme.clone(),
        at: t(2),
    });
    let revoke = AuthEvent::OrgMembershipRevoked {
        user: alice(),
        org: acme.clone(),
        by: admin_actor(),
        at: t(3),
    };
    assert_eq!(directory.about_user(revoke.clone()), Ok(revoke.clone()));
    directory.apply(&revoke);
    assert!(directory.user(&alice()).unwrap().orgs.is_empty());
    assert_eq!(
        directory.about_user(revoke),
        Err(Refusal::NotAMember {
            user: alice(),
            org: acme
        })
    );
}

#[test]
fn an_invitation_admits_its_name_once() {
    let bob = UserId::parse("bob").unwrap();
    let mut directory = Directory::default();
    directory.apply(&AuthEvent::InvitationIssued {
        user: bob.clone(),
        sha256: "abc".into(),
        by: admin_actor(),
        at: t(1),
    });
    assert!(directory.invitation_matches(&bob, "abc"));
    assert!(!directory.invitation_matches(&bob, "abd"));
    assert!(
        !directory.invitation_matches(&alice(), "abc"),
        "for bob only"
    );
    directory.apply(&registration(bob.clone(), Role::User));
    assert!(!directory.invitation_matches(&bob, "abc"), "used up");
}

#[test]
fn a_revoked_key_is_no_longer_found_by_its_hash() {
    let mut directory = registered();
    directory.apply(&AuthEvent::ApiKeyCreated {
        user: alice(),
        key_id: "k1".into(),
        sha256: "abc".into(),
        name: "ci".into(),
        at: t(2),
    });
    assert_eq!(directory.live_key("abc").unwrap().0, "k1");
    directory.apply(&AuthEvent::ApiKeyRevoked {
        user: alice(),
        key_id: "k1".into(),
        at: t(3),
    });
    assert!(directory.live_key("abc").is_none());
    assert!(directory.keys_of(&alice())[0].1.revoked);
}

#[test]
fn only_the_owner_revokes_a_key() {
    let mut directory = registered();
    let bob = UserId::parse("bob").unwrap();
    directory.apply(&registration(bob.clone(), Role::User));
    directory.apply(&AuthEvent::ApiKeyCreated {
        user: alice(),
        key_id: "k1".into(),
        sha256: "abc".into(),
        name: "ci".into(),
        at: t(2),
    });
    let theft = AuthEvent::ApiKeyRevoked {
        user: bob,
        key_id: "k1".into(),
        at: t(3),
    };
    assert_eq!(
        directory.about_user(theft),
        Err(Refusal::UnknownKey("k1".into()))
    );
}

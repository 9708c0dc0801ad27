//! GrantTokens and RevokeGrant: idempotency, the quota cap, revocation with overdraft.

use domain::TokenPoolEvent::*;
use domain::TokenPoolRejection::*;
use domain::{AmountField, ConflictSubject, GrantSource, TokenPoolCommand, Tokens};

use crate::support::*;

#[test]
fn a_grant_adds_tokens() {
    let pool = given([provisioned()])
        .when(
            t(10),
            TokenPoolCommand::GrantTokens {
                grant_id: gid(1),
                amount: tokens(500),
                source: purchase(9),
            },
        )
        .then([TokensGranted {
            grant_id: gid(1),
            amount: tokens(500),
            source: purchase(9),
            overdraft_repaid: Tokens::ZERO,
            at: t(10),
        }]);
    assert_eq!(pool.granted().get(), 500);
    assert_eq!(pool.available(), tokens(500));
}

#[test]
fn repeating_a_grant_with_the_same_id_and_amount_changes_nothing() {
    given([provisioned(), granted(1, 500)])
        .when(t(10), grant(1, 500))
        .then_nothing();
}

#[test]
fn reusing_a_grant_id_with_another_amount_is_a_conflict() {
    given([provisioned(), granted(1, 500)])
        .when(t(10), grant(1, 501))
        .then_rejected(Conflict {
            subject: ConflictSubject::Grant(gid(1)),
        });
}

#[test]
fn reusing_a_grant_id_with_another_source_is_a_conflict() {
    given([provisioned(), granted(1, 500)])
        .when(
            t(10),
            TokenPoolCommand::GrantTokens {
                grant_id: gid(1),
                amount: tokens(500),
                source: purchase(3),
            },
        )
        .then_rejected(Conflict {
            subject: ConflictSubject::Grant(gid(1)),
        });
}

#[test]
fn a_grant_of_zero_tokens_is_invalid() {
    given([provisioned()])
        .when(t(10), grant(1, 0))
        .then_rejected(InvalidAmount {
            field: AmountField::GrantAmount,
        });
}

#[test]
fn a_grant_up_to_the_cap_is_accepted() {
    given([provisioned(), granted(1, CAP - 100)])
        .when(t(10), grant(2, 100))
        .then([TokensGranted {
            grant_id: gid(2),
            amount: tokens(100),
            source: GrantSource::Admin,
            overdraft_repaid: Tokens::ZERO,
            at: t(10),
        }]);
}

#[test]
fn a_grant_past_the_cap_is_refused() {
    given([provisioned(), granted(1, CAP - 100)])
        .when(t(10), grant(2, 101))
        .then_rejected(QuotaCapExceeded {
            requested: tokens(101),
            unspent: tokens(CAP - 100),
            cap: tokens(CAP),
        });
}

#[test]
fn the_cap_counts_held_tokens_but_not_consumed_ones() {
    let history = [
        provisioned(),
        granted(1, CAP),
        reserved(1, 300, 0),
        consumed(200, 0),
    ];
    // 200 consumed make room for 200; the 300 held are still unspent.
    given(history.clone())
        .when(t(10), grant(2, 200))
        .then([TokensGranted {
            grant_id: gid(2),
            amount: tokens(200),
            source: GrantSource::Admin,
            overdraft_repaid: Tokens::ZERO,
            at: t(10),
        }]);
    given(history)
        .when(t(10), grant(2, 201))
        .then_rejected(QuotaCapExceeded {
            requested: tokens(201),
            unspent: tokens(CAP - 200),
            cap: tokens(CAP),
        });
}

#[test]
fn revoking_an_unspent_grant_takes_all_of_it_back() {
    let pool = given([provisioned(), granted(1, 500), granted(2, 100)])
        .when(t(10), revoke(1))
        .then([GrantRevoked {
            grant_id: gid(1),
            amount: tokens(500),
            recovered: tokens(500),
            overdraft_added: Tokens::ZERO,
            at: t(10),
        }]);
    assert_eq!(pool.granted().get(), 100);
    assert_eq!(pool.overdraft().get(), 0);
    assert_eq!(pool.available(), tokens(100));
}

#[test]
fn revoking_a_partly_spent_grant_records_the_spent_part_as_overdraft() {
    let pool = given([provisioned(), granted(1, 500), consumed(300, 5)])
        .when(t(10), revoke(1))
        .then([GrantRevoked {
            grant_id: gid(1),
            amount: tokens(500),
            recovered: tokens(200),
            overdraft_added: tokens(300),
            at: t(10),
        }]);
    assert_eq!(pool.granted().get(), 300, "consumed never exceeds granted");
    assert_eq!(pool.consumed().get(), 300);
    assert_eq!(pool.overdraft().get(), 300);
    assert_eq!(pool.available(), Tokens::ZERO);
}

#[test]
fn tokens_held_when_their_grant_is_revoked_stay_owed_after_release() {
    let pool = given([provisioned(), granted(1, 500), reserved(1, 400, 5)])
        .when(t(10), revoke(1))
        .then([GrantRevoked {
            grant_id: gid(1),
            amount: tokens(500),
            recovered: tokens(100),
            overdraft_added: tokens(400),
            at: t(10),
        }]);
    assert_eq!(pool.reserved().get(), 400);
    assert_eq!(pool.granted().get(), 400);

    let history = [
        provisioned(),
        granted(1, 500),
        reserved(1, 400, 5),
        GrantRevoked {
            grant_id: gid(1),
            amount: tokens(500),
            recovered: tokens(100),
            overdraft_added: tokens(400),
            at: t(10),
        },
    ];
    let pool = given(history)
        .when(t(20), release(1))
        .then([ReservationReleased {
            reservation_id: rid(1),
            amount: tokens(400),
            at: t(20),
        }]);
    assert_eq!(
        pool.available(),
        Tokens::ZERO,
        "released tokens repay the revocation"
    );
}

#[test]
fn a_later_grant_repays_the_overdraft_first() {
    let history = [
        provisioned(),
        granted(1, 500),
        consumed(300, 5),
        GrantRevoked {
            grant_id: gid(1),
            amount: tokens(500),
            recovered: tokens(200),
            overdraft_added: tokens(300),
            at: t(10),
        },
    ];
    let pool = given(history)
        .when(t(20), grant(2, 1_000))
        .then([TokensGranted {
            grant_id: gid(2),
            amount: tokens(1_000),
            source: GrantSource::Admin,
            overdraft_repaid: tokens(300),
            at: t(20),
        }]);
    assert_eq!(pool.overdraft().get(), 0);
    assert_eq!(pool.available(), tokens(700));
    assert_eq!(pool.granted().get(), 1_000);
    assert_eq!(pool.consumed().get(), 300);
}

#[test]
fn a_grant_smaller_than_the_overdraft_repays_part_of_it() {
    let history = [
        provisioned(),
        granted(1, 500),
        consumed(500, 5),
        GrantRevoked {
            grant_id: gid(1),
            amount: tokens(500),
            recovered: Tokens::ZERO,
            overdraft_added: tokens(500),
            at: t(10),
        },
    ];
    let pool = given(history)
        .when(t(20), grant(2, 200))
        .then([TokensGranted {
            grant_id: gid(2),
            amount: tokens(200),
            source: GrantSource::Admin,
            overdraft_repaid: tokens(200),
            at: t(20),
        }]);
    assert_eq!(pool.overdraft().get(), 300);
    assert_eq!(pool.available(), Tokens::ZERO);
}

#[test]
fn revoking_twice_changes_nothing_the_second_time() {
    let revoked = GrantRevoked {
        grant_id: gid(1),
        amount: tokens(500),
        recovered: tokens(500),
        overdraft_added: Tokens::ZERO,
        at: t(10),
    };
    given([provisioned(), granted(1, 500), revoked])
        .when(t(20), revoke(1))
        .then_nothing();
}

#[test]
fn repeating_a_grant_after_its_revocation_changes_nothing() {
    let revoked = GrantRevoked {
        grant_id: gid(1),
        amount: tokens(500),
        recovered: tokens(500),
        overdraft_added: Tokens::ZERO,
        at: t(10),
    };
    let pool = given([provisioned(), granted(1, 500), revoked])
        .when(t(20), grant(1, 500))
        .then_nothing();
    assert_eq!(pool.available(), Tokens::ZERO);
}

#[test]
fn revoking_an_unknown_grant_marks_it_so_a_late_grant_is_refused() {
    let tombstone = GrantRevoked {
        grant_id: gid(7),
        amount: Tokens::ZERO,
        recovered: Tokens::ZERO,
        overdraft_added: Tokens::ZERO,
        at: t(10),
    };
    given([provisioned()])
        .when(t(10), revoke(7))
        .then([tombstone.clone()]);
    given([provisioned(), tombstone])
        .when(t(20), grant(7, 500))
        .then_rejected(GrantAlreadyRevoked { grant_id: gid(7) });
}

#[test]
fn revoking_expires_lapsed_holds_first_so_their_tokens_are_recovered() {
    // Hold 1 (400 tokens) lapsed at 60_005.
    given([provisioned(), granted(1, 500), reserved(1, 400, 5)])
        .when(t(70_000), revoke(1))
        .then([
            ReservationExpired {
                reservation_id: rid(1),
                amount: tokens(400),
                expires_at: t(60_005),
                at: t(70_000),
            },
            GrantRevoked {
                grant_id: gid(1),
                amount: tokens(500),
                recovered: tokens(500),
                overdraft_added: Tokens::ZERO,
                at: t(70_000),
            },
        ]);
}

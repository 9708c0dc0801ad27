use std::time::{Duration, Instant};

use domain::{DurationMs, LimitSnapshot, PoolRateLimits, TokenTotal, Tokens};
use schemas::Balance;

use super::{Shelf, room_for};

fn balance(available: u64) -> Balance {
    Balance {
        granted: TokenTotal::new(available),
        consumed: TokenTotal::ZERO,
        reserved: TokenTotal::ZERO,
        available: Tokens::saturating_new(available),
    }
}

fn limits(requests: u64, tokens: u64) -> PoolRateLimits {
    let snapshot = |remaining| LimitSnapshot {
        limit: remaining,
        remaining,
        reset_after: DurationMs::from_millis(0).unwrap(),
    };
    PoolRateLimits {
        requests: snapshot(requests),
        tokens: snapshot(tokens),
    }
}

/// A shelf whose pool has plenty of room, after `calls` calls of 100 tokens in one second.
fn busy_shelf(calls: u64, start: Instant) -> Shelf<u32> {
    let mut shelf = Shelf::new(start);
    for _ in 0..calls {
        assert_eq!(shelf.take(100, start), None);
    }
    shelf.learn(
        Some(&balance(10_000_000)),
        Some(&limits(1_000_000, 10_000_000)),
    );
    shelf
}

#[test]
fn nothing_stands_ready_until_the_pool_has_shown_room() {
    let now = Instant::now();
    let mut shelf: Shelf<u32> = Shelf::new(now);
    assert_eq!(shelf.take(100, now), None);
    assert_eq!(shelf.refills(64), 0);
}

#[test]
fn a_shelf_covers_its_recent_call_rate_up_to_the_most_allowed() {
    let now = Instant::now();
    // 250 ms of calls at the rate of the last second.
    assert_eq!(busy_shelf(20, now).refills(512), 5);
    assert_eq!(busy_shelf(1_000, now).refills(512), 250);
    assert_eq!(busy_shelf(1_000, now).refills(16), 16);
    // A quiet caller still gets two ahead.
    assert_eq!(busy_shelf(1, now).refills(64), 2);
}

#[test]
fn holds_being_reserved_count_as_ready() {
    let now = Instant::now();
    let mut shelf = busy_shelf(20, now);
    assert_eq!(shelf.refills(64), 5);
    assert_eq!(shelf.refills(64), 0, "five are on their way");
    assert_eq!(shelf.filled(Some((1, 100))), None);
    assert_eq!(shelf.refills(64), 0, "one ready, four filling");
    assert_eq!((shelf.ready(), shelf.filling()), (1, 4));
}

#[test]
fn room_is_a_quarter_of_what_is_free_in_quota_and_both_limits() {
    let plenty = 1_000_000_000;
    let cases = [
        // (available, requests remaining, tokens remaining) -> holds of 100
        ((plenty, plenty, plenty), 2_500_000),
        ((4_000, plenty, plenty), 10),
        ((plenty, 40, plenty), 10),
        ((plenty, plenty, 4_000), 10),
        ((plenty, 3, plenty), 0),
        ((399, plenty, plenty), 0),
    ];
    for ((available, requests, tokens), expected) in cases {
        let room = room_for(
            100,
            Some(&balance(available)),
            Some(&limits(requests, tokens)),
        );
        assert_eq!(room, expected, "{available} {requests} {tokens}");
    }
    assert_eq!(room_for(100, None, Some(&limits(plenty, plenty))), 0);
    assert_eq!(room_for(100, Some(&balance(plenty)), None), 0);
}

#[test]
fn near_a_limit_every_call_reserves_for_itself() {
    let now = Instant::now();
    let mut shelf = busy_shelf(1_000, now);
    shelf.learn(Some(&balance(10_000_000)), Some(&limits(7, 10_000_000)));
    assert_eq!(shelf.refills(64), 1, "room for one: 7 requests left");
    shelf.learn(Some(&balance(10_000_000)), Some(&limits(3, 10_000_000)));
    assert_eq!(shelf.refills(64), 0);
}

#[test]
fn a_call_takes_the_oldest_hold_it_fits_in() {
    let now = Instant::now();
    let mut shelf = busy_shelf(100, now);
    shelf.refills(64);
    shelf.filled(Some((1, 100)));
    shelf.filled(Some((2, 100)));
    assert_eq!(shelf.take(80, now), Some(1));
    assert_eq!(shelf.take(100, now), Some(2));
    assert_eq!(shelf.take(100, now), None, "the shelf is empty");
}

#[test]
fn a_larger_call_reserves_for_itself_and_raises_the_size_of_later_holds() {
    let now = Instant::now();
    let mut shelf = busy_shelf(100, now);
    shelf.refills(64);
    shelf.filled(Some((1, 100)));
    assert_eq!(shelf.take(500, now), None, "no hold of 500 is ready");
    assert_eq!(shelf.size(), 500);
    assert_eq!(shelf.take(100, now), Some(1), "smaller calls still fit");
}

#[test]
fn after_a_refused_refill_nothing_more_is_reserved_ahead_and_late_holds_go_back() {
    let now = Instant::now();
    let mut shelf = busy_shelf(20, now);
    assert_eq!(shelf.refills(64), 5);
    shelf.refused();
    assert_eq!(
        shelf.filled(Some((9, 100))),
        Some(9),
        "handed back for release"
    );
    assert_eq!(shelf.refills(64), 0);
}

#[test]
fn an_idle_shelf_gives_its_holds_back() {
    let start = Instant::now();
    let mut shelf = busy_shelf(100, start);
    shelf.refills(64);
    shelf.filled(Some((1, 100)));
    shelf.filled(Some((2, 100)));
    assert!(!shelf.idle(start + Duration::from_secs(4), Duration::from_secs(5)));
    assert!(shelf.idle(start + Duration::from_secs(5), Duration::from_secs(5)));
    assert_eq!(shelf.drain(), vec![1, 2]);
    assert_eq!(shelf.refills(64), 0, "until the pool shows room again");
}

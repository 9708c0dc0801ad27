//! Which calls fail, and how: per request through test payment methods (like a card
//! provider's test cards), or for a share of all payments through the admin endpoint.
//!
//! A payment's fate is a hash of its id, never a dice roll, so a caller retrying a call
//! meets the same fault again: the stub stays idempotent while failing.

use serde::{Deserialize, Serialize};

/// Declines the reservation.
pub const DECLINED_CARD: &str = "pm_card_declined";
/// Reserves, but answers only after the hang time (the caller times out).
pub const TIMEOUT_CARD: &str = "pm_card_timeout";
/// Reserves; the capture is refused.
pub const CAPTURE_FAILS_CARD: &str = "pm_card_capture_fails";
/// Reserves; the capture happens but is answered only after the hang time.
pub const CAPTURE_TIMEOUT_CARD: &str = "pm_card_capture_timeout";

/// Faults applied to every payment, set through `PUT /v1/admin/faults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultPlan {
    /// Added to every answer, in ms.
    pub latency_ms: u64,
    /// How long a timed-out call hangs before it answers, in ms.
    pub hang_ms: u64,
    /// Percent of reservations declined.
    pub decline_percent: u8,
    /// Percent of reservations that hang.
    pub reserve_timeout_percent: u8,
    /// Percent of captures refused.
    pub capture_failure_percent: u8,
    /// Percent of captures that hang.
    pub capture_timeout_percent: u8,
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            hang_ms: 30_000,
            decline_percent: 0,
            reserve_timeout_percent: 0,
            capture_failure_percent: 0,
            capture_timeout_percent: 0,
        }
    }
}

/// What happens to one reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveFate {
    /// Reserved, answered at once.
    Reserve,
    /// Declined.
    Decline,
    /// Reserved, answered after the hang time.
    ReserveAndHang,
}

/// What happens to one capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFate {
    /// Captured, answered at once.
    Capture,
    /// Refused.
    Refuse,
    /// Captured, answered after the hang time.
    CaptureAndHang,
}

impl FaultPlan {
    /// The fate of reserving `payment_id` with `payment_method`.
    pub fn reserve_fate(&self, payment_id: &str, payment_method: &str) -> ReserveFate {
        match payment_method {
            DECLINED_CARD => ReserveFate::Decline,
            TIMEOUT_CARD => ReserveFate::ReserveAndHang,
            _ if hits(payment_id, "decline", self.decline_percent) => ReserveFate::Decline,
            _ if hits(payment_id, "reserve-timeout", self.reserve_timeout_percent) => {
                ReserveFate::ReserveAndHang
            }
            _ => ReserveFate::Reserve,
        }
    }

    /// The fate of capturing `payment_id`, reserved with `payment_method`.
    pub fn capture_fate(&self, payment_id: &str, payment_method: &str) -> CaptureFate {
        match payment_method {
            CAPTURE_FAILS_CARD => CaptureFate::Refuse,
            CAPTURE_TIMEOUT_CARD => CaptureFate::CaptureAndHang,
            _ if hits(payment_id, "capture-failure", self.capture_failure_percent) => {
                CaptureFate::Refuse
            }
            _ if hits(payment_id, "capture-timeout", self.capture_timeout_percent) => {
                CaptureFate::CaptureAndHang
            }
            _ => CaptureFate::Capture,
        }
    }
}

/// Whether `payment_id` is among the `percent` of payments a fault of `kind` hits.
fn hits(payment_id: &str, kind: &str, percent: u8) -> bool {
    percent > 0 && fnv1a(&[kind.as_bytes(), b"/", payment_id.as_bytes()]) % 100 < u64::from(percent)
}

/// FNV-1a: stable across runs and platforms, unlike the standard library's hasher.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    parts
        .iter()
        .flat_map(|part| part.iter())
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_fail_the_way_they_say() {
        let plan = FaultPlan::default();
        assert_eq!(plan.reserve_fate("p", DECLINED_CARD), ReserveFate::Decline);
        assert_eq!(
            plan.reserve_fate("p", TIMEOUT_CARD),
            ReserveFate::ReserveAndHang
        );
        assert_eq!(plan.reserve_fate("p", "pm_card_visa"), ReserveFate::Reserve);
        assert_eq!(
            plan.capture_fate("p", CAPTURE_FAILS_CARD),
            CaptureFate::Refuse
        );
        assert_eq!(
            plan.capture_fate("p", CAPTURE_TIMEOUT_CARD),
            CaptureFate::CaptureAndHang
        );
    }

    #[test]
    fn a_share_of_payments_fails_and_always_the_same_ones() {
        let plan = FaultPlan {
            decline_percent: 30,
            ..FaultPlan::default()
        };
        let declined: Vec<bool> = (0..1_000)
            .map(|n| {
                plan.reserve_fate(&format!("payment-{n}"), "pm_card_visa") == ReserveFate::Decline
            })
            .collect();
        let share = declined.iter().filter(|d| **d).count();
        assert!((230..370).contains(&share), "{share} of 1000 declined");
        let again: Vec<bool> = (0..1_000)
            .map(|n| {
                plan.reserve_fate(&format!("payment-{n}"), "pm_card_visa") == ReserveFate::Decline
            })
            .collect();
        assert_eq!(declined, again);
    }
}

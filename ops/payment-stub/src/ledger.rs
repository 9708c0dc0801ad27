//! The provider's book of payments: reserve (authorise), capture, release (void or refund).
//!
//! Pure: the HTTP layer decides the faults and hands in the verdicts. Every operation is
//! idempotent by payment id, so a caller retrying after a lost answer gets the same one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Refused at reservation: nothing is held.
    Declined,
    /// Authorised: the amount is held on the buyer's means of payment.
    Reserved,
    /// Charged.
    Captured,
    /// The hold was voided (or released before it was ever reserved): nothing charged.
    Released,
    /// Charged, then paid back in full.
    Refunded,
}

/// A reservation request: how much, how, and for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    /// What the caller is paying for (the purchase id), for the ledger.
    pub reference: String,
    /// Amount to hold, in cents.
    pub amount_cents: u64,
    /// The buyer's payment method token.
    pub payment_method: String,
}

/// One payment as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The caller's id of the payment (its idempotency key).
    pub payment_id: String,
    /// The request that reserved it; `None` if it was released before any reservation.
    pub request: Option<ReserveRequest>,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Cents charged and not refunded.
    pub net_charged_cents: u64,
    /// Cents held now.
    pub held_cents: u64,
}

/// What an operation answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Done (or already done): the payment as it now stands.
    Done(Payment),
    /// The reservation was declined.
    Declined(Payment),
    /// The capture was refused; the hold stays.
    CaptureRefused(Payment),
    /// The operation contradicts the payment's state or an earlier request.
    Conflict(String),
    /// No such payment.
    NotFound,
}

/// Every payment the provider has seen, by id.
#[derive(Debug, Default)]
pub struct Ledger {
    payments: BTreeMap<String, Payment>,
}

impl Ledger {
    /// Holds the amount, or declines it (`decline`); a repeat gets the first answer.
    pub fn reserve(&mut self, payment_id: &str, request: ReserveRequest, decline: bool) -> Answer {
        if let Some(existing) = self.payments.get(payment_id) {
            return match &existing.request {
                Some(first) if *first == request => match existing.status {
                    PaymentStatus::Declined => Answer::Declined(existing.clone()),
                    _ => Answer::Done(existing.clone()),
                },
                Some(_) => Answer::Conflict(format!(
                    "payment {payment_id} was reserved with another request"
                )),
                None => Answer::Conflict(format!(
                    "payment {payment_id} was released before it was reserved"
                )),
            };
        }
        let (status, held_cents) = if decline {
            (PaymentStatus::Declined, 0)
        } else {
            (PaymentStatus::Reserved, request.amount_cents)
        };
        let payment = Payment {
            payment_id: payment_id.to_owned(),
            request: Some(request),
            status,
            net_charged_cents: 0,
            held_cents,
        };
        self.payments.insert(payment_id.to_owned(), payment.clone());
        if decline {
            Answer::Declined(payment)
        } else {
            Answer::Done(payment)
        }
    }

    /// Charges the held amount, or refuses (`refuse`, the hold stays); idempotent.
    pub fn capture(&mut self, payment_id: &str, refuse: bool) -> Answer {
        let Some(payment) = self.payments.get_mut(payment_id) else {
            return Answer::NotFound;
        };
        match payment.status {
            PaymentStatus::Captured => Answer::Done(payment.clone()),
            PaymentStatus::Reserved if refuse => Answer::CaptureRefused(payment.clone()),
            PaymentStatus::Reserved => {
                payment.status = PaymentStatus::Captured;
                payment.net_charged_cents = payment.held_cents;
                payment.held_cents = 0;
                Answer::Done(payment.clone())
            }
            other => Answer::Conflict(format!(
                "payment {payment_id} is {other:?}; only a reserved payment can be captured"
            )),
        }
    }

    /// Voids the hold, or refunds the charge; an unknown id is marked released so that a
    /// reservation arriving after its own release is refused. Idempotent.
    pub fn release(&mut self, payment_id: &str) -> Answer {
        let payment = self
            .payments
            .entry(payment_id.to_owned())
            .or_insert_with(|| Payment {
                payment_id: payment_id.to_owned(),
                request: None,
                status: PaymentStatus::Released,
                net_charged_cents: 0,
                held_cents: 0,
            });
        match payment.status {
            PaymentStatus::Reserved => payment.status = PaymentStatus::Released,
            PaymentStatus::Captured => payment.status = PaymentStatus::Refunded,
            PaymentStatus::Declined | PaymentStatus::Released | PaymentStatus::Refunded => {}
        }
        payment.held_cents = 0;
        payment.net_charged_cents = 0;
        Answer::Done(payment.clone())
    }

    /// One payment.
    pub fn payment(&self, payment_id: &str) -> Option<Payment> {
        self.payments.get(payment_id).cloned()
    }

    /// Every payment, by id.
    pub fn payments(&self) -> Vec<Payment> {
        self.payments.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(amount_cents: u64) -> ReserveRequest {
        ReserveRequest {
            reference: "purchase-1".into(),
            amount_cents,
            payment_method: "pm_card_visa".into(),
        }
    }

    fn status(answer: Answer) -> PaymentStatus {
        match answer {
            Answer::Done(p) | Answer::Declined(p) | Answer::CaptureRefused(p) => p.status,
            other => panic!("no payment in {other:?}"),
        }
    }

    #[test]
    fn reserve_capture_charges_the_held_amount_once() {
        let mut ledger = Ledger::default();
        assert_eq!(
            status(ledger.reserve("p", request(500), false)),
            PaymentStatus::Reserved
        );
        assert_eq!(status(ledger.capture("p", false)), PaymentStatus::Captured);
        assert_eq!(status(ledger.capture("p", false)), PaymentStatus::Captured);
        let [payment] = ledger.payments().try_into().unwrap();
        assert_eq!((payment.net_charged_cents, payment.held_cents), (500, 0));
    }

    #[test]
    fn a_repeated_reservation_gets_the_first_answer_and_another_request_conflicts() {
        let mut ledger = Ledger::default();
        assert!(matches!(
            ledger.reserve("p", request(500), true),
            Answer::Declined(_)
        ));
        assert!(matches!(
            ledger.reserve("p", request(500), false),
            Answer::Declined(_)
        ));
        assert!(matches!(
            ledger.reserve("p", request(501), false),
            Answer::Conflict(_)
        ));
    }

    #[test]
    fn a_refused_capture_keeps_the_hold_and_release_voids_it() {
        let mut ledger = Ledger::default();
        ledger.reserve("p", request(500), false);
        assert!(matches!(
            ledger.capture("p", true),
            Answer::CaptureRefused(_)
        ));
        assert_eq!(status(ledger.release("p")), PaymentStatus::Released);
        assert!(matches!(ledger.capture("p", false), Answer::Conflict(_)));
        let [payment] = ledger.payments().try_into().unwrap();
        assert_eq!((payment.net_charged_cents, payment.held_cents), (0, 0));
    }

    #[test]
    fn releasing_a_captured_payment_refunds_it() {
        let mut ledger = Ledger::default();
        ledger.reserve("p", request(500), false);
        ledger.capture("p", false);
        assert_eq!(status(ledger.release("p")), PaymentStatus::Refunded);
        assert_eq!(status(ledger.release("p")), PaymentStatus::Refunded);
        assert_eq!(ledger.payments()[0].net_charged_cents, 0);
    }

    #[test]
    fn a_release_before_the_reservation_refuses_the_late_reservation() {
        let mut ledger = Ledger::default();
        assert_eq!(status(ledger.release("p")), PaymentStatus::Released);
        assert!(matches!(
            ledger.reserve("p", request(500), false),
            Answer::Conflict(_)
        ));
        assert_eq!(ledger.capture("q", false), Answer::NotFound);
    }
}

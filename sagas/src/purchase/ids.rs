//! Ids the saga derives from the purchase id, so a retry after any crash sends the very
//! same request (the payment provider and the pool processor deduplicate on them).

use domain::{CommandId, GrantId, PurchaseCommand, PurchaseId, PurchaseStep};
use uuid::Uuid;

/// Namespace of every id the purchase saga derives (UUIDv5).
const SAGA_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_616b_795f_7361_6761_5f70_7572_6368);

fn derived(purchase_id: PurchaseId, what: &str) -> Uuid {
    Uuid::new_v5(&SAGA_NAMESPACE, format!("{purchase_id}/{what}").as_bytes())
}

/// The provider's payment id (its idempotency key) of a purchase.
pub fn payment_id(purchase_id: PurchaseId) -> String {
    derived(purchase_id, "payment").to_string()
}

/// The grant a purchase asks the pool for.
pub fn grant_id(purchase_id: PurchaseId) -> GrantId {
    GrantId::from_uuid(derived(purchase_id, "grant"))
}

/// The id of the pool command performing `step` (grant or revoke) for a purchase.
pub fn pool_command_id(purchase_id: PurchaseId, step: PurchaseStep) -> CommandId {
    CommandId::from_uuid(derived(purchase_id, &format!("pool/{}", step.code())))
}

/// The id of the purchase command recording `command`: one per step and outcome kind, so a
/// repeat is deduplicated and a contradicting outcome is refused by the processor.
pub fn outcome_command_id(purchase_id: PurchaseId, command: &PurchaseCommand) -> CommandId {
    let step = command.step().map_or("request", PurchaseStep::code);
    CommandId::from_uuid(derived(
        purchase_id,
        &format!("outcome/{step}/{}", command.name()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct_per_purchase_and_purpose() {
        let a = PurchaseId::from_uuid(Uuid::from_u128(1));
        let b = PurchaseId::from_uuid(Uuid::from_u128(2));
        assert_eq!(payment_id(a), payment_id(a));
        assert_ne!(payment_id(a), payment_id(b));
        assert_eq!(grant_id(a), grant_id(a));
        assert_ne!(grant_id(a), grant_id(b));
        assert_ne!(
            pool_command_id(a, PurchaseStep::GrantTokens),
            pool_command_id(a, PurchaseStep::RevokeGrant)
        );
        assert_ne!(
            outcome_command_id(a, &PurchaseCommand::RecordPaymentReserved),
            outcome_command_id(a, &PurchaseCommand::RecordPaymentCaptured)
        );
    }
}

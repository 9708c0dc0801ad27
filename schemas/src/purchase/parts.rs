//! Avro forms of what purchase commands and events share: the order and failure reasons.

use apache_avro::types::Value;
use domain::{Cents, FailureReason, PurchaseOrder};

use crate::value::{Fields, MappingError, Symbols, bounded_long, nullable, record, string};

/// The code of a [`FailureReason`], without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureCode {
    PaymentDeclined,
    PaymentTimedOut,
    GrantRefused,
    GrantTimedOut,
    CaptureFailed,
    CaptureTimedOut,
}

/// The `FailureCode` enum of `FailureReason`.
pub(crate) const FAILURE_CODE: Symbols<FailureCode> = Symbols {
    record: "FailureReason",
    field: "code",
    table: &[
        ("PAYMENT_DECLINED", FailureCode::PaymentDeclined),
        ("PAYMENT_TIMED_OUT", FailureCode::PaymentTimedOut),
        ("GRANT_REFUSED", FailureCode::GrantRefused),
        ("GRANT_TIMED_OUT", FailureCode::GrantTimedOut),
        ("CAPTURE_FAILED", FailureCode::CaptureFailed),
        ("CAPTURE_TIMED_OUT", FailureCode::CaptureTimedOut),
    ],
};

/// The `PurchaseOrder` record value.
pub(crate) fn order_value(order: &PurchaseOrder) -> Value {
    record(vec![
        ("pool", string(&order.pool)),
        ("tokens", bounded_long(order.tokens.get())),
        ("price_cents", bounded_long(order.price.get())),
        ("payment_method", string(&order.payment_method)),
    ])
}

/// The `PurchaseOrder` record in `field`.
pub(crate) fn take_order(
    f: &mut Fields,
    field: &'static str,
) -> Result<PurchaseOrder, MappingError> {
    let mut o = f.record(field, "PurchaseOrder")?;
    let price = o.unsigned("price_cents")?;
    Ok(PurchaseOrder {
        pool: o.parse("pool")?,
        tokens: o.tokens("tokens")?,
        price: Cents::new(price).map_err(|e| o.invalid("price_cents", e))?,
        payment_method: o.parse("payment_method")?,
    })
}

/// The `FailureReason` record value.
pub(crate) fn reason_value(reason: &FailureReason) -> Result<Value, MappingError> {
    use FailureReason as R;
    let (code, rejection_code, message) = match reason {
        R::PaymentDeclined { message } => (FailureCode::PaymentDeclined, None, Some(message)),
        R::PaymentTimedOut => (FailureCode::PaymentTimedOut, None, None),
        R::GrantRefused { code, message } => (FailureCode::GrantRefused, Some(code), Some(message)),
        R::GrantTimedOut => (FailureCode::GrantTimedOut, None, None),
        R::CaptureFailed { message } => (FailureCode::CaptureFailed, None, Some(message)),
        R::CaptureTimedOut => (FailureCode::CaptureTimedOut, None, None),
    };
    Ok(record(vec![
        ("code", FAILURE_CODE.value(code)?),
        ("rejection_code", nullable(rejection_code.map(string))),
        ("message", nullable(message.map(string))),
    ]))
}

/// The `FailureReason` record in `field`.
pub(crate) fn take_reason(
    f: &mut Fields,
    field: &'static str,
) -> Result<FailureReason, MappingError> {
    let mut r = f.record(field, "FailureReason")?;
    let code = FAILURE_CODE.take(&mut r)?;
    let rejection_code = r.optional("rejection_code", Fields::string)?;
    let message = r.optional("message", Fields::string)?;
    let message = || message.clone().unwrap_or_default();
    Ok(match code {
        FailureCode::PaymentDeclined => FailureReason::PaymentDeclined { message: message() },
        FailureCode::PaymentTimedOut => FailureReason::PaymentTimedOut,
        FailureCode::GrantRefused => FailureReason::GrantRefused {
            code: rejection_code.unwrap_or_default(),
            message: message(),
        },
        FailureCode::GrantTimedOut => FailureReason::GrantTimedOut,
        FailureCode::CaptureFailed => FailureReason::CaptureFailed { message: message() },
        FailureCode::CaptureTimedOut => FailureReason::CaptureTimedOut,
    })
}

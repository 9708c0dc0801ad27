//! Errors as RFC 9457 problem details: the one [`Problem`] type every service answers with
//! (a `?` on a view-store error answers 503).

pub use problem::Problem;

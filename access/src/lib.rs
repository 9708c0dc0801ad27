//! Who is calling, and what they may do — one answer for the gateway, the command API and
//! the query API.
//!
//! A caller presents `Authorization: Bearer <credential>`: an API key (`lt_…`, looked up by
//! its SHA-256 in the auth log every service follows, so a revocation applies as soon as it
//! is read) or an access token (an RS256 JWT checked against the auth service's JWKS, which
//! is fetched again when a token names a key not seen yet). Either way the caller's role and
//! org memberships are the auth log's, as of now: never the token's claims.
//! [`Credentials`] turns it into an [`Identity`]; the rules on [`Identity`] are pure and say
//! whether it may spend from or read a pool, manage pools, or read across tenants.
#![forbid(unsafe_code)]

mod credentials;
mod http;
mod identity;
mod jwks;
mod settings;

pub use credentials::Credentials;
pub use http::authenticate;
pub use identity::{Identity, Refusal};
pub use settings::AccessSettings;

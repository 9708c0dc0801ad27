//! What a read is about, taken from its path once the caller is known to be allowed to read
//! it: the extractors every pool and owner route starts with.

use access::Identity;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use domain::{Owner, PoolId};

use crate::params::{owner, pool_id};
use crate::problem::Problem;

/// The pool of a `/{kind}/{id}/{provider}` path, which the caller may read (its own, its
/// org's, or any for an ADMIN).
#[derive(Debug, Clone)]
pub struct ReadablePool(pub PoolId);

impl<S: Send + Sync> FromRequestParts<S> for ReadablePool {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Who first: a stranger learns nothing, not even which paths are well formed.
        let caller = Identity::from_request_parts(parts, state).await?;
        let Path((kind, id, provider)) =
            Path::<(String, String, String)>::from_request_parts(parts, state)
                .await
                .map_err(bad_path)?;
        let pool = pool_id(&kind, &id, &provider)?;
        caller.may_use_pool(&pool)?;
        Ok(Self(pool))
    }
}

/// The owner of a `/{kind}/{id}` path, whose pools the caller may read.
#[derive(Debug, Clone)]
pub struct ReadableOwner(pub Owner);

impl<S: Send + Sync> FromRequestParts<S> for ReadableOwner {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Identity::from_request_parts(parts, state).await?;
        let Path((kind, id)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(bad_path)?;
        let owner = owner(&kind, &id)?;
        caller.may_use_pools_of(&owner)?;
        Ok(Self(owner))
    }
}

/// A path that does not fit its route's parameters.
pub(crate) fn bad_path(rejection: axum::extract::rejection::PathRejection) -> Problem {
    Problem::invalid_parameter("path", rejection.body_text())
}

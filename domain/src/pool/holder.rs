//! Who a hold belongs to: only its holder may settle or release it.
//!
//! The gateway holds tokens in a caller's pool for the length of a call and settles them to
//! the usage the provider reported. If the caller (or any member of the org the pool
//! belongs to) could release that hold, the call would be free; so a hold records who made
//! it, and through which of our services, and nobody else resolves it.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::names::ServiceName;

/// The maker of a hold: the actor, and the service that made it on the actor's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Holder {
    /// On whose behalf the hold was made.
    pub actor: Actor,
    /// The service that made it for the actor (`gateway`), `None` when the actor did
    /// through the command API.
    pub via: Option<ServiceName>,
}

impl Holder {
    /// The holder of a command issued by `actor` through `via`.
    pub fn new(actor: Actor, via: Option<ServiceName>) -> Self {
        Self { actor, via }
    }

    /// Whether this hold was made by one of our services rather than by a tenant.
    pub fn is_service(&self) -> bool {
        self.via.is_some()
    }
}

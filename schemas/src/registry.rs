//! The schema registry as a codec uses it: register once per subject, look each id up once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use schema_registry_converter::async_impl::schema_registry::{
    SrSettings, get_schema_by_id, post_schema,
};
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{RawError, SchemaType, SuppliedSchema};
use settings::RegistrySettings;

use crate::error::{DecodeError, SetupError};
use crate::prepared::{PreparedSchema, prepare};

/// The registry's error code for "no schema with this id".
const SCHEMA_NOT_FOUND: u32 = 40403;

/// How long one registry call may take before it counts as unavailable.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A Confluent-compatible schema registry client that caches what never changes.
///
/// Cheap to clone; clones share the caches.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: SrSettings,
    /// Subject -> (schema text, id) registered by this process, so encoding a record
    /// costs no registry call after the first of its topic.
    registered: Mutex<HashMap<String, (&'static str, u32)>>,
    /// Id -> writer schema. A registry never changes the schema behind an id, so entries
    /// never go stale and decoding costs one call per schema ever seen, not per record.
    by_id: Mutex<HashMap<u32, &'static PreparedSchema>>,
}

impl SchemaRegistry {
    /// A client of the registry at `url` (the base of its Confluent API).
    pub fn new(url: &str) -> Result<Self, SetupError> {
        let settings = SrSettings::new_builder(url.to_owned())
            .set_timeout(CALL_TIMEOUT)
            .build()
            .map_err(SetupError::Registry)?;
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                registered: Mutex::default(),
                by_id: Mutex::default(),
            }),
        })
    }

    /// A client of the registry in `settings`.
    pub fn from_settings(settings: &RegistrySettings) -> Result<Self, SetupError> {
        Self::new(settings.url.as_str())
    }

    /// The id of Avro `schema` under `subject`, registering it there on first use.
    ///
    /// Registering a schema the subject already has just returns its id; a schema that is
    /// not compatible with the subject's latest one is refused by the registry.
    pub async fn register(&self, subject: &str, schema: &'static str) -> Result<u32, SRCError> {
        // Same constant, same address: no need to compare kilobytes of text per record.
        if let Some(&(text, id)) = lock(&self.inner.registered).get(subject)
            && (std::ptr::eq(text, schema) || text == schema)
        {
            return Ok(id);
        }
        let supplied = SuppliedSchema::new(None, SchemaType::Avro, schema.to_owned());
        let registered = post_schema(&self.inner.settings, subject.to_owned(), supplied).await?;
        // Two tasks may both get here for one subject; the registry answers both alike.
        lock(&self.inner.registered).insert(subject.to_owned(), (schema, registered.id));
        Ok(registered.id)
    }

    /// The schema with `id`, prepared to read data, fetched from the registry on first use.
    pub async fn prepared(&self, id: u32) -> Result<&'static PreparedSchema, DecodeError> {
        if let Some(&schema) = lock(&self.inner.by_id).get(&id) {
            return Ok(schema);
        }
        let registered = get_schema_by_id(id, &self.inner.settings)
            .await
            .map_err(|source| {
                if is_not_found(&source) {
                    DecodeError::UnknownSchemaId { id }
                } else {
                    DecodeError::RegistryUnavailable { id, source }
                }
            })?;
        let unusable = |detail: String| DecodeError::UnusableWriterSchema { id, detail };
        if registered.schema_type != SchemaType::Avro {
            return Err(unusable(format!("it is {:?}", registered.schema_type)));
        }
        if !registered.references.is_empty() {
            return Err(unusable(
                "it has references, which are not supported".into(),
            ));
        }
        let schema = prepare(&registered.schema).map_err(|e| unusable(e.to_string()))?;
        lock(&self.inner.by_id).insert(id, schema);
        Ok(schema)
    }
}

/// Whether the registry answered that it has no such schema (rather than failing to answer).
fn is_not_found(error: &SRCError) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<RawError>())
        .is_some_and(|raw| raw.error_code == SCHEMA_NOT_FOUND)
}

/// The caches hold plain data that every write leaves consistent, so a panic elsewhere
/// while one was locked does not make it wrong: keep using it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

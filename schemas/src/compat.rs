//! Whether a schema version can read everything the older versions of its topic wrote.
//!
//! Topics keep their records (events forever), and consumers are upgraded before or
//! after producers in any order, so each new version must be BACKWARD compatible with
//! every earlier one, not just the last (BACKWARD_TRANSITIVE). The registry enforces
//! BACKWARD against the latest version when a schema is registered; this check runs
//! earlier, in `cargo test`, against every version, and `tests/compat.rs` also asks the
//! real registry.

use apache_avro::Schema;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};

use crate::error::SchemaError;
use crate::topic::TopicKind;

/// Why a topic's schema history is not BACKWARD compatible.
#[derive(Debug, thiserror::Error)]
pub enum CompatError {
    /// A version does not parse.
    #[error(transparent)]
    Parse(#[from] SchemaError),
    /// A version cannot read what an earlier one wrote.
    #[error("{kind} v{reader} cannot read every value v{writer} wrote: {reason}")]
    NotBackward {
        /// The topic kind.
        kind: TopicKind,
        /// The older (writer's) version.
        writer: usize,
        /// The newer (reader's) version.
        reader: usize,
        /// apache-avro's reason.
        reason: String,
    },
}

/// Checks that each of `versions` (oldest first, `versions[0]` is v1) reads every earlier one.
pub fn check_history(kind: TopicKind, versions: &[&str]) -> Result<(), CompatError> {
    let parsed = versions
        .iter()
        .zip(1..)
        .map(|(text, version)| {
            Schema::parse_str(text).map_err(|source| SchemaError {
                kind,
                version,
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (reader_index, reader) in parsed.iter().enumerate() {
        for (writer_index, writer) in parsed[..reader_index].iter().enumerate() {
            can_read(writer, reader).map_err(|reason| CompatError::NotBackward {
                kind,
                writer: writer_index + 1,
                reader: reader_index + 1,
                reason,
            })?;
        }
    }
    Ok(())
}

/// [`check_history`] of every topic kind's published versions.
pub fn check_published() -> Result<(), CompatError> {
    TopicKind::ALL
        .into_iter()
        .try_for_each(|kind| check_history(kind, kind.versions()))
}

/// Whether `reader` can read every value written with `writer`.
///
/// apache-avro's `Partial` (some values resolve, e.g. an enum that lost a symbol) counts
/// as incompatible: a topic holds every value that was ever written.
pub fn can_read(writer: &Schema, reader: &Schema) -> Result<(), String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => Ok(()),
        Ok(Compatibility::Partial) => Err("only some values can be read".into()),
        Err(e) => Err(e.to_string()),
    }
}

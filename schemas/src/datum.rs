//! Rust values to Avro binary and back, without the registry: schemas are given.

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::ResolvedSchema;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;

use crate::error::{EncodeError, Mismatch, SchemaError};
use crate::resolve::Resolver;
use crate::topic::TopicKind;
use crate::value::MappingError;

/// A Rust value carried as the value of one kind of topic, mapped by hand to its Avro record.
pub trait TopicRecord: Sized {
    /// The kind of topic these values are written to.
    const KIND: TopicKind;
    /// The Avro value, shaped like the current schema of `KIND`.
    fn to_avro(&self) -> Result<Value, MappingError>;
    /// The Rust value of an Avro value already resolved to the current schema of `KIND`.
    fn from_avro(value: Value) -> Result<Self, MappingError>;
}

/// Schema version `version` (1-based) of `kind`, parsed.
pub fn schema_version(kind: TopicKind, version: usize) -> Result<Schema, SchemaError> {
    let text = version
        .checked_sub(1)
        .and_then(|i| kind.versions().get(i))
        .copied()
        .unwrap_or_default();
    Schema::parse_str(text).map_err(|source| SchemaError {
        kind,
        version,
        source,
    })
}

/// The current (newest) schema of `kind`, parsed.
pub fn current_schema(kind: TopicKind) -> Result<Schema, SchemaError> {
    schema_version(kind, kind.versions().len())
}

/// `record` as Avro binary of `schema` (the current schema of its kind), without framing.
pub fn write_datum<R: TopicRecord>(schema: &Schema, record: &R) -> Result<Vec<u8>, EncodeError> {
    let value = record.to_avro()?;
    let avro = |source| EncodeError::Avro {
        kind: R::KIND,
        source,
    };
    // Validation is on by default: a value that does not fit is an error, not corrupt bytes.
    let writer = GenericDatumWriter::builder(schema).build().map_err(avro)?;
    writer.write_value_to_vec(value).map_err(avro)
}

/// The record in `datum`, written with `writer` and read as `reader` (the current schema).
pub fn read_datum<R: TopicRecord>(
    writer: &Schema,
    reader: &Schema,
    datum: &[u8],
) -> Result<R, Mismatch> {
    Ok(R::from_avro(read_value(writer, reader, datum)?)?)
}

/// The Avro value in `datum`, written with `writer`, resolved to `reader`.
pub fn read_value(writer: &Schema, reader: &Schema, datum: &[u8]) -> Result<Value, Mismatch> {
    let writer_names = ResolvedSchema::new(writer).map_err(Mismatch::Avro)?;
    let reader_names = ResolvedSchema::new(reader).map_err(Mismatch::Avro)?;
    let written = read_written(writer, datum)?;
    let resolver = Resolver {
        writer_names: writer_names.get_names(),
        reader_names: reader_names.get_names(),
        reader_root: reader,
    };
    resolver
        .resolve(written, writer, reader)
        .map_err(Mismatch::Resolve)
}

/// The Avro value in `datum` as its writer wrote it (union indexes are the writer's).
pub fn read_written(writer: &Schema, datum: &[u8]) -> Result<Value, Mismatch> {
    let mut rest = datum;
    // No reader schema here: apache-avro would resolve unions by trying branches (see `resolve`).
    let value = GenericDatumReader::builder(writer)
        .build()
        .and_then(|r| r.read_value(&mut rest))
        .map_err(Mismatch::Avro)?;
    if !rest.is_empty() {
        return Err(Mismatch::TrailingBytes(rest.len()));
    }
    Ok(value)
}

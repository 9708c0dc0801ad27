//! Schemas parsed once per process, with their named types resolved and their datum
//! reader and writer built.
//!
//! apache-avro resolves a schema's names (hashing every named type) each time a reader or
//! writer is built; done per record that cost more than the encoding itself (profiled on
//! the command path). A process sees a handful of distinct schemas, so each is prepared
//! once and kept for the life of the process.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::{NamesRef, ResolvedSchema};
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;

use crate::datum::TopicRecord;
use crate::error::{EncodeError, Mismatch};
use crate::resolve::Resolver;

/// A schema ready to read and write data.
pub struct PreparedSchema {
    schema: &'static Schema,
    names: ResolvedSchema<'static>,
    writer: GenericDatumWriter<'static>,
    reader: GenericDatumReader<'static>,
}

impl std::fmt::Debug for PreparedSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedSchema")
            .field("schema", &self.schema.name())
            .finish_non_exhaustive()
    }
}

/// Prepared schemas by their text; entries live as long as the process.
static PREPARED: LazyLock<Mutex<HashMap<String, &'static PreparedSchema>>> =
    LazyLock::new(Mutex::default);

/// The schema of `text`, prepared on first use.
pub fn prepare(text: &str) -> Result<&'static PreparedSchema, apache_avro::Error> {
    let mut prepared = PREPARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&schema) = prepared.get(text) {
        return Ok(schema);
    }
    let schema: &'static Schema = Box::leak(Box::new(Schema::parse_str(text)?));
    let ready: &'static PreparedSchema = Box::leak(Box::new(PreparedSchema {
        schema,
        names: ResolvedSchema::new(schema)?,
        writer: GenericDatumWriter::builder(schema).build()?,
        reader: GenericDatumReader::builder(schema).build()?,
    }));
    prepared.insert(text.to_owned(), ready);
    Ok(ready)
}

impl PreparedSchema {
    /// The parsed schema.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// `record` as Avro binary of this schema (the current schema of its kind), unframed.
    pub fn write<R: TopicRecord>(&self, record: &R) -> Result<Vec<u8>, EncodeError> {
        let value = record.to_avro()?;
        // Validation is on by default: a value that does not fit is an error, not corrupt bytes.
        self.writer
            .write_value_to_vec(value)
            .map_err(|source| EncodeError::Avro {
                kind: R::KIND,
                source,
            })
    }

    /// The record in `datum`, written with this schema and read as `reader`.
    pub fn read<R: TopicRecord>(
        &self,
        reader: &PreparedSchema,
        datum: &[u8],
    ) -> Result<R, Mismatch> {
        Ok(R::from_avro(self.read_value(reader, datum)?)?)
    }

    /// The named types of the schema.
    pub fn names(&self) -> &NamesRef<'static> {
        self.names.get_names()
    }

    /// The Avro value in `datum` as this schema wrote it (union indexes are the writer's).
    pub fn read_written(&self, datum: &[u8]) -> Result<Value, Mismatch> {
        let mut rest = datum;
        // No reader schema in apache-avro's reader: it would resolve unions by trying
        // branches; `Resolver` maps them by name.
        let written = self.reader.read_value(&mut rest).map_err(Mismatch::Avro)?;
        if !rest.is_empty() {
            return Err(Mismatch::TrailingBytes(rest.len()));
        }
        Ok(written)
    }

    /// The Avro value in `datum`, written with this schema, resolved to `reader`.
    pub fn read_value(&self, reader: &PreparedSchema, datum: &[u8]) -> Result<Value, Mismatch> {
        let written = self.read_written(datum)?;
        let resolver = Resolver {
            writer_names: self.names.get_names(),
            reader_names: reader.names.get_names(),
            reader_root: reader.schema,
        };
        resolver
            .resolve(written, self.schema, reader.schema)
            .map_err(Mismatch::Resolve)
    }
}

//! Schema resolution (data written with one schema, read as another) that picks every union
//! branch by name, as the Avro specification says.
//!
//! apache-avro 0.22 resolves a union value by trying the reader's branches in order and
//! keeping the first one the value fits, and a record value fits any record schema whose
//! fields it has (extra fields are ignored). For our unions that is wrong, not just slow: a
//! `ReservationExpired` fits the earlier `ReservationReleased`, and any command fits the
//! field-less `ExpireReservations`. Here the writer's branch is known from the data, and it
//! is matched to the reader's first branch of the same name (named types) or type (others).
//! Records, enums, arrays and maps are walked here; leaves (primitives, logical types and
//! their promotions) and field defaults are left to apache-avro, where no union is involved.

use std::fmt;

use apache_avro::schema::{EnumSchema, NamesRef, RecordField, RecordSchema, SchemaKind};
use apache_avro::types::Value;
use apache_avro::{Error as AvroError, Schema};

use crate::value::kind;

/// Why a value written with one schema cannot be read with another.
#[derive(Debug)]
pub struct ResolveError {
    /// Field and branch names from the top record down to where it failed.
    path: Vec<String>,
    /// What failed there.
    pub kind: ResolveErrorKind,
}

/// What made resolution fail.
#[derive(Debug, thiserror::Error)]
pub enum ResolveErrorKind {
    /// The value does not have the shape of the writer's schema.
    #[error("a {found} value does not fit the writer's {schema:?} schema")]
    NotWriterShape {
        /// The Avro type of the value.
        found: &'static str,
        /// The kind of the writer schema.
        schema: SchemaKind,
    },
    /// A schema refers to a named type it does not define.
    #[error("the type {0} is not defined")]
    UnknownName(String),
    /// The writer's branch has no counterpart in the reader's union.
    #[error("no branch of the reader's union can read the writer's {0}")]
    NoBranch(String),
    /// The two schemas are of kinds that cannot be resolved.
    #[error("the writer's {writer:?} cannot be read as the reader's {reader:?}")]
    Mismatch {
        /// The writer's kind.
        writer: SchemaKind,
        /// The reader's kind.
        reader: SchemaKind,
    },
    /// The reader has a field the writer lacks, without a default.
    #[error("the reader's field {0} is not in the data and has no default")]
    MissingField(String),
    /// An enum symbol the reader lacks, and the reader's enum has no default.
    #[error("the reader's enum has no symbol {0} and no default")]
    UnknownSymbol(String),
    /// apache-avro could not resolve a leaf value or a default.
    #[error(transparent)]
    Avro(#[from] AvroError),
}

impl ResolveError {
    fn new(kind: impl Into<ResolveErrorKind>) -> Self {
        Self {
            path: Vec::new(),
            kind: kind.into(),
        }
    }

    /// Adds the name of the enclosing field or branch (errors are built inside out).
    fn within(mut self, name: &str) -> Self {
        self.path.push(name.to_owned());
        self
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path: Vec<&str> = self.path.iter().rev().map(String::as_str).collect();
        write!(f, "at {}: {}", path.join("."), self.kind)
    }
}

impl std::error::Error for ResolveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.kind.source()
    }
}

/// Resolves values of one writer schema to one reader schema.
pub(crate) struct Resolver<'s> {
    /// Named types of the writer schema.
    pub(crate) writer_names: &'s NamesRef<'s>,
    /// Named types of the reader schema.
    pub(crate) reader_names: &'s NamesRef<'s>,
    /// The reader's whole schema, which field defaults may refer into.
    pub(crate) reader_root: &'s Schema,
}

impl Resolver<'_> {
    /// `value`, written with `writer`, as `reader` reads it.
    pub(crate) fn resolve(
        &self,
        value: Value,
        writer: &Schema,
        reader: &Schema,
    ) -> Result<Value, ResolveError> {
        let writer = deref(writer, self.writer_names)?;
        let reader = deref(reader, self.reader_names)?;
        match (writer, reader) {
            (Schema::Union(w), _) => {
                let Value::Union(index, inner) = value else {
                    return Err(not_writer_shape(&value, writer));
                };
                let branch = usize::try_from(index)
                    .ok()
                    .and_then(|i| w.variants().get(i))
                    .ok_or_else(|| {
                        ResolveError::new(ResolveErrorKind::NoBranch(index.to_string()))
                    })?;
                self.resolve(*inner, branch, reader)
                    .map_err(|e| e.within(&type_name(branch)))
            }
            (_, Schema::Union(r)) => {
                let (index, branch) = self.branch_for(writer, r.variants())?;
                let resolved = self.resolve(value, writer, branch)?;
                Ok(Value::Union(index, Box::new(resolved)))
            }
            (Schema::Record(w), Schema::Record(r)) => self.record(value, w, r),
            (Schema::Enum(_), Schema::Enum(r)) => enumeration(value, r),
            (Schema::Array(w), Schema::Array(r)) => match value {
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| self.resolve(item, &w.items, &r.items))
                    .collect::<Result<_, _>>()
                    .map(Value::Array),
                other => Err(not_writer_shape(&other, writer)),
            },
            (Schema::Map(w), Schema::Map(r)) => match value {
                Value::Map(entries) => entries
                    .into_iter()
                    .map(|(k, v)| Ok((k, self.resolve(v, &w.types, &r.types)?)))
                    .collect::<Result<_, ResolveError>>()
                    .map(Value::Map),
                other => Err(not_writer_shape(&other, writer)),
            },
            (w, r) if is_composite(w) || is_composite(r) => {
                Err(ResolveError::new(ResolveErrorKind::Mismatch {
                    writer: SchemaKind::from(w),
                    reader: SchemaKind::from(r),
                }))
            }
            // Same primitive or logical type: the value already has the reader's shape.
            (w, r) if w == r => Ok(value),
            // Primitives and logical types: promotions (int to long, string to uuid, ...).
            (_, r) => value.resolve(r).map_err(ResolveError::new),
        }
    }

    /// The reader's branch for a value of the writer's (non-union) `writer` schema:
    /// the first of the same name or type, else the first `writer` promotes to.
    fn branch_for<'r>(
        &self,
        writer: &Schema,
        branches: &'r [Schema],
    ) -> Result<(u32, &'r Schema), ResolveError> {
        let derefed = |b: &'r Schema| deref(b, self.reader_names).map(|d| (b, d));
        let candidates: Vec<(&Schema, &Schema)> =
            branches.iter().map(derefed).collect::<Result<_, _>>()?;
        let same = candidates.iter().position(|(_, r)| same_type(writer, r));
        let promoted = || candidates.iter().position(|(_, r)| promotes(writer, r));
        same.or_else(promoted)
            .and_then(|i| Some((u32::try_from(i).ok()?, candidates[i].0)))
            .ok_or_else(|| ResolveError::new(ResolveErrorKind::NoBranch(type_name(writer))))
    }

    fn record(
        &self,
        value: Value,
        writer: &RecordSchema,
        reader: &RecordSchema,
    ) -> Result<Value, ResolveError> {
        let Value::Record(mut written) = value else {
            return Err(not_writer_shape(&value, &Schema::Record(writer.clone())));
        };
        let mut fields = Vec::with_capacity(reader.fields.len());
        for field in &reader.fields {
            let source = writer
                .fields
                .iter()
                .find(|w| w.name == field.name || field.aliases.contains(&w.name));
            let value = match source {
                Some(w) => {
                    let slot = written.iter_mut().find(|(name, _)| *name == w.name);
                    let value = slot.map(|(_, v)| std::mem::replace(v, Value::Null));
                    let value = value.ok_or_else(|| {
                        ResolveError::new(ResolveErrorKind::MissingField(w.name.clone()))
                    })?;
                    self.resolve(value, &w.schema, &field.schema)
                }
                None => self.default(field),
            };
            fields.push((
                field.name.clone(),
                value.map_err(|e| e.within(&field.name))?,
            ));
        }
        Ok(Value::Record(fields))
    }

    /// The reader's default for a field the writer did not have.
    fn default(&self, field: &RecordField) -> Result<Value, ResolveError> {
        let json = field
            .default
            .clone()
            .ok_or_else(|| ResolveError::new(ResolveErrorKind::MissingField(field.name.clone())))?;
        let value = Value::try_from(json).map_err(ResolveError::new)?;
        let schemata = vec![self.reader_root];
        match deref(&field.schema, self.reader_names)? {
            // A union's default is a value of its first branch.
            Schema::Union(u) => {
                let first = u.variants().first().ok_or_else(|| {
                    ResolveError::new(ResolveErrorKind::NoBranch("(empty union)".into()))
                })?;
                let value = value
                    .resolve_schemata(first, schemata)
                    .map_err(ResolveError::new)?;
                Ok(Value::Union(0, Box::new(value)))
            }
            schema => value
                .resolve_schemata(schema, schemata)
                .map_err(ResolveError::new),
        }
    }
}

fn enumeration(value: Value, reader: &EnumSchema) -> Result<Value, ResolveError> {
    let Value::Enum(_, symbol) = value else {
        return Err(not_writer_shape(&value, &Schema::Enum(reader.clone())));
    };
    let known = |s: &str| reader.symbols.iter().position(|r| r == s);
    let (index, symbol) = match known(&symbol) {
        Some(i) => (i, symbol),
        None => match &reader.default {
            Some(default) => (known(default).unwrap_or_default(), default.clone()),
            None => return Err(ResolveError::new(ResolveErrorKind::UnknownSymbol(symbol))),
        },
    };
    let index = u32::try_from(index).unwrap_or_default();
    Ok(Value::Enum(index, symbol))
}

/// `schema`, or the named type it refers to.
fn deref<'a>(schema: &'a Schema, names: &'a NamesRef<'a>) -> Result<&'a Schema, ResolveError> {
    match schema {
        Schema::Ref { name } => names
            .get(name)
            .copied()
            .ok_or_else(|| ResolveError::new(ResolveErrorKind::UnknownName(name.fullname(None)))),
        other => Ok(other),
    }
}

fn is_composite(schema: &Schema) -> bool {
    matches!(
        schema,
        Schema::Record(_) | Schema::Enum(_) | Schema::Array(_) | Schema::Map(_) | Schema::Union(_)
    )
}

/// Same named type (by unqualified name or the reader's alias), or same unnamed type.
fn same_type(writer: &Schema, reader: &Schema) -> bool {
    match (writer.name(), reader.name()) {
        (Some(w), Some(r)) => {
            let aliased = reader
                .aliases()
                .is_some_and(|aliases| aliases.iter().any(|a| a.name() == w.name()));
            SchemaKind::from(writer) == SchemaKind::from(reader)
                && (w.name() == r.name() || aliased)
        }
        (None, None) => SchemaKind::from(writer) == SchemaKind::from(reader),
        _ => false,
    }
}

/// Whether the spec's promotions (or a logical type over the same primitive) read `writer` as `reader`.
fn promotes(writer: &Schema, reader: &Schema) -> bool {
    use SchemaKind as K;
    let (w, r) = (primitive(writer), primitive(reader));
    match (w, r) {
        (Some(w), Some(r)) => {
            w == r
                || matches!(
                    (w, r),
                    (K::Int, K::Long | K::Float | K::Double)
                        | (K::Long, K::Float | K::Double)
                        | (K::Float, K::Double)
                        | (K::String, K::Bytes)
                        | (K::Bytes, K::String)
                )
        }
        _ => false,
    }
}

/// The primitive a schema is encoded as, for the types promotion applies to.
fn primitive(schema: &Schema) -> Option<SchemaKind> {
    use apache_avro::schema::UuidSchema;
    Some(match schema {
        Schema::Int | Schema::Date | Schema::TimeMillis => SchemaKind::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => SchemaKind::Long,
        Schema::String | Schema::Uuid(UuidSchema::String) => SchemaKind::String,
        Schema::Bytes | Schema::Uuid(UuidSchema::Bytes) => SchemaKind::Bytes,
        Schema::Float => SchemaKind::Float,
        Schema::Double => SchemaKind::Double,
        Schema::Boolean => SchemaKind::Boolean,
        Schema::Null => SchemaKind::Null,
        _ => return None,
    })
}

/// A schema's name for messages and error paths: its unqualified name or its type.
pub(crate) fn type_name(schema: &Schema) -> String {
    match schema.name() {
        Some(name) => name.name().to_owned(),
        None => format!("{:?}", SchemaKind::from(schema)).to_lowercase(),
    }
}

fn not_writer_shape(value: &Value, schema: &Schema) -> ResolveError {
    ResolveError::new(ResolveErrorKind::NotWriterShape {
        found: kind(value),
        schema: SchemaKind::from(schema),
    })
}

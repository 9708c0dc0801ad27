//! Taking a record value apart field by field, into domain types.

use std::error::Error as StdError;
use std::str::FromStr;

use apache_avro::types::Value;
use domain::{DurationMs, Timestamp, Tokens};
use uuid::Uuid;

use super::{MappingError, wrong_type};

/// The fields of one record value, taken out by name.
#[derive(Debug)]
pub(crate) struct Fields {
    record: &'static str,
    fields: Vec<(String, Value)>,
}

impl Fields {
    /// The fields of `value`, which must be a record (named `record` in errors).
    pub(crate) fn of(record: &'static str, value: Value) -> Result<Self, MappingError> {
        match value {
            Value::Record(fields) => Ok(Self { record, fields }),
            other => Err(wrong_type(record, "(value)", "record", &other)),
        }
    }

    /// The raw value of `field`.
    pub(crate) fn take(&mut self, field: &'static str) -> Result<Value, MappingError> {
        let slot = self
            .fields
            .iter_mut()
            .find(|(name, _)| name == field)
            .ok_or(MappingError::MissingField {
                record: self.record,
                field,
            })?;
        Ok(std::mem::replace(&mut slot.1, Value::Null))
    }

    /// A `string` field.
    pub(crate) fn string(&mut self, field: &'static str) -> Result<String, MappingError> {
        match self.take(field)? {
            Value::String(s) => Ok(s),
            other => Err(wrong_type(self.record, field, "string", &other)),
        }
    }

    /// A `string` field parsed into a domain type.
    pub(crate) fn parse<T>(&mut self, field: &'static str) -> Result<T, MappingError>
    where
        T: FromStr,
        T::Err: StdError + Send + Sync + 'static,
    {
        let s = self.string(field)?;
        s.parse().map_err(|e| self.invalid(field, e))
    }

    /// A `long` field.
    pub(crate) fn long(&mut self, field: &'static str) -> Result<i64, MappingError> {
        match self.take(field)? {
            Value::Long(n) => Ok(n),
            other => Err(wrong_type(self.record, field, "long", &other)),
        }
    }

    /// A `boolean` field.
    pub(crate) fn boolean(&mut self, field: &'static str) -> Result<bool, MappingError> {
        match self.take(field)? {
            Value::Boolean(b) => Ok(b),
            other => Err(wrong_type(self.record, field, "boolean", &other)),
        }
    }

    /// An `int` field.
    pub(crate) fn int(&mut self, field: &'static str) -> Result<i32, MappingError> {
        match self.take(field)? {
            Value::Int(n) => Ok(n),
            other => Err(wrong_type(self.record, field, "int", &other)),
        }
    }

    /// A `long` field that must not be negative.
    pub(crate) fn unsigned(&mut self, field: &'static str) -> Result<u64, MappingError> {
        let n = self.long(field)?;
        u64::try_from(n).map_err(|e| self.invalid(field, e))
    }

    /// A `long` field holding a token amount.
    pub(crate) fn tokens(&mut self, field: &'static str) -> Result<Tokens, MappingError> {
        let n = self.unsigned(field)?;
        Tokens::new(n).map_err(|e| self.invalid(field, e))
    }

    /// A `long` field holding milliseconds.
    pub(crate) fn duration(&mut self, field: &'static str) -> Result<DurationMs, MappingError> {
        let n = self.unsigned(field)?;
        DurationMs::from_millis(n).map_err(|e| self.invalid(field, e))
    }

    /// A `timestamp-millis` field.
    pub(crate) fn timestamp(&mut self, field: &'static str) -> Result<Timestamp, MappingError> {
        match self.take(field)? {
            Value::TimestampMillis(ms) => {
                Timestamp::from_millis(ms).map_err(|e| self.invalid(field, e))
            }
            other => Err(wrong_type(self.record, field, "timestamp-millis", &other)),
        }
    }

    /// A `uuid` field.
    pub(crate) fn uuid<T: From<Uuid>>(&mut self, field: &'static str) -> Result<T, MappingError> {
        match self.take(field)? {
            Value::Uuid(id) => Ok(T::from(id)),
            other => Err(wrong_type(self.record, field, "uuid", &other)),
        }
    }

    /// A nested record field.
    pub(crate) fn record(
        &mut self,
        field: &'static str,
        record: &'static str,
    ) -> Result<Fields, MappingError> {
        Fields::of(record, self.take(field)?)
    }

    /// A `["null", T]` field: `None` for null, else the `T` value.
    pub(crate) fn nullable(&mut self, field: &'static str) -> Result<Option<Value>, MappingError> {
        match self.take(field)? {
            Value::Union(_, inner) => match *inner {
                Value::Null => Ok(None),
                value => Ok(Some(value)),
            },
            other => Err(wrong_type(self.record, field, "union", &other)),
        }
    }

    /// A `["null", T]` field whose `T` is read by `read` (one of the getters above).
    pub(crate) fn optional<T>(
        &mut self,
        field: &'static str,
        read: impl FnOnce(&mut Self, &'static str) -> Result<T, MappingError>,
    ) -> Result<Option<T>, MappingError> {
        let Some(inner) = self.nullable(field)? else {
            return Ok(None);
        };
        // Put the branch's value back in the field's place, so the getter reads it.
        if let Some(slot) = self.fields.iter_mut().find(|(name, _)| name == field) {
            slot.1 = inner;
        }
        read(self, field).map(Some)
    }

    /// An `array` field.
    pub(crate) fn array(&mut self, field: &'static str) -> Result<Vec<Value>, MappingError> {
        match self.take(field)? {
            Value::Array(items) => Ok(items),
            other => Err(wrong_type(self.record, field, "array", &other)),
        }
    }

    /// An `array` of `string` field.
    pub(crate) fn strings(&mut self, field: &'static str) -> Result<Vec<String>, MappingError> {
        self.array(field)?
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                other => Err(wrong_type(self.record, field, "array of string", &other)),
            })
            .collect()
    }

    /// An `Invalid` error about `field`.
    pub(crate) fn invalid(
        &self,
        field: &'static str,
        source: impl StdError + Send + Sync + 'static,
    ) -> MappingError {
        MappingError::Invalid {
            record: self.record,
            field,
            source: Box::new(source),
        }
    }
}

//! The hand-written tables that give Avro enum symbols and union branches their indexes.

use apache_avro::types::Value;

use super::{Fields, MappingError, wrong_type};

/// An Avro enum and the Rust enum it maps to, symbol by symbol in schema order.
#[derive(Debug)]
pub(crate) struct Symbols<T: 'static> {
    /// The record holding the enum field, for errors.
    pub(crate) record: &'static str,
    /// The enum field.
    pub(crate) field: &'static str,
    /// Each symbol and its Rust value, in schema order (`schema_tables` tests check the order).
    pub(crate) table: &'static [(&'static str, T)],
}

impl<T: Copy + PartialEq> Symbols<T> {
    /// The enum value of `variant`.
    pub(crate) fn value(&self, variant: T) -> Result<Value, MappingError> {
        self.table
            .iter()
            .zip(0u32..)
            .find(|((_, v), _)| *v == variant)
            .map(|((symbol, _), index)| Value::Enum(index, (*symbol).to_owned()))
            .ok_or_else(|| self.unknown("(a variant without a symbol)".to_owned()))
    }

    /// The Rust value of the enum field in `fields`, matched by symbol name.
    pub(crate) fn take(&self, fields: &mut Fields) -> Result<T, MappingError> {
        match fields.take(self.field)? {
            Value::Enum(_, found) => self
                .table
                .iter()
                .find(|(symbol, _)| *symbol == found)
                .map(|(_, v)| *v)
                .ok_or_else(|| self.unknown(found)),
            other => Err(wrong_type(self.record, self.field, "enum", &other)),
        }
    }

    /// The symbols, in schema order.
    pub(crate) fn symbols(&self) -> Vec<&'static str> {
        self.table.iter().map(|(symbol, _)| *symbol).collect()
    }

    fn unknown(&self, found: String) -> MappingError {
        MappingError::UnknownBranch {
            record: self.record,
            field: self.field,
            found,
            known: self.symbols(),
        }
    }
}

/// A union of records whose branches are chosen by name: the one place a branch index is made.
#[derive(Debug)]
pub(crate) struct Union {
    /// The record holding the union field, for errors.
    pub(crate) record: &'static str,
    /// The union field.
    pub(crate) field: &'static str,
    /// Branch names in schema order (`schema_tables` tests check them against the schema).
    pub(crate) branches: &'static [&'static str],
}

impl Union {
    /// The union value of branch `name` holding `value`.
    pub(crate) fn wrap(&self, name: &'static str, value: Value) -> Result<Value, MappingError> {
        let index = self
            .branches
            .iter()
            .position(|b| *b == name)
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| self.unknown(name))?;
        Ok(Value::Union(index, Box::new(value)))
    }

    /// The branch name and value of a union value resolved to the current schema.
    pub(crate) fn unwrap(&self, value: Value) -> Result<(&'static str, Value), MappingError> {
        let Value::Union(index, inner) = value else {
            return Err(wrong_type(self.record, self.field, "union", &value));
        };
        let name = usize::try_from(index)
            .ok()
            .and_then(|i| self.branches.get(i))
            .ok_or_else(|| self.unknown(&index.to_string()))?;
        Ok((name, *inner))
    }

    /// The error for a branch this code does not map.
    pub(crate) fn unknown(&self, found: &str) -> MappingError {
        MappingError::UnknownBranch {
            record: self.record,
            field: self.field,
            found: found.to_owned(),
            known: self.branches.to_vec(),
        }
    }
}

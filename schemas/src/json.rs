//! Avro values as readable JSON, for people looking at topics (the `leaky-avro-json` decoder).
//!
//! Not Avro's JSON encoding: that one wraps every union value in `{"<type>": value}`,
//! which makes each nullable field noisy. Here
//! - a union with one non-null branch is just its value or `null`;
//! - any other union is `{"<branch name>": value}`, the name unqualified
//!   (`{"Reserve": {...}}`), so the branch is always visible;
//! - enums are their symbol, uuids strings, timestamps and other logical types their number;
//! - bytes and fixed are lowercase hex strings.

use apache_avro::Schema;
use apache_avro::schema::NamesRef;
use apache_avro::types::Value;
use serde_json::{Map, Number, Value as Json, json};

use crate::error::DecodeError;
use crate::registry::SchemaRegistry;
use crate::resolve::type_name;
use crate::wire::unframe;

/// The schema id and readable JSON of a Confluent-framed Avro payload, whatever its schema.
pub async fn decode_to_json(
    registry: &SchemaRegistry,
    payload: &[u8],
) -> Result<(u32, Json), DecodeError> {
    let (id, datum) = unframe(payload)?;
    let schema = registry.prepared(id).await?;
    let value = schema
        .read_written(datum)
        .map_err(|source| DecodeError::DoesNotMatch {
            id,
            expected: "a value of its writer's schema",
            source,
        })?;
    Ok((id, to_json(&value, schema.schema(), schema.names())))
}

/// `value`, written with `schema` (whose named types are `names`), as readable JSON.
pub fn to_json(value: &Value, schema: &Schema, names: &NamesRef<'_>) -> Json {
    let schema = match schema {
        Schema::Ref { name } => match names.get(name) {
            Some(schema) => *schema,
            None => return untyped(value),
        },
        other => other,
    };
    match (value, schema) {
        (Value::Union(index, inner), Schema::Union(union)) => {
            let variants = union.variants();
            let Some(branch) = usize::try_from(*index).ok().and_then(|i| variants.get(i)) else {
                return untyped(inner);
            };
            let non_null = variants
                .iter()
                .filter(|v| !matches!(v, Schema::Null))
                .count();
            if matches!(**inner, Value::Null) {
                Json::Null
            } else if non_null == 1 {
                to_json(inner, branch, names)
            } else {
                json!({ type_name(branch): to_json(inner, branch, names) })
            }
        }
        (Value::Record(fields), Schema::Record(record)) => {
            let mut object = Map::new();
            for (name, field_value) in fields {
                let field = record.fields.iter().find(|f| f.name == *name);
                let json = match field {
                    Some(field) => to_json(field_value, &field.schema, names),
                    None => untyped(field_value),
                };
                object.insert(name.clone(), json);
            }
            Json::Object(object)
        }
        (Value::Array(items), Schema::Array(array)) => Json::Array(
            items
                .iter()
                .map(|item| to_json(item, &array.items, names))
                .collect(),
        ),
        (Value::Map(entries), Schema::Map(map)) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v, &map.types, names)))
                .collect(),
        ),
        (other, _) => untyped(other),
    }
}

/// A value as JSON without its schema: right for every leaf, a fallback for the rest.
fn untyped(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(n) | Value::Date(n) | Value::TimeMillis(n) => Json::from(*n),
        Value::Long(n)
        | Value::TimeMicros(n)
        | Value::TimestampMillis(n)
        | Value::TimestampMicros(n)
        | Value::TimestampNanos(n)
        | Value::LocalTimestampMillis(n)
        | Value::LocalTimestampMicros(n)
        | Value::LocalTimestampNanos(n) => Json::from(*n),
        Value::Float(x) => Number::from_f64(f64::from(*x)).map_or(Json::Null, Json::Number),
        Value::Double(x) => Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::String(s) | Value::Enum(_, s) => Json::String(s.clone()),
        Value::Bytes(bytes) | Value::Fixed(_, bytes) => Json::String(hex(bytes)),
        Value::Uuid(id) => Json::String(id.to_string()),
        Value::Union(_, inner) => untyped(inner),
        Value::Array(items) => Json::Array(items.iter().map(untyped).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), untyped(v)))
                .collect(),
        ),
        Value::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), untyped(v)))
                .collect(),
        ),
        Value::Decimal(_) | Value::BigDecimal(_) | Value::Duration(_) => {
            Json::String(format!("{value:?}"))
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use apache_avro::schema::ResolvedSchema;

    use super::*;

    const SCHEMA: &str = r#"{"type": "record", "name": "R", "fields": [
        {"name": "maybe", "type": ["null", "long"]},
        {"name": "either", "type": [
            {"type": "record", "name": "A", "fields": [{"name": "x", "type": "int"}]},
            {"type": "record", "name": "B", "fields": []}]},
        {"name": "again", "type": ["null", "A", "B"]},
        {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["ONE", "TWO"]}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "raw", "type": "bytes"}]}"#;

    #[test]
    fn unions_show_their_branch_unless_they_only_make_a_value_nullable() {
        let schema = Schema::parse_str(SCHEMA).unwrap();
        let names = ResolvedSchema::new(&schema).unwrap();
        let a = Value::Record(vec![("x".into(), Value::Int(7))]);
        let value = Value::Record(vec![
            ("maybe".into(), Value::Union(1, Box::new(Value::Long(3)))),
            ("either".into(), Value::Union(0, Box::new(a.clone()))),
            ("again".into(), Value::Union(0, Box::new(Value::Null))),
            ("kind".into(), Value::Enum(1, "TWO".into())),
            ("at".into(), Value::TimestampMillis(1_000)),
            ("raw".into(), Value::Bytes(vec![0, 255])),
        ]);
        assert_eq!(
            to_json(&value, &schema, names.get_names()),
            json!({
                "maybe": 3,
                "either": {"A": {"x": 7}},
                "again": null,
                "kind": "TWO",
                "at": 1000,
                "raw": "00ff",
            })
        );
    }
}

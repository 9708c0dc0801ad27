//! Reading values written with another schema: union branches and enum symbols are matched
//! by name, fields by name (with the reader's defaults), never by position or by trying.

use apache_avro::Schema;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use schemas::{Mismatch, ResolveErrorKind, read_value};

fn write(schema: &Schema, value: Value) -> Vec<u8> {
    GenericDatumWriter::builder(schema)
        .build()
        .unwrap()
        .write_value_to_vec(value)
        .unwrap()
}

fn parse(json: &str) -> Schema {
    Schema::parse_str(json).unwrap()
}

fn record(fields: &[(&str, Value)]) -> Value {
    Value::Record(
        fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect(),
    )
}

/// `{"type":"record","name":"Top","fields":[{"name":"it","type":<union>}]}`
fn top(union: &str) -> Schema {
    parse(&format!(
        r#"{{"type":"record","name":"Top","fields":[{{"name":"it","type":{union}}}]}}"#
    ))
}

const EMPTY: &str = r#"{"type":"record","name":"Empty","fields":[]}"#;
const SMALL: &str = r#"{"type":"record","name":"Small","fields":[{"name":"a","type":"long"}]}"#;
const BIG: &str = r#"{"type":"record","name":"Big","fields":[{"name":"a","type":"long"},{"name":"b","type":"long"}]}"#;

#[test]
fn a_record_is_read_as_its_own_branch_even_when_an_earlier_one_would_fit_it() {
    // A `Big` fits `Empty` and `Small` too (extra fields are ignored); trying branches in
    // order would pick `Empty`. Here `Big` stays `Big`.
    let schema = top(&format!("[{EMPTY},{SMALL},{BIG}]"));
    let big = record(&[("a", Value::Long(1)), ("b", Value::Long(2))]);
    let datum = write(
        &schema,
        record(&[("it", Value::Union(2, Box::new(big.clone())))]),
    );
    let read = read_value(&schema, &schema, &datum).unwrap();
    assert_eq!(read, record(&[("it", Value::Union(2, Box::new(big)))]));
}

#[test]
fn a_branch_is_found_by_name_in_a_reordered_and_extended_union() {
    let writer = top(&format!("[{SMALL},{BIG}]"));
    let reader = top(&format!("[{EMPTY},{BIG},{SMALL}]"));
    let small = record(&[("a", Value::Long(7))]);
    let datum = write(
        &writer,
        record(&[("it", Value::Union(0, Box::new(small.clone())))]),
    );
    let read = read_value(&writer, &reader, &datum).unwrap();
    assert_eq!(read, record(&[("it", Value::Union(2, Box::new(small)))]));
}

#[test]
fn a_renamed_branch_is_found_by_the_readers_alias() {
    let writer = top(&format!("[{EMPTY},{SMALL}]"));
    let renamed = r#"{"type":"record","name":"Tiny","aliases":["Small"],"fields":[{"name":"a","type":"long"}]}"#;
    let reader = top(&format!("[{EMPTY},{renamed}]"));
    let small = record(&[("a", Value::Long(7))]);
    let datum = write(
        &writer,
        record(&[("it", Value::Union(1, Box::new(small.clone())))]),
    );
    let read = read_value(&writer, &reader, &datum).unwrap();
    assert_eq!(read, record(&[("it", Value::Union(1, Box::new(small)))]));
}

#[test]
fn fields_the_writer_lacks_take_the_readers_defaults_and_extra_fields_are_dropped() {
    let writer = parse(
        r#"{"type":"record","name":"R","fields":[
            {"name":"gone","type":"string"},
            {"name":"n","type":"int"},
            {"name":"id","type":"string"}]}"#,
    );
    let reader = parse(
        r#"{"type":"record","name":"R","fields":[
            {"name":"id","type":{"type":"string","logicalType":"uuid"}},
            {"name":"n","type":"long"},
            {"name":"maybe","type":["null","long"],"default":null},
            {"name":"count","type":"long","default":5},
            {"name":"label","type":"string","default":"none"},
            {"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B"]},"default":"B"}]}"#,
    );
    let id = "0191e1a0-0000-7000-8000-000000000001";
    let datum = write(
        &writer,
        record(&[
            ("gone", Value::String("x".into())),
            ("n", Value::Int(3)),
            ("id", Value::String(id.into())),
        ]),
    );
    let read = read_value(&writer, &reader, &datum).unwrap();
    assert_eq!(
        read,
        record(&[
            ("id", Value::Uuid(id.parse().unwrap())),
            ("n", Value::Long(3)),
            ("maybe", Value::Union(0, Box::new(Value::Null))),
            ("count", Value::Long(5)),
            ("label", Value::String("none".into())),
            ("kind", Value::Enum(1, "B".into())),
        ])
    );
}

#[test]
fn enum_symbols_are_matched_by_name_and_unknown_ones_take_the_readers_default() {
    let schema = |symbols: &str, default: &str| {
        parse(&format!(
            r#"{{"type":"record","name":"R","fields":[{{"name":"e","type":
                {{"type":"enum","name":"E","symbols":{symbols}{default}}}}}]}}"#
        ))
    };
    let writer = schema(r#"["A","B","C"]"#, "");
    let datum = |symbol: (u32, &str)| {
        write(
            &writer,
            record(&[("e", Value::Enum(symbol.0, symbol.1.into()))]),
        )
    };
    let reader = schema(r#"["Z","C","A"]"#, r#","default":"Z""#);
    let read = |d: &[u8]| read_value(&writer, &reader, d).unwrap();
    assert_eq!(
        read(&datum((2, "C"))),
        record(&[("e", Value::Enum(1, "C".into()))])
    );
    assert_eq!(
        read(&datum((1, "B"))),
        record(&[("e", Value::Enum(0, "Z".into()))])
    );

    let strict = schema(r#"["A","C"]"#, "");
    let error = read_value(&writer, &strict, &datum((1, "B"))).unwrap_err();
    assert!(
        matches!(&error, Mismatch::Resolve(e) if matches!(e.kind, ResolveErrorKind::UnknownSymbol(_))),
        "{error}"
    );
}

#[test]
fn a_field_the_reader_needs_and_the_writer_lacks_without_default_is_a_mismatch() {
    let writer = parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}"#);
    let reader = parse(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"b","type":"long"}]}"#,
    );
    let datum = write(&writer, record(&[("a", Value::Long(1))]));
    let error = read_value(&writer, &reader, &datum).unwrap_err();
    assert!(
        matches!(&error, Mismatch::Resolve(e) if matches!(e.kind, ResolveErrorKind::MissingField(_))),
        "{error}"
    );
    assert!(error.to_string().contains("at b"), "{error}");
}

#[test]
fn a_branch_the_reader_does_not_have_is_a_mismatch_naming_it() {
    let writer = top(&format!("[{EMPTY},{SMALL}]"));
    let reader = top(&format!("[{EMPTY},{BIG}]"));
    let datum = write(
        &writer,
        record(&[(
            "it",
            Value::Union(1, Box::new(record(&[("a", Value::Long(1))]))),
        )]),
    );
    let error = read_value(&writer, &reader, &datum).unwrap_err();
    assert!(error.to_string().contains("Small"), "{error}");
}

#[test]
fn bytes_left_after_the_value_are_a_mismatch() {
    let schema = parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}"#);
    let mut datum = write(&schema, record(&[("a", Value::Long(1))]));
    datum.push(0);
    let error = read_value(&schema, &schema, &datum).unwrap_err();
    assert!(matches!(error, Mismatch::TrailingBytes(1)), "{error}");
}

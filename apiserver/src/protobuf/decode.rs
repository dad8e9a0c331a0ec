//! Decoding one protobuf message into the JSON object a JSON client would have sent,
//! guided by the field tables.
//!
//! The rules follow what a v1.33 server does with the same bytes: unknown fields are
//! skipped, the last value of a repeated singular field wins, a singular message that arrives
//! in pieces is merged, and a zero scalar is dropped unless its table entry says the zero
//! means something.

use super::schema::{Msg, Shape, Ty};
use super::wire::{DecodeError, ErrorKind, Reader, WireValue, LEN, VARINT};
use base64::Engine;
use serde_json::{Map, Number, Value};
use std::borrow::Cow;

/// Messages nested deeper than this are refused; no Kubernetes object comes close.
const MAX_DEPTH: usize = 64;

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch: the zero time, which JSON spells
/// `null`.
const ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Decodes the fields of `msg` from `bytes` into a JSON object.
pub fn message(msg: &Msg, bytes: &[u8], depth: usize) -> Result<Map<String, Value>, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(ErrorKind::TooDeep.into());
    }
    let mut out = Map::new();
    // Protobuf merges the pieces of a singular message field, which is the same as decoding
    // their concatenation, so pieces are gathered first and decoded once.
    let mut pieces: Vec<(usize, Cow<'_, [u8]>)> = Vec::new();
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader
        .next_field()
        .map_err(|e| DecodeError::new(e).in_message(msg.name))?
    {
        let Some(index) = msg.field_index(number) else {
            continue;
        };
        let field = &msg.fields[index];
        let result = match field.shape {
            Shape::Inline => gather(&mut pieces, index, number, value),
            Shape::Omitempty | Shape::Set if is_message(field.ty) => {
                gather(&mut pieces, index, number, value)
            }
            Shape::Omitempty | Shape::Set => render(field.ty, number, value, depth).map(|v| {
                if field.shape == Shape::Omitempty && is_zero(&v) {
                    out.remove(field.json);
                } else {
                    out.insert(field.json.to_owned(), v);
                }
            }),
            Shape::List => {
                let next = out
                    .get(field.json)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                match list_items(field.ty, number, value, depth) {
                    Ok(items) => {
                        let list = out
                            .entry(field.json)
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(list) = list {
                            list.extend(items);
                        }
                        Ok(())
                    }
                    Err(e) => Err(e.within(&format!("[{next}]"))),
                }
            }
            Shape::Map => map_entry(field.ty, number, value, depth).map(|(key, v)| {
                let map = out
                    .entry(field.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = map {
                    map.insert(key, v);
                }
            }),
        };
        result.map_err(|e| e.in_message(msg.name).within(field.json))?;
    }
    for (index, bytes) in pieces {
        let field = &msg.fields[index];
        let value = render(field.ty, field.number, WireValue::Len(&bytes), depth)
            .map_err(|e| e.in_message(msg.name).within(field.json))?;
        match (field.shape, value) {
            (Shape::Inline, Value::Object(inner)) => out.extend(inner),
            (Shape::Inline, _) => {}
            (_, value) => {
                out.insert(field.json.to_owned(), value);
            }
        }
    }
    for name in msg.nulls {
        out.entry(*name).or_insert(Value::Null);
    }
    Ok(out)
}

/// Whether values of this type are length-delimited messages (merged when repeated).
fn is_message(ty: Ty) -> bool {
    !matches!(ty, Ty::Str | Ty::Bytes | Ty::Bool | Ty::I32 | Ty::I64)
}

fn gather<'a>(
    pieces: &mut Vec<(usize, Cow<'a, [u8]>)>,
    index: usize,
    number: u32,
    value: WireValue<'a>,
) -> Result<(), DecodeError> {
    let bytes = expect_len(number, value)?;
    match pieces.iter_mut().find(|(i, _)| *i == index) {
        Some((_, existing)) => existing.to_mut().extend_from_slice(bytes),
        None => pieces.push((index, Cow::Borrowed(bytes))),
    }
    Ok(())
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

fn wrong_wire(number: u32, value: WireValue<'_>, expected: u8) -> DecodeError {
    ErrorKind::WrongWireType {
        number,
        got: value.wire_type(),
        expected,
    }
    .into()
}

fn expect_len(number: u32, value: WireValue<'_>) -> Result<&[u8], DecodeError> {
    match value {
        WireValue::Len(bytes) => Ok(bytes),
        other => Err(wrong_wire(number, other, LEN)),
    }
}

fn expect_varint(number: u32, value: WireValue<'_>) -> Result<u64, DecodeError> {
    match value {
        WireValue::Varint(v) => Ok(v),
        other => Err(wrong_wire(number, other, VARINT)),
    }
}

/// Renders one value (one element, for lists and maps) as JSON.
fn render(ty: Ty, number: u32, value: WireValue<'_>, depth: usize) -> Result<Value, DecodeError> {
    Ok(match ty {
        Ty::Str => Value::String(text(expect_len(number, value)?)),
        Ty::Bytes => Value::String(
            base64::engine::general_purpose::STANDARD.encode(expect_len(number, value)?),
        ),
        Ty::Bool => Value::Bool(expect_varint(number, value)? != 0),
        // Narrowing keeps the low bits, as protobuf specifies for int32.
        Ty::I32 => Value::from(expect_varint(number, value)? as i32),
        Ty::I64 => Value::from(expect_varint(number, value)? as i64),
        Ty::Time => time(expect_len(number, value)?, false)?,
        Ty::MicroTime => time(expect_len(number, value)?, true)?,
        Ty::IntOrString => int_or_string(expect_len(number, value)?)?,
        Ty::Quantity => quantity(expect_len(number, value)?)?,
        Ty::RawJson => raw_json(expect_len(number, value)?)?,
        Ty::StrList => string_list(expect_len(number, value)?)?,
        Ty::Message(msg) => Value::Object(message(msg, expect_len(number, value)?, depth + 1)?),
    })
}

/// Protobuf strings are not checked for UTF-8 by Kubernetes clients; invalid bytes become
/// U+FFFD, as they would when the same client writes JSON.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The elements one occurrence of a repeated field carries: one, or several when numbers
/// arrive packed.
fn list_items(
    ty: Ty,
    number: u32,
    value: WireValue<'_>,
    depth: usize,
) -> Result<Vec<Value>, DecodeError> {
    match (ty, value) {
        (Ty::Bool | Ty::I32 | Ty::I64, WireValue::Len(packed)) => {
            let mut reader = Reader::new(packed);
            let mut items = Vec::new();
            while !reader.is_empty() {
                let v = reader.varint().map_err(DecodeError::new)?;
                items.push(render(ty, number, WireValue::Varint(v), depth)?);
            }
            Ok(items)
        }
        _ => Ok(vec![render(ty, number, value, depth)?]),
    }
}

/// One map entry: a message with the key in field 1 and the value in field 2.
fn map_entry(
    ty: Ty,
    number: u32,
    value: WireValue<'_>,
    depth: usize,
) -> Result<(String, Value), DecodeError> {
    let mut reader = Reader::new(expect_len(number, value)?);
    let mut key = String::new();
    let mut raw: Option<WireValue<'_>> = None;
    while let Some((n, v)) = reader.next_field().map_err(DecodeError::new)? {
        match n {
            1 => key = text(expect_len(1, v)?),
            2 => raw = Some(v),
            _ => {}
        }
    }
    // A missing value is the zero value of its type.
    let raw = raw.unwrap_or(match ty {
        Ty::Bool | Ty::I32 | Ty::I64 => WireValue::Varint(0),
        _ => WireValue::Len(&[]),
    });
    let value = render(ty, 2, raw, depth).map_err(|e| e.within(&format!("[{key}]")))?;
    Ok((key, value))
}

/// Reads a small message of varint and string fields, for the special types.
fn small_fields(bytes: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, DecodeError> {
    let mut reader = Reader::new(bytes);
    let mut fields = Vec::new();
    while let Some(field) = reader.next_field().map_err(DecodeError::new)? {
        fields.push(field);
    }
    Ok(fields)
}

/// `{seconds = 1, nanos = 2}`; an empty message is the zero time.
fn time(bytes: &[u8], micro: bool) -> Result<Value, DecodeError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let (mut seconds, mut nanos) = (0i64, 0i64);
    for (n, v) in small_fields(bytes)? {
        match n {
            1 => seconds = expect_varint(n, v)? as i64,
            2 => nanos = i64::from(expect_varint(n, v)? as i32),
            _ => {}
        }
    }
    // Second-precision timestamps drop the nanoseconds, as the v1.33 server does.
    if !micro {
        nanos = 0;
    }
    let seconds = seconds
        .checked_add(nanos.div_euclid(1_000_000_000))
        .ok_or_else(|| invalid("timestamp out of range"))?;
    let nanos = nanos.rem_euclid(1_000_000_000);
    if seconds == ZERO_TIME_SECONDS && nanos == 0 {
        return Ok(Value::Null);
    }
    Ok(Value::String(rfc3339(
        seconds,
        micro.then_some(nanos / 1000),
    )?))
}

/// Formats a UTC timestamp as `YYYY-MM-DDTHH:MM:SSZ`, with six fraction digits when
/// microseconds are given.
fn rfc3339(seconds: i64, micros: Option<i64>) -> Result<String, DecodeError> {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return Err(invalid(&format!(
            "timestamp {seconds} is outside years 0-9999"
        )));
    }
    let clock = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    Ok(match micros {
        Some(us) => format!("{clock}.{us:06}Z"),
        None => format!("{clock}Z"),
    })
}

/// The proleptic Gregorian date of a day count from 1970-01-01, by splitting time into
/// 400-year eras of equal length.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days from 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `{type = 1, intVal = 2, strVal = 3}`: a number unless the type says string.
fn int_or_string(bytes: &[u8]) -> Result<Value, DecodeError> {
    let (mut kind, mut int_val, mut str_val) = (0i64, 0i32, String::new());
    for (n, v) in small_fields(bytes)? {
        match n {
            1 => kind = expect_varint(n, v)? as i64,
            2 => int_val = expect_varint(n, v)? as i32,
            3 => str_val = text(expect_len(n, v)?),
            _ => {}
        }
    }
    match kind {
        0 => Ok(Value::Number(Number::from(int_val))),
        1 => Ok(Value::String(str_val)),
        other => Err(invalid(&format!("invalid int-or-string type {other}"))),
    }
}

/// `{string = 1}`; an empty quantity is zero.
fn quantity(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut s = None;
    for (n, v) in small_fields(bytes)? {
        if n == 1 {
            s = Some(text(expect_len(n, v)?));
        }
    }
    Ok(Value::String(s.unwrap_or_else(|| "0".to_owned())))
}

/// `{raw = 1}` holding JSON text; no bytes means `null`.
fn raw_json(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut raw: &[u8] = &[];
    for (n, v) in small_fields(bytes)? {
        if n == 1 {
            raw = expect_len(n, v)?;
        }
    }
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(raw).map_err(|e| invalid(&format!("embedded JSON is invalid: {e}")))
}

/// `{items = 1 (repeated)}`: a JSON array of strings.
fn string_list(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut items = Vec::new();
    for (n, v) in small_fields(bytes)? {
        if n == 1 {
            items.push(Value::String(text(expect_len(n, v)?)));
        }
    }
    Ok(Value::Array(items))
}

fn invalid(message: &str) -> DecodeError {
    ErrorKind::Invalid(message.to_owned()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_calendar() {
        assert_eq!(rfc3339(0, None).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400, None).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339(1_709_210_096, None).unwrap(),
            "2024-02-29T12:34:56Z"
        );
        assert_eq!(
            rfc3339(-1, Some(999_999)).unwrap(),
            "1969-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            rfc3339(253_402_300_799, None).unwrap(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            rfc3339(ZERO_TIME_SECONDS, None).unwrap(),
            "0001-01-01T00:00:00Z"
        );
        assert!(rfc3339(253_402_300_800, None).is_err());
        assert!(rfc3339(i64::MIN / 2, None).is_err());
    }

    fn month_length((year, month, _): (i64, i64, i64)) -> i64 {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn every_day_of_a_leap_cycle_is_consecutive() {
        // Walking 400 years day by day must never skip, repeat or invent a date.
        let mut previous = civil_from_days(-1);
        assert_eq!(previous, (1969, 12, 31));
        for days in 0..146_097 {
            let current = civil_from_days(days);
            let expected = if previous.2 < month_length(previous) {
                (previous.0, previous.1, previous.2 + 1)
            } else if previous.1 < 12 {
                (previous.0, previous.1 + 1, 1)
            } else {
                (previous.0 + 1, 1, 1)
            };
            assert_eq!(current, expected, "day {days}");
            previous = current;
        }
        assert_eq!(previous, (2369, 12, 31));
    }
}

//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
//!
//! From v1.32 on, kubectl sends the writes of its typed clients (`create deployment`,
//! `create token`, `auth can-i`, `autoscale`, ...) as protobuf and never retries with JSON, so
//! Berth must read them. Berth stores and serves JSON, so a protobuf body is turned into the
//! JSON object the same client would have sent and then takes the JSON path; answers stay
//! JSON, which these clients accept.
//!
//! A body is the magic `k8s\0` followed by an envelope message carrying the apiVersion and
//! kind, the object's own encoding, and a content encoding and type. The object is decoded
//! by field number with the tables in `tables`, one per message type the supported kinds
//! reach; fields the tables lack are skipped, as a v1.33 server skips them. Berth only
//! decodes: it never writes protobuf.

mod decode;
mod schema;
// One line per field reads better than the wrapped layout of function calls.
#[rustfmt::skip]
mod tables;
mod wire;

use crate::status::{ApiError, ApiResult};
use serde_json::Value;
use wire::{DecodeError, ErrorKind, Reader, WireValue};

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Every protobuf body starts with these four bytes.
const MAGIC: &[u8] = b"k8s\0";

/// The body types a client can always fall back to.
const JSON_TYPES: &[&str] = &["application/json", "application/yaml"];

/// The envelope around the object.
#[derive(Debug, Default)]
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

/// Decodes a protobuf request body into the JSON object it stands for.
///
/// Malformed bytes give a 400 naming the field that failed; a kind Berth has no tables for,
/// or an envelope in an encoding it does not read, gives a 415 that names the JSON types
/// the client can send instead.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let rest = body.strip_prefix(MAGIC).ok_or_else(|| {
        ApiError::bad_request("the protobuf body does not start with the Kubernetes magic number")
    })?;
    let envelope = envelope(rest).map_err(|e| bad_body("", &e))?;
    if envelope.kind.is_empty() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing in the protobuf body",
        ));
    }
    if !envelope.content_encoding.is_empty() {
        return Err(unsupported(&format!(
            "the protobuf body uses content encoding {:?}, which Berth does not read",
            envelope.content_encoding
        )));
    }
    let mut object = match envelope.content_type.as_str() {
        "" | MEDIA_TYPE => {
            let msg = find(&envelope.api_version, &envelope.kind).ok_or_else(|| {
                unsupported(&format!(
                    "Berth reads protobuf bodies for built-in kinds only, and {} {} is not one of them",
                    envelope.api_version, envelope.kind
                ))
            })?;
            decode::message(msg, envelope.raw, 0).map_err(|e| bad_body(&envelope.kind, &e))?
        }
        "application/json" => match serde_json::from_slice(envelope.raw) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(ApiError::bad_request("the request body must be an object")),
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "error decoding JSON body: {e}"
                )))
            }
        },
        other => {
            return Err(unsupported(&format!(
                "the protobuf body wraps content type {other:?}, which Berth does not read"
            )))
        }
    };
    object.insert("kind".to_owned(), Value::String(envelope.kind));
    if !envelope.api_version.is_empty() {
        object.insert("apiVersion".to_owned(), Value::String(envelope.api_version));
    }
    Ok(Value::Object(object))
}

fn find(api_version: &str, kind: &str) -> Option<&'static schema::Msg> {
    tables::ROOTS
        .iter()
        .find(|(v, k, _)| *k == kind && (*v == api_version || *v == "*"))
        .map(|(_, _, msg)| *msg)
}

/// Reads the envelope: `typeMeta = 1 {apiVersion = 1, kind = 2}`, `raw = 2`,
/// `contentEncoding = 3`, `contentType = 4`.
fn envelope(bytes: &[u8]) -> Result<Envelope<'_>, DecodeError> {
    let mut envelope = Envelope::default();
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.next_field()? {
        match number {
            1 => {
                let mut meta = Reader::new(len(number, value)?);
                while let Some((n, v)) = meta.next_field()? {
                    match n {
                        1 => envelope.api_version = text(n, v)?,
                        2 => envelope.kind = text(n, v)?,
                        _ => {}
                    }
                }
            }
            2 => envelope.raw = len(number, value)?,
            3 => envelope.content_encoding = text(number, value)?,
            4 => envelope.content_type = text(number, value)?,
            _ => {}
        }
    }
    Ok(envelope)
}

fn len(number: u32, value: WireValue<'_>) -> Result<&[u8], DecodeError> {
    match value {
        WireValue::Len(bytes) => Ok(bytes),
        other => Err(ErrorKind::WrongWireType {
            number,
            got: other.wire_type(),
            expected: wire::LEN,
        }
        .into()),
    }
}

fn text(number: u32, value: WireValue<'_>) -> Result<String, DecodeError> {
    Ok(String::from_utf8_lossy(len(number, value)?).into_owned())
}

fn bad_body(kind: &str, err: &DecodeError) -> ApiError {
    let what = if kind.is_empty() {
        String::new()
    } else {
        format!(" of kind {kind}")
    };
    ApiError::bad_request(format!("error decoding protobuf body{what}: {err}"))
}

fn unsupported(why: &str) -> ApiError {
    let base = ApiError::unsupported_media_type(MEDIA_TYPE, JSON_TYPES);
    ApiError {
        message: format!("{} ({why})", base.message),
        ..base
    }
}

#[cfg(test)]
mod tests;

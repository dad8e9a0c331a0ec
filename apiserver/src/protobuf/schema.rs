//! The vocabulary of the field tables: what a message is, what a field is, and how a field's
//! value turns into JSON.
//!
//! Protobuf bodies carry field numbers, not names, and cannot tell an unset pointer from a
//! zero value of a plain field; the tables supply both the names and that distinction, so
//! the decoder can rebuild the JSON a JSON client would have sent.

/// The type of a field's value (of each element, for lists and maps).
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A string.
    Str,
    /// Bytes, base64 in JSON.
    Bytes,
    /// A boolean.
    Bool,
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
    /// A timestamp with second precision, RFC 3339 in JSON, `null` when unset.
    Time,
    /// A timestamp with microsecond precision, RFC 3339 with six fraction digits in JSON.
    MicroTime,
    /// A port or percentage that is either a number or a string.
    IntOrString,
    /// A resource quantity, a string in JSON.
    Quantity,
    /// Raw JSON carried as bytes (managed fields, embedded objects).
    RawJson,
    /// A list of strings wrapped in a message (user info extras).
    StrList,
    /// A nested message.
    Message(&'static Msg),
}

/// How a field appears in a message and in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A single value; a zero scalar is left out of the JSON, as an unset field would be.
    Omitempty,
    /// A single value kept in the JSON even when zero: an optional field whose zero is
    /// meaningful (`replicas: 0`, `runAsUser: 0`) or a required field.
    Set,
    /// A repeated field, a JSON array.
    List,
    /// A map with string keys, a JSON object.
    Map,
    /// A message whose fields JSON spells inline in the parent object.
    Inline,
}

/// Shorthand for [`Shape::Omitempty`] in the tables.
pub const ONE: Shape = Shape::Omitempty;
/// Shorthand for [`Shape::Set`] in the tables.
pub const SET: Shape = Shape::Set;
/// Shorthand for [`Shape::List`] in the tables.
pub const LIST: Shape = Shape::List;
/// Shorthand for [`Shape::Map`] in the tables.
pub const MAP: Shape = Shape::Map;
/// Shorthand for [`Shape::Inline`] in the tables.
pub const INLINE: Shape = Shape::Inline;

/// One field of a message.
#[derive(Debug)]
pub struct Field {
    /// The protobuf field number.
    pub number: u32,
    /// The JSON name; empty for inline fields.
    pub json: &'static str,
    /// The value type.
    pub ty: Ty,
    /// Single, repeated, map or inline.
    pub shape: Shape,
}

/// A message type: its name, for error messages, and its fields.
#[derive(Debug)]
pub struct Msg {
    /// The API type name (`PodSpec`).
    pub name: &'static str,
    /// The fields, in field number order.
    pub fields: &'static [Field],
    /// Fields a JSON client always writes, as `null` when unset (lists and pointers the API
    /// declares without `omitempty`).
    pub nulls: &'static [&'static str],
}

impl Msg {
    /// A message table.
    pub const fn new(name: &'static str, fields: &'static [Field]) -> Self {
        Msg {
            name,
            fields,
            nulls: &[],
        }
    }

    /// The same table with fields that are `null` rather than absent when unset.
    pub const fn nulls(self, nulls: &'static [&'static str]) -> Self {
        Msg { nulls, ..self }
    }

    /// The index of the field with this number, if the message has one.
    pub fn field_index(&self, number: u32) -> Option<usize> {
        self.fields.iter().position(|f| f.number == number)
    }
}

/// A table entry.
pub const fn f(number: u32, json: &'static str, ty: Ty, shape: Shape) -> Field {
    Field {
        number,
        json,
        ty,
        shape,
    }
}

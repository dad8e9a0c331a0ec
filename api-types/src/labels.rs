//! Label selectors, as Kubernetes has them.
//!
//! Clients send label selectors in two shapes: the string form of the `labelSelector` query
//! parameter (`app=web,tier!=db,env in (prod,staging),!legacy`) and the structured
//! `metav1.LabelSelector` inside objects (a Deployment's `spec.selector`). Both end up as one
//! [`LabelSelector`]: a conjunction of [`Requirement`]s that Berth evaluates against an object's
//! labels. Parsing, validation, error texts and the canonical string form follow Kubernetes
//! exactly, because kubectl and controllers compare selector strings and show these errors to
//! users verbatim.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::k8s::apimachinery::pkg::apis::meta::v1 as meta;

/// Why a label selector could not be built.
///
/// Every variant renders the exact message Kubernetes returns for the same input, so Berth can
/// put it in a `Status` unchanged (a `BadRequest` for the query parameter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The string form is malformed, or one of its requirements is invalid. The message is the
    /// whole text, for example `unable to parse requirement: found 'b', expected: in, notin, =,
    /// ==, !=, gt, lt`.
    #[error("{0}")]
    Parse(String),
    /// A requirement has an invalid key, operator/value combination or value. The message lists
    /// the field errors (`key: Invalid value: ...`), bracketed when there are several.
    #[error("{0}")]
    Invalid(String),
    /// A structured selector uses an operator other than `In`, `NotIn`, `Exists` and
    /// `DoesNotExist`.
    #[error("{} is not a valid label selector operator", quote(.0))]
    UnknownOperator(String),
}

/// How a [`Requirement`] relates its key to its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key=value`: the label exists and equals the value.
    Equals,
    /// `key==value`: same meaning as [`Operator::Equals`], kept apart so the selector prints back
    /// the way it was written.
    DoubleEquals,
    /// `key!=value`: the label is absent or differs from the value.
    NotEquals,
    /// `key in (a,b)`: the label exists and its value is one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or its value is none of the values.
    NotIn,
    /// `key`: the label exists, whatever its value.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>n`: the label exists, is an integer and is greater than `n`.
    GreaterThan,
    /// `key<n`: the label exists, is an integer and is less than `n`.
    LessThan,
}

impl Operator {
    /// The operator's name in the selector package of Kubernetes (`=`, `in`, `exists`, `gt`...),
    /// as used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One condition of a label selector: a key, an operator and the values it compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    // Kept in the order given: the string form sorts them, but validation errors name values by
    // their original index, as Kubernetes does.
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement, validating it as Kubernetes does: the key must be a qualified name;
    /// `in`/`notin` need at least one value; `=`, `==`, `!=` exactly one; `exists` and `!` none;
    /// `gt`/`lt` exactly one integer; every value must be a valid label value (the empty string
    /// is one).
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Self, SelectorError> {
        let key = key.into();
        let problems = requirement_problems(&key, operator, &values);
        if problems.is_empty() {
            Ok(Requirement {
                key,
                operator,
                values,
            })
        } else {
            Err(SelectorError::Invalid(aggregate(problems)))
        }
    }

    /// The label key this requirement looks at.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, in the order they were given (sorted and de-duplicated for parsed selectors).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether a set of labels satisfies this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let found = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                found.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotIn | Operator::NotEquals => found.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => found.is_some(),
            Operator::DoesNotExist => found.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(actual) = found.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [wanted] = self.values.as_slice() else {
                    return false;
                };
                let Ok(wanted) = wanted.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    actual > wanted
                } else {
                    actual < wanted
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            Operator::Exists => return f.write_str(&self.key),
            Operator::DoesNotExist => return write!(f, "!{}", self.key),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
        };
        let values = if let [only] = self.values.as_slice() {
            only.clone()
        } else {
            let mut sorted = self.values.clone();
            sorted.sort();
            sorted.join(",")
        };
        if matches!(self.operator, Operator::In | Operator::NotIn) {
            write!(f, "{}{op}({values})", self.key)
        } else {
            write!(f, "{}{op}{values}", self.key)
        }
    }
}

/// A label selector: the conjunction of its requirements, or the selector that matches nothing.
///
/// The requirements are kept sorted by key (stably), which is what makes the string form
/// canonical.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    // A missing structured selector selects nothing, which no list of requirements can express.
    nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every set of labels (the empty string, or `{}`).
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// The selector that matches no set of labels (what a missing structured selector means).
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Parses the string form of a label selector, as sent in `labelSelector=`.
    ///
    /// The grammar is Kubernetes': comma-separated requirements, each `key`, `!key`,
    /// `key=v`, `key==v`, `key!=v`, `key in (v1,v2)`, `key notin (v1,v2)`, `key>n` or `key<n`,
    /// with blanks (space, tab, CR, LF) allowed around tokens. The empty string selects
    /// everything.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser::new(selector);
        let mut requirements = parser.parse().map_err(SelectorError::Parse)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// Converts a present structured selector: an empty one (`{}`) selects everything,
    /// otherwise each `matchLabels` entry becomes a `key=value` requirement and each
    /// `matchExpressions` entry a set-based one, validated as Kubernetes does.
    pub fn from_api(selector: &meta::LabelSelector) -> Result<Self, SelectorError> {
        let labels = selector.match_labels.as_ref();
        let expressions = selector.match_expressions.as_deref().unwrap_or_default();
        if labels.is_none_or(BTreeMap::is_empty) && expressions.is_empty() {
            return Ok(LabelSelector::everything());
        }
        let mut requirements = Vec::new();
        for (key, value) in labels.into_iter().flatten() {
            requirements.push(Requirement::new(
                key.clone(),
                Operator::Equals,
                vec![value.clone()],
            )?);
        }
        for expression in expressions {
            let operator = match expression.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(SelectorError::UnknownOperator(other.to_owned())),
            };
            let values = expression.values.clone().unwrap_or_default();
            requirements.push(Requirement::new(expression.key.clone(), operator, values)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// Converts an optional structured selector: `None` selects nothing, `Some` is
    /// [`LabelSelector::from_api`].
    pub fn from_api_opt(selector: Option<&meta::LabelSelector>) -> Result<Self, SelectorError> {
        match selector {
            None => Ok(LabelSelector::nothing()),
            Some(selector) => LabelSelector::from_api(selector),
        }
    }

    /// A selector requiring exactly the given labels (`key=value` each), as used for the map
    /// selectors of ReplicationControllers and Services. Like Kubernetes, it does not validate
    /// the map; an empty map selects everything.
    pub fn from_map(labels: &BTreeMap<String, String>) -> Self {
        let requirements = labels
            .iter()
            .map(|(key, value)| Requirement {
                key: key.clone(),
                operator: Operator::Equals,
                values: vec![value.clone()],
            })
            .collect();
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// Adds a requirement, keeping the requirements sorted by key.
    pub fn add(&mut self, requirement: Requirement) {
        let at = self
            .requirements
            .partition_point(|r| r.key <= requirement.key);
        self.requirements.insert(at, requirement);
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether this selector places no restriction (it matches every set of labels). The
    /// nothing-selector is not empty.
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether this is the selector that matches nothing.
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }

    /// Whether a set of labels satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// If the first requirement on `key` pins it to one value (`=`, `==`, or `in` with a single
    /// value), that value. Berth uses it to narrow a list before matching.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let requirement = self.requirements.iter().find(|r| r.key == key)?;
        match (requirement.operator, requirement.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [only]) => Some(only),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
    /// The canonical string form: requirements sorted by key, joined by `,`; the values of
    /// `in`/`notin` sorted. Both the everything- and the nothing-selector print as "".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

impl FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabelSelector::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation with Kubernetes' messages.

const QUALIFIED_NAME_MESSAGE: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FORMAT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of \
     alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
     character";
const LABEL_VALUE_FORMAT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MAX: usize = 63;
const SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
     alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const SUBDOMAIN_FORMAT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const SUBDOMAIN_MAX: usize = 253;

fn regex_error(message: &str, format: &str, examples: &[&str]) -> String {
    let mut out = format!("{message} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}', "));
    }
    out.push_str(&format!("regex used for validation is '{format}')"));
    out
}

fn max_len_error(max: usize) -> String {
    format!("must be no more than {max} characters")
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, checked by hand.
fn is_qualified_name_part(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`, checked by hand.
fn is_dns1123_subdomain(value: &str) -> bool {
    value.split('.').all(|label| {
        let bytes = label.as_bytes();
        let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                edge(first) && edge(last) && bytes.iter().all(|b| edge(b) || *b == b'-')
            }
            _ => false,
        }
    })
}

fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > SUBDOMAIN_MAX {
        errors.push(max_len_error(SUBDOMAIN_MAX));
    }
    if !is_dns1123_subdomain(value) {
        errors.push(regex_error(
            SUBDOMAIN_MESSAGE,
            SUBDOMAIN_FORMAT,
            &["example.com"],
        ));
    }
    errors
}

/// The problems with a label key (a qualified name: optional DNS subdomain prefix and `/`,
/// then a name of at most 63 characters); empty when it is valid.
fn label_key_errors(key: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let name = match key.split_once('/') {
        None => key,
        Some((_, rest)) if rest.contains('/') => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. \
                 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_MESSAGE,
                    QUALIFIED_NAME_FORMAT,
                    &["MyName", "my.name", "123-abc"]
                )
            )];
        }
        Some((prefix, name)) => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            name
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errors.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX)));
    }
    if !is_qualified_name_part(name) {
        errors.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MESSAGE,
                QUALIFIED_NAME_FORMAT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errors
}

/// The problems with a label value (empty, or a qualified-name part of at most 63 characters).
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        errors.push(max_len_error(LABEL_VALUE_MAX));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errors.push(regex_error(
            LABEL_VALUE_MESSAGE,
            LABEL_VALUE_FORMAT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

/// The field errors Kubernetes reports for a requirement, each already rendered as
/// `path: Invalid value: value: detail`.
fn requirement_problems(key: &str, operator: Operator, values: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let key_errors = label_key_errors(key);
    if !key_errors.is_empty() {
        problems.push(format!(
            "key: Invalid value: {}: {}",
            quote(key),
            key_errors.join("; ")
        ));
    }
    let invalid_values =
        |detail: &str| format!("values: Invalid value: {}: {detail}", quote_list(values));
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            problems.push(invalid_values(
                "for 'in', 'notin' operators, values set can't be empty",
            ));
        }
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
            problems.push(invalid_values(
                "exact-match compatibility requires one single value",
            ));
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            problems.push(invalid_values(
                "values set must be empty for exists and does not exist",
            ));
        }
        Operator::GreaterThan | Operator::LessThan => {
            if values.len() != 1 {
                problems.push(invalid_values(
                    "for 'Gt', 'Lt' operators, exactly one value is required",
                ));
            }
            for (i, value) in values.iter().enumerate() {
                if value.parse::<i64>().is_err() {
                    problems.push(format!(
                        "values[{i}]: Invalid value: {}: for 'Gt', 'Lt' operators, the value \
                         must be an integer",
                        quote(value)
                    ));
                }
            }
        }
        _ => {}
    }
    for (i, value) in values.iter().enumerate() {
        let errors = label_value_errors(value);
        if !errors.is_empty() {
            problems.push(format!(
                "values[{i}][{key}]: Invalid value: {}: {}",
                quote(value),
                errors.join("; ")
            ));
        }
    }
    problems
}

/// Joins error messages the way Kubernetes aggregates them: duplicates dropped, a single
/// message as is, several as `[a, b]`.
fn aggregate(messages: Vec<String>) -> String {
    let mut unique: Vec<String> = Vec::with_capacity(messages.len());
    for message in messages {
        if !unique.contains(&message) {
            unique.push(message);
        }
    }
    match unique.as_slice() {
        [only] => only.clone(),
        _ => format!("[{}]", unique.join(", ")),
    }
}

/// Quotes a string as Kubernetes quotes bad values in its messages: double quotes, backslash
/// escapes for quotes, backslashes and control characters, everything else as is.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders a list of strings as Kubernetes prints a list value in its messages
/// (`[]string{"a", "b"}`); an empty list prints as `[]string(nil)`, because that is what a
/// requirement without values amounts to there.
fn quote_list(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_owned();
    }
    let quoted: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

// ---------------------------------------------------------------------------------------------
// The string-form lexer and parser. Their token rules and error texts mirror Kubernetes', down to
// quirks such as `in`/`notin` being ordinary identifiers wherever a value is expected.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(text: &[u8]) -> Option<Token> {
    Some(match text {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"in" => Token::In,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"notin" => Token::NotIn,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    /// The next byte, or 0 at the end. A NUL byte in the input therefore reads as an end, which
    /// is also how Kubernetes treats it.
    fn read(&mut self) -> u8 {
        match self.input.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn lex(&mut self) -> (Token, String) {
        let mut ch = self.read();
        while is_blank(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special(ch) {
            self.scan_special()
        } else {
            self.scan_word()
        }
    }

    fn scan_word(&mut self) -> (Token, String) {
        let mut buffer = Vec::new();
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special(ch) || is_blank(ch) {
                self.unread();
                break;
            }
            buffer.push(ch);
        }
        let token = keyword(&buffer).unwrap_or(Token::Identifier);
        (token, text(&buffer))
    }

    /// Takes the longest run of operator characters that still forms a known operator.
    fn scan_special(&mut self) -> (Token, String) {
        let mut buffer = Vec::new();
        let mut last: Option<(Token, usize)> = None;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if !is_special(ch) {
                self.unread();
                break;
            }
            buffer.push(ch);
            if let Some(token) = keyword(&buffer) {
                last = Some((token, buffer.len()));
            } else if last.is_some() {
                self.unread();
                break;
            }
        }
        match last {
            Some((token, len)) => (token, text(buffer.get(..len).unwrap_or_default())),
            None => (
                Token::Error,
                format!("error expected: keyword found '{}'", text(&buffer)),
            ),
        }
    }
}

/// Where the parser stands: `in` and `notin` are operators only right after a key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    fn new(selector: &str) -> Self {
        let mut lexer = Lexer {
            input: selector.as_bytes(),
            pos: 0,
        };
        let mut items = Vec::new();
        loop {
            let item = lexer.lex();
            let end = item.0 == Token::EndOfString;
            items.push(item);
            if end {
                break;
            }
        }
        Parser { items, position: 0 }
    }

    fn peek_at(&self, position: usize, context: Context) -> (Token, String) {
        let (token, literal) = self
            .items
            .get(position)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        let token = match (context, token) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            _ => token,
        };
        (token, literal)
    }

    fn lookahead(&self, context: Context) -> (Token, String) {
        self.peek_at(self.position, context)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let item = self.peek_at(self.position, context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(requirement);
                    let (token, literal) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (next, literal) = self.lookahead(Context::Values);
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{literal}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!(
                                "found '{literal}', expected: ',' or 'end of string'"
                            ))
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{literal}', expected: !, identifier, or 'end of string'"
                    ))
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(operator @ (Operator::Exists | Operator::DoesNotExist)) = inferred {
            return Requirement::new(key, operator, Vec::new()).map_err(|e| e.to_string());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, operator, values).map_err(|e| e.to_string())
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut operator = None;
        let (mut token, mut literal) = self.consume(Context::Values);
        if token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(format!("found '{literal}', expected: identifier"));
        }
        let errors = label_key_errors(&literal);
        if !errors.is_empty() {
            // The key is checked here before any path is known, hence Kubernetes' "<nil>".
            return Err(format!(
                "<nil>: Invalid value: {}: {}",
                quote(&literal),
                errors.join("; ")
            ));
        }
        let (next, _) = self.lookahead(Context::Values);
        if (next == Token::EndOfString || next == Token::Comma) && operator.is_none() {
            operator = Some(Operator::Exists);
        }
        Ok((literal, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(format!(
                    "found '{literal}', expected: in, notin, =, ==, !=, gt, lt"
                ))
            }
        })
    }

    /// `( v1, v2, ... )`; empty entries stand for the empty value, and `()` is `("")`.
    fn parse_values(&mut self) -> Result<Vec<String>, String> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(format!("found '{literal}' expected: '('"));
        }
        let (token, literal) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                let (token, _) = self.consume(Context::Values);
                if token != Token::ClosedPar {
                    return Err(format!("found '{literal}', expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!(
                "found '{literal}', expected: ',', ')' or identifier"
            )),
        }
    }

    /// The values up to (not including) the closing parenthesis, sorted and de-duplicated.
    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, String> {
        let mut values = std::collections::BTreeSet::new();
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.insert(literal);
                    let (next, literal) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values.into_iter().collect()),
                        _ => return Err(format!("found '{literal}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let (next, _) = self.lookahead(Context::Values);
                    if next == Token::ClosedPar {
                        values.insert(String::new());
                        return Ok(values.into_iter().collect());
                    }
                    if next == Token::Comma {
                        values.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{literal}', expected: ',', or identifier")),
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; nothing at all means "".
    fn parse_exact_value(&mut self) -> Result<Vec<String>, String> {
        let (token, _) = self.lookahead(Context::Values);
        if token == Token::EndOfString || token == Token::Comma {
            return Ok(vec![String::new()]);
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            Ok(vec![literal])
        } else {
            Err(format!("found '{literal}', expected: identifier"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const NAME_REGEX: &str = "must consist of alphanumeric characters, '-', '_' or '.', and \
         must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
         '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const VALUE_REGEX: &str = "a valid label must be an empty string or consist of \
         alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
         character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is \
         '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    #[test]
    fn parses_and_prints_canonically() {
        let cases = [
            ("", ""),
            ("   ", ""),
            ("x=a", "x=a"),
            ("x==a", "x==a"),
            ("x!=a", "x!=a"),
            (" x = a ", "x=a"),
            ("x\t=\ta\n", "x=a"),
            ("x=", "x="),
            ("x=,y=z", "x=,y=z"),
            ("x", "x"),
            ("!x", "!x"),
            ("! x", "!x"),
            ("x in (b,a)", "x in (a,b)"),
            ("x in (a,a)", "x in (a)"),
            ("x notin (a)", "x notin (a)"),
            ("x in ()", "x in ()"),
            ("x in (,a)", "x in (,a)"),
            ("x in (a,)", "x in (,a)"),
            ("x in (a,,b)", "x in (,a,b)"),
            ("x in (in,notin)", "x in (in,notin)"),
            ("in=notin", "in=notin"),
            ("x>1", "x>1"),
            ("x<10", "x<10"),
            ("b=1,a=2", "a=2,b=1"),
            ("example.com/app=a", "example.com/app=a"),
            (
                "app=web,tier!=db,env in (prod, staging),!legacy,release notin (a,b),gpu",
                "app=web,env in (prod,staging),gpu,!legacy,release notin (a,b),tier!=db",
            ),
            ("k=a,k=b", "k=a,k=b"),
        ];
        for (input, want) in cases {
            let selector = LabelSelector::parse(input)
                .unwrap_or_else(|e| panic!("{input:?} should parse, got {e}"));
            assert_eq!(selector.to_string(), want, "input {input:?}");
            // The canonical form parses back to the same selector.
            assert_eq!(
                LabelSelector::parse(want).as_ref(),
                Ok(&selector),
                "{want:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_syntax_with_kubernetes_messages() {
        let long_key = "k".repeat(64);
        let long_input = format!("{long_key}=1");
        let cases: Vec<(&str, String)> = vec![
            (
                "x y",
                "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"
                    .into(),
            ),
            (
                "x=a b",
                "found 'b', expected: ',' or 'end of string'".into(),
            ),
            (
                "x in a",
                "unable to parse requirement: found 'a' expected: '('".into(),
            ),
            (
                "x in (a",
                "unable to parse requirement: found '', expected: ',' or ')'".into(),
            ),
            (
                "x in (a b)",
                "unable to parse requirement: found 'b', expected: ',' or ')'".into(),
            ),
            (
                "x in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier".into(),
            ),
            (
                "x in (a,=)",
                "unable to parse requirement: found '=', expected: ',', or identifier".into(),
            ),
            (
                "x = (a)",
                "unable to parse requirement: found '(', expected: identifier".into(),
            ),
            (
                "=a",
                "found '=', expected: !, identifier, or 'end of string'".into(),
            ),
            ("x=a,", "found '', expected: identifier after ','".into()),
            ("a=b,,c", "found ',', expected: identifier after ','".into()),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier".into(),
            ),
            ("!a=b", "found '=', expected: ',' or 'end of string'".into()),
            (
                "a/b/c",
                format!(
                    "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified \
                     name {NAME_REGEX} with an optional DNS subdomain prefix and '/' (e.g. \
                     'example.com/MyName')"
                ),
            ),
            (
                "/a",
                "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be \
                 non-empty"
                    .into(),
            ),
            (
                "Example.com/a",
                "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix \
                 part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
                 characters, '-' or '.', and must start and end with an alphanumeric character \
                 (e.g. 'example.com', regex used for validation is \
                 '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                    .into(),
            ),
            (
                "x_=1",
                format!(
                    "unable to parse requirement: <nil>: Invalid value: \"x_\": name part \
                     {NAME_REGEX}"
                ),
            ),
            (
                &long_input,
                format!(
                    "unable to parse requirement: <nil>: Invalid value: \"{long_key}\": name \
                     part must be no more than 63 characters"
                ),
            ),
            (
                "x=-a",
                format!(
                    "unable to parse requirement: values[0][x]: Invalid value: \"-a\": \
                     {VALUE_REGEX}"
                ),
            ),
            (
                "x in (-b,-a)",
                format!(
                    "unable to parse requirement: [values[0][x]: Invalid value: \"-a\": \
                     {VALUE_REGEX}, values[1][x]: Invalid value: \"-b\": {VALUE_REGEX}]"
                ),
            ),
            (
                "x>a",
                "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' \
                 operators, the value must be an integer"
                    .into(),
            ),
            (
                "x>-1",
                format!(
                    "unable to parse requirement: values[0][x]: Invalid value: \"-1\": \
                     {VALUE_REGEX}"
                ),
            ),
        ];
        for (input, want) in cases {
            match LabelSelector::parse(input) {
                Ok(s) => panic!("{input:?} should fail, parsed as {s}"),
                Err(e) => {
                    assert!(matches!(e, SelectorError::Parse(_)), "{input:?}: {e:?}");
                    assert_eq!(e.to_string(), want, "input {input:?}");
                }
            }
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for input in [
            "\0",
            "a\0b",
            "é=ü",
            "((((",
            "))))",
            "!!!",
            "===",
            "a!!=b",
            "<>",
            "x in (",
            "x in",
            ",",
            "x,",
            "x notin",
            "x in ((a))",
        ] {
            // Only the absence of a panic matters here; the result is checked elsewhere.
            let result = LabelSelector::parse(input);
            if let Ok(selector) = result {
                assert_eq!(
                    LabelSelector::parse(&selector.to_string()).as_ref(),
                    Ok(&selector)
                );
            }
        }
        // Non-ASCII keys are invalid, not a crash.
        assert!(LabelSelector::parse("é=1").is_err());
    }

    #[test]
    fn matches_labels() {
        let cases = [
            ("", vec![], true),
            ("", vec![("a", "b")], true),
            ("x=a", vec![("x", "a")], true),
            ("x=a", vec![("x", "b")], false),
            ("x=a", vec![], false),
            ("x==a", vec![("x", "a")], true),
            ("x!=a", vec![("x", "b")], true),
            ("x!=a", vec![], true),
            ("x!=a", vec![("x", "a")], false),
            ("x in (a,b)", vec![("x", "b")], true),
            ("x in (a,b)", vec![("x", "c")], false),
            ("x in (a,b)", vec![], false),
            ("x notin (a,b)", vec![("x", "c")], true),
            ("x notin (a,b)", vec![], true),
            ("x notin (a,b)", vec![("x", "a")], false),
            ("x", vec![("x", "")], true),
            ("x", vec![("y", "")], false),
            ("!x", vec![("y", "")], true),
            ("!x", vec![("x", "")], false),
            ("x=", vec![("x", "")], true),
            ("x=", vec![], false),
            ("x in ()", vec![("x", "")], true),
            ("x>1", vec![("x", "2")], true),
            ("x>1", vec![("x", "1")], false),
            ("x>1", vec![("x", "abc")], false),
            ("x>1", vec![], false),
            ("x<1", vec![("x", "0")], true),
            ("x<1", vec![("x", "1")], false),
            ("a=1,b=2", vec![("a", "1"), ("b", "2")], true),
            ("a=1,b=2", vec![("a", "1"), ("b", "3")], false),
        ];
        for (selector, set, want) in cases {
            let parsed = LabelSelector::parse(selector).expect("test selector parses");
            assert_eq!(
                parsed.matches(&labels(&set)),
                want,
                "{selector:?} against {set:?}"
            );
        }
    }

    fn api(
        match_labels: &[(&str, &str)],
        expressions: &[(&str, &str, Option<&[&str]>)],
    ) -> meta::LabelSelector {
        meta::LabelSelector {
            match_labels: (!match_labels.is_empty()).then(|| labels(match_labels)),
            match_expressions: (!expressions.is_empty()).then(|| {
                expressions
                    .iter()
                    .map(|(key, op, values)| meta::LabelSelectorRequirement {
                        key: (*key).to_owned(),
                        operator: (*op).to_owned(),
                        values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
                    })
                    .collect()
            }),
        }
    }

    #[test]
    fn converts_structured_selectors() {
        let cases = [
            (api(&[], &[]), ""),
            (api(&[("app", "web")], &[]), "app=web"),
            (
                api(
                    &[("tier", "db"), ("app", "web")],
                    &[("env", "In", Some(&["prod", "dev"]))],
                ),
                "app=web,env in (dev,prod),tier=db",
            ),
            (
                api(
                    &[],
                    &[
                        ("b", "NotIn", Some(&["x"])),
                        ("a", "Exists", None),
                        ("c", "DoesNotExist", Some(&[])),
                    ],
                ),
                "a,b notin (x),!c",
            ),
        ];
        for (selector, want) in cases {
            let converted = LabelSelector::from_api(&selector).expect("valid selector");
            assert_eq!(converted.to_string(), want);
            assert!(!converted.matches_nothing());
        }
        let empty = LabelSelector::from_api(&meta::LabelSelector::default()).expect("valid");
        assert!(empty.is_empty());
        assert!(empty.matches(&labels(&[("any", "thing")])));
    }

    #[test]
    fn missing_structured_selector_matches_nothing() {
        let none = LabelSelector::from_api_opt(None).expect("None converts");
        assert!(none.matches_nothing());
        assert!(!none.is_empty());
        assert!(!none.matches(&labels(&[])));
        assert!(!none.matches(&labels(&[("a", "b")])));
        assert_eq!(none.to_string(), "");
        let some =
            LabelSelector::from_api_opt(Some(&meta::LabelSelector::default())).expect("converts");
        assert!(some.matches(&labels(&[])));
    }

    #[test]
    fn structured_selector_matching() {
        let selector = LabelSelector::from_api(&api(
            &[("app", "web")],
            &[("env", "NotIn", Some(&["dev"])), ("gpu", "Exists", None)],
        ))
        .expect("valid");
        let cases = [
            (vec![("app", "web"), ("gpu", "1")], true),
            (vec![("app", "web"), ("gpu", "1"), ("env", "prod")], true),
            (vec![("app", "web"), ("gpu", "1"), ("env", "dev")], false),
            (vec![("app", "web")], false),
            (vec![("app", "api"), ("gpu", "1")], false),
        ];
        for (set, want) in cases {
            assert_eq!(selector.matches(&labels(&set)), want, "{set:?}");
        }
    }

    #[test]
    fn rejects_invalid_structured_selectors() {
        let cases = [
            (
                api(&[], &[("a", "In", None)]),
                "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set \
                 can't be empty"
                    .to_owned(),
            ),
            (
                api(&[], &[("a", "NotIn", Some(&[]))]),
                "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set \
                 can't be empty"
                    .to_owned(),
            ),
            (
                api(&[], &[("a", "Exists", Some(&["x"]))]),
                "values: Invalid value: []string{\"x\"}: values set must be empty for exists \
                 and does not exist"
                    .to_owned(),
            ),
            (
                api(&[], &[("a", "DoesNotExist", Some(&["x", "y"]))]),
                "values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for \
                 exists and does not exist"
                    .to_owned(),
            ),
            (
                api(&[], &[("a", "Equals", Some(&["x"]))]),
                "\"Equals\" is not a valid label selector operator".to_owned(),
            ),
            (
                api(&[("a b", "x")], &[]),
                format!("key: Invalid value: \"a b\": name part {NAME_REGEX}"),
            ),
            (
                api(&[("a", "x y")], &[]),
                format!("values[0][a]: Invalid value: \"x y\": {VALUE_REGEX}"),
            ),
            (
                api(&[], &[("a", "In", Some(&["ok", "-bad"]))]),
                format!("values[1][a]: Invalid value: \"-bad\": {VALUE_REGEX}"),
            ),
            (
                api(&[], &[("", "In", None)]),
                format!(
                    "[key: Invalid value: \"\": name part must be non-empty; name part \
                     {NAME_REGEX}, values: Invalid value: []string(nil): for 'in', 'notin' \
                     operators, values set can't be empty]"
                ),
            ),
        ];
        for (selector, want) in cases {
            let err = LabelSelector::from_api(&selector).expect_err("should be rejected");
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn requirement_constructor_validates_arity() {
        let cases = [
            (Operator::Equals, vec![], false),
            (Operator::Equals, vec!["a", "b"], false),
            (Operator::NotEquals, vec!["a"], true),
            (Operator::In, vec!["a", "b"], true),
            (Operator::GreaterThan, vec!["1", "2"], false),
            (Operator::LessThan, vec!["7"], true),
            (Operator::Exists, vec![], true),
        ];
        for (operator, values, ok) in cases {
            let values = values.into_iter().map(String::from).collect();
            assert_eq!(
                Requirement::new("k", operator, values).is_ok(),
                ok,
                "{operator:?}"
            );
        }
    }

    #[test]
    fn from_map_add_and_exact_match() {
        let mut selector = LabelSelector::from_map(&labels(&[("b", "2"), ("a", "1")]));
        assert_eq!(selector.to_string(), "a=1,b=2");
        selector.add(Requirement::new("ab", Operator::Exists, vec![]).expect("valid"));
        assert_eq!(selector.to_string(), "a=1,ab,b=2");
        assert!(LabelSelector::from_map(&BTreeMap::new()).is_empty());

        let parsed = LabelSelector::parse("a=1,b in (x),c in (x,y),d!=z").expect("parses");
        let cases = [
            ("a", Some("1")),
            ("b", Some("x")),
            ("c", None),
            ("d", None),
            ("e", None),
        ];
        for (key, want) in cases {
            assert_eq!(parsed.requires_exact_match(key), want, "{key}");
        }
    }

    #[test]
    fn quoting() {
        let cases = [
            ("abc", "\"abc\""),
            ("a\"b", "\"a\\\"b\""),
            ("a\\b", "\"a\\\\b\""),
            ("\n\t", "\"\\n\\t\""),
            ("\u{1}", "\"\\x01\""),
            ("é", "\"é\""),
        ];
        for (input, want) in cases {
            assert_eq!(quote(input), want);
        }
    }
}

//! Resource quantities in the canonical form Kubernetes stores and prints.
//!
//! Kubernetes never keeps a quantity as the user wrote it: it parses `0.5`, `1024Mi` or
//! `1000m` into a fixed-point number and writes it back as `500m`, `1Gi` and `1`. Resource
//! lists (container requests and limits, node capacity, quota) are also rounded up to
//! whole millis when they are defaulted. `kubectl get -o yaml` and `kubectl diff` show the
//! canonical form, so Berth stores quantities the same way.
//!
//! Numbers are held as a sign, a 128-bit magnitude and a power of ten. That covers every
//! quantity a cluster can use; a value beyond it is reported as [`QuantityError::OutOfRange`]
//! and left as written by the defaulting code.

use std::collections::BTreeMap;

use crate::k8s::apimachinery::pkg::api::resource::Quantity;

/// Why a quantity string could not be put in canonical form.
///
/// The first three variants carry the messages Kubernetes gives when it rejects a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string does not have the shape of a quantity at all.
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format,
    /// The numeric part could not be read.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is not one of the known units or exponents.
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The value is well formed but too large or too precise for Berth to rewrite.
    #[error("quantity {0:?} is outside the range Berth can canonicalize")]
    OutOfRange(String),
}

/// How a quantity is written; Kubernetes keeps the family the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `12e6`
    DecimalExponent,
    /// `12Mi`
    BinarySI,
    /// `12M`, `12m` or `12`
    DecimalSI,
}

/// A parsed quantity: `(-1)^negative * magnitude * 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Amount {
    negative: bool,
    magnitude: u128,
    scale: i32,
    format: Format,
}

/// The smallest power of ten a quantity keeps: nano units.
const NANO_SCALE: i32 = -9;
/// Resource lists are rounded up to this power of ten: milli units.
const MILLI_SCALE: i32 = -3;

/// Returns `input` in the canonical form Kubernetes would store.
///
/// With `round_to_milli`, the value is first rounded up to whole millis, as Kubernetes does
/// for resource lists (`0.1m` becomes `1m`).
pub fn canonical_quantity(input: &str, round_to_milli: bool) -> Result<String, QuantityError> {
    let mut amount = parse(input)?;
    if round_to_milli {
        amount = round_up(amount, MILLI_SCALE, input)?;
    }
    render(amount, input)
}

/// Rewrites every quantity of a resource list in canonical form, rounded up to millis.
///
/// Values that do not parse are left as written, for validation to report.
pub fn canonicalize_resource_list(list: &mut Option<BTreeMap<String, Quantity>>) {
    for value in list.iter_mut().flat_map(|map| map.values_mut()) {
        if let Ok(canonical) = canonical_quantity(&value.0, true) {
            value.0 = canonical;
        }
    }
}

/// Rewrites one quantity in canonical form without extra rounding; unparsable values stay.
pub fn canonicalize(value: &mut Option<Quantity>) {
    if let Some(value) = value {
        if let Ok(canonical) = canonical_quantity(&value.0, false) {
            value.0 = canonical;
        }
    }
}

/// The pieces of a quantity string, split the way Kubernetes scans it.
struct Pieces<'a> {
    negative: bool,
    /// Integer digits without leading zeros ("0" when there are none).
    whole: &'a str,
    /// Fraction digits, possibly empty.
    fraction: &'a str,
    suffix: &'a str,
}

fn scan(input: &str) -> Result<Pieces<'_>, QuantityError> {
    let bytes = input.as_bytes();
    let end = bytes.len();
    let mut pos = 0;
    let mut negative = false;
    match bytes.first() {
        Some(b'-') => {
            negative = true;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    while pos < end && bytes[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Pieces {
            negative,
            whole: "0",
            fraction: "",
            suffix: "",
        });
    }
    let start = pos;
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let whole = match &input[start..pos] {
        "" => "0",
        digits => digits,
    };
    let mut fraction = "";
    if pos < end && bytes[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < end && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        fraction = &input[start..pos];
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&bytes[pos]) {
        pos += 1;
    }
    if pos < end && (bytes[pos] == b'-' || bytes[pos] == b'+') {
        pos += 1;
    }
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::Format);
    }
    Ok(Pieces {
        negative,
        whole,
        fraction,
        suffix: &input[suffix_start..],
    })
}

/// The base (2 or 10), exponent and format a suffix stands for.
fn interpret_suffix(suffix: &str) -> Result<(u32, i32, Format), QuantityError> {
    let decimal = |exponent| Ok((10, exponent, Format::DecimalSI));
    let binary = |exponent| Ok((2, exponent, Format::BinarySI));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let rest = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .filter(|rest| !rest.is_empty())
                .ok_or(QuantityError::Suffix)?;
            let exponent: i64 = rest.parse().map_err(|_| QuantityError::Suffix)?;
            let exponent = i32::try_from(exponent).map_err(|_| QuantityError::Suffix)?;
            Ok((10, exponent, Format::DecimalExponent))
        }
    }
}

fn parse(input: &str) -> Result<Amount, QuantityError> {
    if input.is_empty() {
        return Err(QuantityError::Format);
    }
    let pieces = scan(input)?;
    let (base, exponent, format) = interpret_suffix(pieces.suffix)?;
    let out_of_range = || QuantityError::OutOfRange(input.to_owned());
    let fraction_len = i32::try_from(pieces.fraction.len()).map_err(|_| out_of_range())?;
    let digits = format!("{}{}", pieces.whole, pieces.fraction);
    let digits = digits.trim_start_matches('0');
    let mut magnitude: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| out_of_range())?
    };
    let mut scale = -fraction_len;
    if base == 10
        && pieces.whole.len() + pieces.fraction.len() <= 19
        && i64::from(exponent) - i64::from(fraction_len) >= i64::from(NANO_SCALE)
        && magnitude > u128::from(i64::MAX.unsigned_abs())
    {
        // Kubernetes reads short decimal numbers as a 64-bit integer and fails on overflow.
        return Err(QuantityError::Numeric);
    }
    if base == 10 {
        scale = scale.checked_add(exponent).ok_or_else(out_of_range)?;
    } else {
        let shift = u32::try_from(exponent).map_err(|_| out_of_range())?;
        magnitude = magnitude
            .checked_mul(1u128 << shift)
            .ok_or_else(out_of_range)?;
    }
    let mut amount = Amount {
        negative: pieces.negative,
        magnitude,
        scale,
        format,
    };
    if amount.magnitude == 0 {
        return Ok(Amount {
            negative: false,
            magnitude: 0,
            scale: 0,
            format: Format::DecimalSI,
        });
    }
    // Kubernetes keeps nothing finer than nano units and rounds anything finer up.
    amount = round_up(amount, NANO_SCALE, input)?;
    if amount.format == Format::BinarySI {
        let cap = u128::from(i64::MAX.unsigned_abs());
        if compare_with_integer(&amount, cap) == std::cmp::Ordering::Greater {
            amount.magnitude = cap;
            amount.scale = 0;
        }
        if compare_with_integer(&amount, 1) == std::cmp::Ordering::Less {
            amount.format = Format::DecimalSI;
        }
    }
    Ok(amount)
}

/// Rounds the magnitude up (away from zero) so that the scale is at least `scale`.
fn round_up(mut amount: Amount, scale: i32, input: &str) -> Result<Amount, QuantityError> {
    if amount.scale >= scale || amount.magnitude == 0 {
        return Ok(amount);
    }
    let drop = u32::try_from(i64::from(scale) - i64::from(amount.scale))
        .map_err(|_| QuantityError::OutOfRange(input.to_owned()))?;
    let divisor = 10u128.checked_pow(drop);
    amount.magnitude = match divisor {
        Some(divisor) => {
            let quotient = amount.magnitude / divisor;
            if amount.magnitude.is_multiple_of(divisor) {
                quotient
            } else {
                quotient + 1
            }
        }
        // Anything non-zero divided by more than 10^38 rounds up to one unit.
        None => 1,
    };
    amount.scale = scale;
    Ok(amount)
}

/// Compares the absolute value of `amount` with a whole number.
fn compare_with_integer(amount: &Amount, value: u128) -> std::cmp::Ordering {
    if amount.scale >= 0 {
        let factor = u32::try_from(amount.scale)
            .ok()
            .and_then(|scale| 10u128.checked_pow(scale));
        match factor.and_then(|factor| amount.magnitude.checked_mul(factor)) {
            Some(whole) => whole.cmp(&value),
            None => std::cmp::Ordering::Greater,
        }
    } else {
        let divisor = u32::try_from(-i64::from(amount.scale))
            .ok()
            .and_then(|scale| 10u128.checked_pow(scale));
        match divisor {
            Some(divisor) => {
                let whole = amount.magnitude / divisor;
                let exact = amount.magnitude.is_multiple_of(divisor);
                match whole.cmp(&value) {
                    std::cmp::Ordering::Equal if !exact => std::cmp::Ordering::Greater,
                    other => other,
                }
            }
            // Scales this small never survive the rounding to nano units.
            None => std::cmp::Ordering::Less,
        }
    }
}

/// The amount as a whole number, when it is one and fits.
fn as_integer(amount: &Amount) -> Option<u128> {
    if amount.scale >= 0 {
        let factor = 10u128.checked_pow(u32::try_from(amount.scale).ok()?)?;
        amount.magnitude.checked_mul(factor)
    } else {
        let divisor = 10u128.checked_pow(u32::try_from(-i64::from(amount.scale)).ok()?)?;
        amount
            .magnitude
            .is_multiple_of(divisor)
            .then(|| amount.magnitude / divisor)
    }
}

fn render(amount: Amount, input: &str) -> Result<String, QuantityError> {
    if amount.magnitude == 0 {
        return Ok("0".to_owned());
    }
    let sign = if amount.negative { "-" } else { "" };
    let mut format = amount.format;
    if format == Format::BinarySI {
        if compare_with_integer(&amount, 1024) == std::cmp::Ordering::Less {
            format = Format::DecimalSI;
        } else if let Some(mut whole) = as_integer(&amount) {
            let mut power = 0;
            while whole.is_multiple_of(1024) && power < 6 {
                whole /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
                .get(power)
                .copied()
                .unwrap_or_default();
            return Ok(format!("{sign}{whole}{suffix}"));
        } else {
            format = Format::DecimalSI;
        }
    }
    let out_of_range = || QuantityError::OutOfRange(input.to_owned());
    let mut magnitude = amount.magnitude;
    let mut scale = amount.scale;
    while magnitude.is_multiple_of(10) {
        magnitude /= 10;
        scale = scale.checked_add(1).ok_or_else(out_of_range)?;
    }
    while scale.rem_euclid(3) != 0 {
        magnitude = magnitude.checked_mul(10).ok_or_else(out_of_range)?;
        scale -= 1;
    }
    let suffix = match format {
        Format::DecimalExponent if scale == 0 => String::new(),
        Format::DecimalExponent => format!("e{scale}"),
        _ => match scale {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => return Err(out_of_range()),
        }
        .to_owned(),
    };
    Ok(format!("{sign}{magnitude}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let cases: &[(&str, bool, &str)] = &[
            ("0", false, "0"),
            ("0.0", false, "0"),
            ("-0", false, "0"),
            ("0Mi", false, "0"),
            ("1", false, "1"),
            ("0.5", false, "500m"),
            (".5", false, "500m"),
            ("1.5", false, "1500m"),
            ("1000m", false, "1"),
            ("1500m", false, "1500m"),
            ("100m", false, "100m"),
            ("1000", false, "1k"),
            ("2000", false, "2k"),
            ("2.5G", false, "2500M"),
            ("1E", false, "1E"),
            ("1024Mi", false, "1Gi"),
            ("1.5Gi", false, "1536Mi"),
            ("123Mi", false, "123Mi"),
            ("1536", false, "1536"),
            ("1Ki", false, "1Ki"),
            ("0.5Ki", false, "512"),
            ("128974848", false, "128974848"),
            ("129e6", false, "129e6"),
            ("1e3", false, "1e3"),
            ("1000e0", false, "1e3"),
            ("1.5e3", false, "1500"),
            ("12E6", false, "12e6"),
            ("-1.5", false, "-1500m"),
            ("+2", false, "2"),
            ("1.", false, "1"),
            (".", false, "0"),
            ("99999999999999999999", false, "99999999999999999999"),
            ("1n", false, "1n"),
            ("0.1n", false, "1n"),
            ("1u", false, "1u"),
            ("1000u", false, "1m"),
            ("0.1m", true, "1m"),
            ("1u", true, "1m"),
            ("1.0001", true, "1001m"),
            ("2Gi", true, "2Gi"),
            ("250m", true, "250m"),
        ];
        for (input, milli, want) in cases {
            assert_eq!(
                canonical_quantity(input, *milli).as_deref(),
                Ok(*want),
                "input {input:?} (milli rounding {milli})"
            );
        }
    }

    #[test]
    fn rejects_malformed_quantities() {
        let cases: &[(&str, QuantityError)] = &[
            ("", QuantityError::Format),
            ("abc", QuantityError::Format),
            ("1.2.3", QuantityError::Format),
            ("1 Gi", QuantityError::Format),
            ("1e", QuantityError::Suffix),
            ("1K", QuantityError::Suffix),
            ("1Mb", QuantityError::Format),
            ("1iK", QuantityError::Suffix),
            ("9999999999999999999", QuantityError::Numeric),
        ];
        for (input, want) in cases {
            assert_eq!(
                canonical_quantity(input, false),
                Err(want.clone()),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn resource_lists_are_rounded_and_canonical() {
        let mut list = Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("0.5".to_owned())),
            ("memory".to_owned(), Quantity("1024Mi".to_owned())),
            (
                "example.com/widget".to_owned(),
                Quantity("not-a-number".to_owned()),
            ),
        ]));
        canonicalize_resource_list(&mut list);
        let list = list.unwrap_or_default();
        let got: Vec<(&str, &str)> = list
            .iter()
            .map(|(key, value)| (key.as_str(), value.0.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("cpu", "500m"),
                ("example.com/widget", "not-a-number"),
                ("memory", "1Gi"),
            ]
        );
    }

    #[test]
    fn huge_binary_values_are_capped() {
        assert_eq!(
            canonical_quantity("16Ei", false).as_deref(),
            Ok("9223372036854775807")
        );
    }
}

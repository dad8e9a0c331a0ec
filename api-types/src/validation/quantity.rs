//! Resource quantities (`500m`, `1Gi`, `2`) as validation needs them: parsed exactly enough to
//! compare requests with limits and printed in the canonical form Kubernetes uses in messages.

use std::cmp::Ordering;

/// The message for a string that is not a quantity.
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// How a quantity was written, which decides how it is printed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

/// A parsed quantity, held in billionths so `1n` through exabytes compare exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;
const LIMIT: i128 = i128::MAX / 4;

fn ceil_div(n: i128, d: i128) -> i64 {
    let q = n.div_euclid(d) + i128::from(n.rem_euclid(d) != 0);
    q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl Quantity {
    /// Parses a quantity string; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Quantity> {
        let text = text.trim();
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(num_end);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        let (format, exp10, pow1024) = match suffix {
            "" => (Format::DecimalSi, 0, 0),
            "n" => (Format::DecimalSi, -9, 0),
            "u" => (Format::DecimalSi, -6, 0),
            "m" => (Format::DecimalSi, -3, 0),
            "k" => (Format::DecimalSi, 3, 0),
            "M" => (Format::DecimalSi, 6, 0),
            "G" => (Format::DecimalSi, 9, 0),
            "T" => (Format::DecimalSi, 12, 0),
            "P" => (Format::DecimalSi, 15, 0),
            "E" => (Format::DecimalSi, 18, 0),
            "Ki" => (Format::BinarySi, 0, 1),
            "Mi" => (Format::BinarySi, 0, 2),
            "Gi" => (Format::BinarySi, 0, 3),
            "Ti" => (Format::BinarySi, 0, 4),
            "Pi" => (Format::BinarySi, 0, 5),
            "Ei" => (Format::BinarySi, 0, 6),
            s if s.starts_with('e') || s.starts_with('E') => {
                let digits = &s[1..];
                let body = digits.strip_prefix(['+', '-']).unwrap_or(digits);
                if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let e: i32 = digits.parse().ok()?;
                (Format::DecimalExponent, e, 0)
            }
            _ => return None,
        };
        // value = 0.<digits> scaled: mantissa digits with the decimal point removed.
        let digits: String = format!("{int_part}{frac_part}");
        let mut exp = exp10 - frac_part.len() as i32 + 9;
        let mut mantissa: i128 = 0;
        for c in digits.bytes() {
            mantissa = mantissa
                .saturating_mul(10)
                .saturating_add(i128::from(c - b'0'));
            if mantissa > LIMIT {
                mantissa = LIMIT;
            }
        }
        for _ in 0..pow1024 {
            mantissa = mantissa.saturating_mul(1024).min(LIMIT);
        }
        let mut nanos = mantissa;
        while exp > 0 && nanos < LIMIT {
            nanos = nanos.saturating_mul(10).min(LIMIT);
            exp -= 1;
        }
        while exp < 0 {
            // Kubernetes rounds values finer than a nano up.
            let rem = nanos % 10;
            nanos /= 10;
            if rem != 0 {
                nanos += 1;
            }
            exp += 1;
        }
        Some(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    /// Whether the quantity is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Whether the quantity is a whole number.
    pub fn is_integer(&self) -> bool {
        self.nanos % NANO == 0
    }

    /// Whether the quantity is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// The value in thousandths, rounded up and held to the `i64` range (CPU is counted in
    /// millicores this way).
    pub fn milli_value(&self) -> i64 {
        ceil_div(self.nanos, 1_000_000)
    }

    /// The value rounded up to a whole number and held to the `i64` range (bytes, counts).
    pub fn value(&self) -> i64 {
        ceil_div(self.nanos, NANO)
    }

    /// Compares two quantities by value.
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }

    /// The canonical text Kubernetes prints for this quantity (`1500m`, `1536Mi`, `2`).
    pub fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_owned();
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.abs();
        if self.format == Format::BinarySi && abs >= 1024 * NANO && abs % NANO == 0 {
            let mut whole = abs / NANO;
            let mut k = 0;
            while k < 6 && whole % 1024 == 0 {
                whole /= 1024;
                k += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k];
            return format!("{sign}{whole}{suffix}");
        }
        // Decimal: pick the largest power of 1000 that keeps the mantissa whole.
        let mut mantissa = abs;
        let mut exp = -9i32;
        while exp < 18 && mantissa % 1000 == 0 {
            mantissa /= 1000;
            exp += 3;
        }
        let suffix = if self.format == Format::DecimalExponent {
            if exp == 0 {
                String::new()
            } else {
                format!("e{exp}")
            }
        } else {
            match exp {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                18 => "E",
                _ => "",
            }
            .to_owned()
        };
        format!("{sign}{mantissa}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        let cases = [
            ("1", "1"),
            ("0.5", "500m"),
            ("500m", "500m"),
            ("1000m", "1"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("512Ki", "512Ki"),
            ("0.5Ki", "512"),
            ("1e3", "1e3"),
            ("1500", "1500"),
            ("2k", "2k"),
            ("-1", "-1"),
            ("0", "0"),
            ("1n", "1n"),
        ];
        for (input, want) in cases {
            let q = Quantity::parse(input).map(|q| q.canonical());
            assert_eq!(q.as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn milli_and_whole_values_round_up() {
        let cases = [
            ("500m", 500, 1),
            ("1", 1000, 1),
            ("0.1", 100, 1),
            ("1n", 1, 1),
            ("1Gi", 1_073_741_824_000, 1_073_741_824),
            ("2k", 2_000_000, 2000),
            ("0", 0, 0),
            ("-1500m", -1500, -1),
        ];
        for (input, milli, whole) in cases {
            let q = Quantity::parse(input).unwrap();
            assert_eq!((q.milli_value(), q.value()), (milli, whole), "{input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1.2.3", "1Qi", "1e", "--1", "."] {
            assert!(Quantity::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn compares_by_value() {
        let a = Quantity::parse("500m");
        let b = Quantity::parse("0.5");
        let c = Quantity::parse("1");
        assert_eq!(
            a.zip(b).map(|(a, b)| a.cmp_value(&b)),
            Some(Ordering::Equal)
        );
        assert_eq!(a.zip(c).map(|(a, c)| a.cmp_value(&c)), Some(Ordering::Less));
        assert!(Quantity::parse("-1").is_some_and(|q| q.is_negative()));
        assert!(Quantity::parse("1.5").is_some_and(|q| !q.is_integer()));
    }
}

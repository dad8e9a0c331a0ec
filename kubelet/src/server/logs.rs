//! Container logs from the CRI log files: each line is `<RFC 3339 time> <stdout|stderr>
//! <F|P> <text>`, where `P` marks a piece of a longer line that continues in the next entry.

use jiff::Timestamp;

/// What `/containerLogs` was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<u64>,
    pub limit_bytes: Option<u64>,
    /// Entries older than this are skipped (from `sinceSeconds` or `sinceTime`).
    pub since: Option<Timestamp>,
}

impl LogOptions {
    /// Parses the query; a malformed value is an error message for a 400.
    pub fn parse(pairs: &[(String, String)], now: Timestamp) -> Result<LogOptions, String> {
        let mut o = LogOptions::default();
        let boolean = |v: &str| matches!(v, "true" | "1" | "True" | "TRUE");
        let number = |n: &str, v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("invalid value {v:?} for {n}"))
        };
        for (n, v) in pairs {
            match n.as_str() {
                "follow" => o.follow = boolean(v),
                "previous" => o.previous = boolean(v),
                "timestamps" => o.timestamps = boolean(v),
                "tailLines" => o.tail_lines = Some(number(n, v)?),
                "limitBytes" => o.limit_bytes = Some(number(n, v)?.max(1)),
                "sinceSeconds" => {
                    let secs = number(n, v)?.clamp(1, 10 * 365 * 86400) as i64;
                    o.since = now.checked_sub(jiff::SignedDuration::from_secs(secs)).ok();
                }
                "sinceTime" => {
                    o.since = Some(
                        v.parse::<Timestamp>()
                            .map_err(|_| format!("invalid value {v:?} for sinceTime"))?,
                    )
                }
                _ => {}
            }
        }
        Ok(o)
    }
}

/// One parsed entry of a CRI log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub time: &'a str,
    pub stream: &'a str,
    /// The entry ends its line (`F`), rather than being a piece of one (`P`).
    pub full: bool,
    pub text: &'a [u8],
}

/// Parses one line of a CRI log file (without its newline); `None` for a malformed line.
pub fn parse_line(line: &[u8]) -> Option<Entry<'_>> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let stream = std::str::from_utf8(parts.next()?).ok()?;
    let tag = parts.next()?;
    let text = parts.next().unwrap_or_default();
    if stream != "stdout" && stream != "stderr" {
        return None;
    }
    let full = match tag.split(|b| *b == b':').next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    Some(Entry {
        time,
        stream,
        full,
        text,
    })
}

/// Turns log file content into what the client reads. `budget` counts the bytes still
/// allowed by `limitBytes` and is decreased.
pub struct Formatter {
    pub timestamps: bool,
    pub since: Option<Timestamp>,
    pub budget: Option<u64>,
}

impl Formatter {
    /// Appends the rendering of complete lines of `content` to `out`; returns false once
    /// the byte budget is spent.
    pub fn render(&mut self, content: &[u8], out: &mut Vec<u8>) -> bool {
        for line in content.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Some(e) = parse_line(line) else { continue };
            if let Some(since) = self.since {
                match e.time.parse::<Timestamp>() {
                    Ok(t) if t < since => continue,
                    _ => {}
                }
            }
            let mut piece = Vec::with_capacity(e.text.len() + 40);
            if self.timestamps {
                piece.extend_from_slice(e.time.as_bytes());
                piece.push(b' ');
            }
            piece.extend_from_slice(e.text);
            if e.full {
                piece.push(b'\n');
            }
            if let Some(budget) = self.budget.as_mut() {
                if (piece.len() as u64) >= *budget {
                    out.extend_from_slice(&piece[..*budget as usize]);
                    *budget = 0;
                    return false;
                }
                *budget -= piece.len() as u64;
            }
            out.extend_from_slice(&piece);
        }
        true
    }
}

/// The byte offset in `content` where the last `n` lines (complete `F` entries, with the
/// pieces before them) begin.
pub fn tail_start(content: &[u8], n: u64) -> usize {
    if n == 0 {
        return content.len();
    }
    let mut seen = 0u64;
    // Walk the entries backwards; a line ends at an F entry.
    let mut end = content.len();
    let mut start_of_last_counted = content.len();
    while end > 0 {
        let slice = &content[..end];
        let trimmed = slice.strip_suffix(b"\n").unwrap_or(slice);
        let begin = trimmed
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let line = &trimmed[begin..];
        if let Some(e) = parse_line(line) {
            if e.full {
                if seen == n {
                    return start_of_last_counted;
                }
                seen += 1;
            }
        }
        start_of_last_counted = begin;
        end = begin;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &[u8] = b"2026-01-01T00:00:01.000000001Z stdout F one\n\
2026-01-01T00:00:02Z stderr P tw\n\
2026-01-01T00:00:02.5Z stderr F o\n\
2026-01-01T00:00:03Z stdout F three\n\
garbage line\n\
2026-01-01T00:00:04Z stdout F \n";

    fn render(f: &mut Formatter, content: &[u8]) -> String {
        let mut out = Vec::new();
        f.render(content, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn plain() -> Formatter {
        Formatter {
            timestamps: false,
            since: None,
            budget: None,
        }
    }

    #[test]
    fn lines_parse_and_pieces_join() {
        let e = parse_line(b"2026-01-01T00:00:01Z stdout F hello world").unwrap();
        assert_eq!(
            (e.stream, e.full, e.text),
            ("stdout", true, &b"hello world"[..])
        );
        assert!(!parse_line(b"2026-01-01T00:00:01Z stderr P x").unwrap().full);
        assert!(parse_line(b"2026-01-01T00:00:01Z other F x").is_none());
        assert!(parse_line(b"nonsense").is_none());
        assert_eq!(render(&mut plain(), FILE), "one\ntwo\nthree\n\n");
    }

    #[test]
    fn timestamps_since_and_limits_apply() {
        let mut f = Formatter {
            timestamps: true,
            ..plain()
        };
        assert!(render(&mut f, FILE).starts_with("2026-01-01T00:00:01.000000001Z one\n"));
        let mut f = Formatter {
            since: Some("2026-01-01T00:00:02.6Z".parse().unwrap()),
            ..plain()
        };
        assert_eq!(render(&mut f, FILE), "three\n\n");
        let mut f = Formatter {
            budget: Some(6),
            ..plain()
        };
        let mut out = Vec::new();
        assert!(!f.render(FILE, &mut out));
        assert_eq!(out, b"one\ntw");
    }

    #[test]
    fn tails_count_whole_lines() {
        assert_eq!(
            render(&mut plain(), &FILE[tail_start(FILE, 2)..]),
            "three\n\n"
        );
        assert_eq!(
            render(&mut plain(), &FILE[tail_start(FILE, 3)..]),
            "two\nthree\n\n"
        );
        assert_eq!(
            render(&mut plain(), &FILE[tail_start(FILE, 100)..]),
            "one\ntwo\nthree\n\n"
        );
        assert_eq!(tail_start(FILE, 0), FILE.len());
    }

    #[test]
    fn options_parse_from_the_query() {
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let q = |p: &[(&str, &str)]| {
            LogOptions::parse(
                &p.iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect::<Vec<_>>(),
                now,
            )
        };
        let o = q(&[
            ("follow", "true"),
            ("tailLines", "5"),
            ("sinceSeconds", "60"),
        ])
        .unwrap();
        assert!(o.follow && !o.previous);
        assert_eq!(o.tail_lines, Some(5));
        assert_eq!(o.since, Some("2026-01-01T00:00:00Z".parse().unwrap()));
        assert!(q(&[("tailLines", "x")]).is_err());
        assert!(q(&[("sinceTime", "never")]).is_err());
    }
}

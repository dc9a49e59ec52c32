//! Durations written the way Terraform users write them everywhere (`timeouts`, `time_rotating`): Go's
//! `time.ParseDuration` syntax, e.g. `"15m"`, `"1h30m"`, `"720h"`, `"1.5h"`. Hand-parsed because the common
//! crates (humantime) accept other forms ("2 years") and reject Go's fractions, and users should get the
//! same syntax they use in every other provider.

use std::time::Duration;

use crate::protocol::Validator;

/// Parses a Go duration; negative durations are refused (nothing here counts backwards).
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "\"{text}\" is not a duration: write it like \"720h\", \"90m\" or \"1h30m\" (units h, m, s, ms)"
        )
    };
    let mut rest = text.trim();
    if rest.is_empty() || rest.starts_with('-') {
        return Err(bad());
    }
    rest = rest.strip_prefix('+').unwrap_or(rest);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    if !total.is_finite() || total > 1.0e12 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

pub fn validator() -> Validator {
    Validator::string("a duration like \"720h\"", |s| parse(s).map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse("720h").unwrap(), Duration::from_secs(720 * 3600));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn other_forms_are_refused_with_an_example() {
        for bad in ["", "10", "1y", "-5m", "2 years", "h", "1h-5m"] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("720h"), "{bad}: {err}");
        }
    }
}

//! Argument parsing shared by the command families: integers and floats with Redis's rules and error texts.

use crate::proto::errors;
use crate::text::parse_i64;

/// An integer argument, or Redis's "not an integer or out of range" error.
pub fn int(arg: &[u8]) -> Result<i64, &'static str> {
    parse_i64(arg).ok_or(errors::NOT_INTEGER)
}

/// A non-negative integer fitting usize (counts, indexes), or the integer error.
pub fn uint(arg: &[u8]) -> Result<u64, &'static str> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(errors::NOT_INTEGER),
    }
}

/// A float argument as Redis's strtold-based parsing accepts it: decimal or exponent notation, `inf`, `-inf`,
/// no surrounding spaces, no NaN.
pub fn float(arg: &[u8]) -> Result<f64, &'static str> {
    let s = std::str::from_utf8(arg).map_err(|_| errors::NOT_FLOAT)?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(errors::NOT_FLOAT);
    }
    // Plain numbers (timeouts, increments) take the fast path; only words need the case-insensitive checks.
    if s.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return s.parse::<f64>().map_err(|_| errors::NOT_FLOAT);
    }
    let word = |w: &str| s.eq_ignore_ascii_case(w);
    if word("inf") || word("+inf") || word("infinity") || word("+infinity") {
        return Ok(f64::INFINITY);
    }
    if word("-inf") || word("-infinity") {
        return Ok(f64::NEG_INFINITY);
    }
    let lower = s.to_ascii_lowercase();
    if lower.contains("nan") || lower.contains("inf") {
        return Err(errors::NOT_FLOAT);
    }
    s.parse::<f64>().map_err(|_| errors::NOT_FLOAT)
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        assert_eq!(float(b"1.5"), Ok(1.5));
        assert_eq!(float(b"5.0e3"), Ok(5000.0));
        assert_eq!(float(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(float(b"+Infinity"), Ok(f64::INFINITY));
        assert_eq!(float(b"INF"), Ok(f64::INFINITY));
        assert_eq!(float(b"1e3"), Ok(1000.0));
        assert!(float(b"1e").is_err());
        assert!(float(b"infinite").is_err());
        assert!(float(b"nan").is_err());
        assert!(float(b" 1").is_err());
        assert!(float(b"abc").is_err());
    }
}

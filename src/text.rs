//! Redis's string primitives, once for the whole server: `string2ll` (the strict integer every argument, length
//! header and config value is read with), C's `atoi` (the lenient one a few places keep for compatibility) and
//! `sdssplitargs` (the quoting of inline requests, redis.conf lines and `--name "value"` arguments).
//!
//! They sit below `proto`, `config` and `cmd`, which all use them, so that a request, a config file and a
//! command argument can never disagree about what an integer or a quoted word is.

/// Parses a signed decimal exactly as Redis's `string2ll`: an optional `-`, then digits with no leading zero
/// (`"0"` alone is zero; `"-0"` is refused), nothing else (no `+`, no spaces), and the value must fit an `i64`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 20 || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg { v.checked_mul(10)?.checked_sub(d)? } else { v.checked_mul(10)?.checked_add(d)? };
    }
    Some(v)
}

/// C's `atoi`, where Redis reads a number with it: optional leading whitespace and sign, then as many digits as
/// there are (`"2abc"` is 2, `"abc"` is 0); saturates instead of overflowing.
pub fn atoi(s: &[u8]) -> i64 {
    let mut it = s.iter().copied().skip_while(|&c| is_c_space(c)).peekable();
    let negative = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    for c in it.take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if negative {
        -n
    } else {
        n
    }
}

/// Splits a line into words with Redis's `sdssplitargs` rules, as inline requests, redis-cli, config files and
/// command-line options do: blanks separate words; "double quotes" understand `\n \r \t \b \a \\ \"` and `\xHH`
/// escapes (any other escaped byte stands for itself); 'single quotes' understand only `\'`; a closing quote must
/// be followed by a blank or the end of the line; a quote may open mid-word (`a"b c"` is `ab c`). `None` on
/// unbalanced quotes. The line is read as a C string: it ends at its first NUL byte.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_c_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(hi), Some(lo)) = (hex(line[i + 2]), hex(line[i + 3])) {
                        cur.push(hi * 16 + lo);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_single {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

/// C's `isspace`: unlike `u8::is_ascii_whitespace`, it includes the vertical tab.
pub fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(l: &[u8]) -> Option<Vec<Vec<u8>>> {
        split_args(l)
    }

    fn split_str(l: &str) -> Option<Vec<String>> {
        split_args(l.as_bytes()).map(|v| v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn split_args_follows_sdssplitargs() {
        assert_eq!(split(b"a\x0bb \x0b c"), Some(vec![b"a\x0bb".to_vec(), b"c".to_vec()]));
        assert_eq!(split(b"\"a\\x4g\" 'x\\y'"), Some(vec![b"ax4g".to_vec(), b"x\\y".to_vec()]));
        assert_eq!(split(b"a\0 b"), Some(vec![b"a".to_vec()]));
        assert_eq!(split(b"\"a\0\""), None);
        assert_eq!(split(b"'a'b"), None);
        assert_eq!(split(b"  "), Some(vec![]));
    }

    #[test]
    fn split_args_rules() {
        let s = split_str;
        assert_eq!(s("  a  b\tc "), Some(strs(&["a", "b", "c"])));
        assert_eq!(s("a\"b c\"d"), None);
        assert_eq!(s("a\"b c\""), Some(strs(&["ab c"])));
        assert_eq!(s("\"\\x41\\x4g\\t\\\"\""), Some(strs(&["Ax4g\t\""]))); // verified with redis-server
        assert_eq!(s("'a\\'b' '\\n'"), Some(strs(&["a'b", "\\n"])));
        assert_eq!(s("\"\" ''"), Some(strs(&["", ""])));
        assert_eq!(s("'abc"), None);
        assert_eq!(s("\"abc\\"), None);
        assert_eq!(s(""), Some(vec![]));
    }

    #[test]
    fn hex_escapes_at_the_end_of_a_line() {
        assert_eq!(split_str("\"\\x41\""), Some(strs(&["A"])));
        assert_eq!(split_str("\"\\x4\""), Some(strs(&["x4"])));
        assert_eq!(split_str("\"\\x41"), None);
        assert_eq!(split_str("\"\\x"), None);
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b"9223372036854775808"[..], b"", b"-", b"01", b"-0", b"+1", b" 1", b"1a"] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-2"), Some(-2));
        assert_eq!(parse_i64(b"42"), Some(42));
        for bad in ["", "-", "-0", "007", "+5", " 5", "5 ", "1e3", "9223372036854775808"] {
            assert_eq!(parse_i64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn atoi_reads_a_prefix() {
        assert_eq!(atoi(b"2abc"), 2);
        assert_eq!(atoi(b" \t-7"), -7);
        assert_eq!(atoi(b"+3"), 3);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"99999999999999999999"), i64::MAX);
    }
}

//! Request decoding: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline commands (`PING\r\n`, as
//! typed into telnet), with Redis's limits and error texts.
//!
//! The decoder is incremental: a half-received request keeps the arguments already complete, so a request that
//! arrives one byte at a time costs linear work, and a huge declared length reserves nothing until its bytes arrive.
//! Arguments are `Bytes` split off the read buffer: no copy between the socket and the command.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request, or header line of a multibulk request, Redis accepts without a newline (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;
/// Above this many elements an unauthenticated client may not send (Redis: 10). Later, authenticated: i32 range.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Largest bulk an unauthenticated client may send (Redis: 16 KiB).
const UNAUTH_MAX_BULK: i64 = 16 * 1024;
/// Never reserve more than this many argument slots before the arguments arrive.
const MAX_PREALLOC_ARGS: usize = 1024;

/// What the decoder enforces; the connection fills it from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub proto_max_bulk_len: u64,
    /// True while the server has a password and the client has not authenticated.
    pub unauthenticated: bool,
}

/// A protocol violation: the text goes to the client as `-ERR Protocol error: <text>`, then the connection closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

/// Decoder state carried between reads.
#[derive(Default, Debug)]
pub struct Decoder {
    /// Arguments still expected for the multibulk request in progress (0 = none in progress).
    remaining: usize,
    /// Length of the bulk whose `$<len>` line has been consumed but whose payload has not fully arrived.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
    /// Total length of `args`, kept as they arrive.
    args_bytes: usize,
}

impl Decoder {
    /// Decodes the next complete request from `buf`, consuming its bytes. `Ok(None)` means more bytes are needed.
    /// Empty requests (blank inline lines, `*0`, `*-1`) are skipped, as Redis does.
    pub fn decode(&mut self, buf: &mut BytesMut, limits: Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.remaining == 0 {
                if buf.is_empty() {
                    return Ok(None);
                }
                if buf[0] != b'*' {
                    match decode_inline(buf)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    }
                }
                let Some(line) = take_line(buf, "too big mbulk count string")? else {
                    return Ok(None);
                };
                let count = parse_i64(&line[1..]).ok_or_else(|| err("invalid multibulk length"))?;
                if count > i32::MAX as i64 {
                    return Err(err("invalid multibulk length"));
                }
                if count > UNAUTH_MAX_MULTIBULK && limits.unauthenticated {
                    return Err(err("unauthenticated multibulk length"));
                }
                if count <= 0 {
                    continue;
                }
                self.remaining = count as usize;
                self.args = Vec::with_capacity(self.remaining.min(MAX_PREALLOC_ARGS));
            }
            while self.remaining > 0 {
                let len = match self.bulk_len {
                    Some(len) => len,
                    None => {
                        if buf.is_empty() {
                            return Ok(None);
                        }
                        if buf[0] != b'$' {
                            return Err(ProtocolError(format!("expected '$', got '{}'", buf[0] as char)));
                        }
                        let Some(line) = take_line(buf, "too big bulk count string")? else {
                            return Ok(None);
                        };
                        let len = parse_i64(&line[1..]).ok_or_else(|| err("invalid bulk length"))?;
                        if len < 0 || len as u64 > limits.proto_max_bulk_len {
                            return Err(err("invalid bulk length"));
                        }
                        if len > UNAUTH_MAX_BULK && limits.unauthenticated {
                            return Err(err("unauthenticated bulk length"));
                        }
                        self.bulk_len = Some(len as usize);
                        len as usize
                    }
                };
                if buf.len() < len + 2 {
                    // Let the buffer grow towards the payload, but never reserve a hostile declared length up front.
                    buf.reserve((len + 2 - buf.len()).min(1 << 20));
                    return Ok(None);
                }
                let arg = buf.split_to(len).freeze();
                buf.advance(2); // Redis does not check the CRLF after a bulk either.
                self.args_bytes += arg.len();
                self.args.push(arg);
                self.bulk_len = None;
                self.remaining -= 1;
            }
            self.args_bytes = 0;
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    /// Bytes held by the arguments of a partly received request (they count towards the query buffer limit).
    pub fn buffered(&self) -> usize {
        self.args_bytes
    }
}

fn err(text: &str) -> ProtocolError {
    ProtocolError(text.to_string())
}

/// Takes one `\r\n`-terminated line (without the terminator); `None` if it has not fully arrived.
fn take_line(buf: &mut BytesMut, too_big: &str) -> Result<Option<BytesMut>, ProtocolError> {
    match memchr(b'\r', buf) {
        Some(pos) if pos + 1 < buf.len() => {
            let line = buf.split_to(pos);
            buf.advance(2);
            Ok(Some(line))
        }
        Some(pos) if pos + 1 == buf.len() => Ok(None),
        _ if buf.len() > INLINE_MAX => Err(err(too_big)),
        _ => Ok(None),
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Parses a signed decimal exactly as Redis's string2ll: no spaces, no '+', no leading zeros, fits i64.
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

/// One inline request: a line split into words with Redis's quoting rules.
fn decode_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX {
            return Err(err("too big inline request"));
        }
        return Ok(None);
    };
    let mut line = buf.split_to(nl + 1);
    line.truncate(nl);
    if line.last() == Some(&b'\r') {
        line.truncate(nl - 1);
    }
    split_args(&line).map(Some).ok_or_else(|| err("unbalanced quotes in request"))
}

/// Splits a line into arguments the way redis-cli and inline requests do: spaces separate words, "double quotes"
/// understand \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' only \'. A closing quote must be followed by a
/// space or the end of the line. `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
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
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex(line[i + 2]).is_some()
                    && hex(line[i + 3]).is_some()
                {
                    cur.push(hex(line[i + 2]).unwrap() * 16 + hex(line[i + 3]).unwrap());
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
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
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
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
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
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
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        args.push(Bytes::from(cur));
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { proto_max_bulk_len: 512 * 1024 * 1024, unauthenticated: false };

    fn decode_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(req) = d.decode(&mut buf, LIMITS)? {
            out.push(req);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let reqs = decode_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n\r\nECHO \"a b\\x41\" 'c\\'d'\n").unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0], vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(reqs[1], vec![Bytes::from("PING")]);
        assert_eq!(reqs[2], vec![Bytes::from("ECHO"), Bytes::from("a bA"), Bytes::from("c'd")]);
    }

    #[test]
    fn one_byte_at_a_time() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n";
        let mut d = Decoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(req) = d.decode(&mut buf, LIMITS).unwrap() {
                out.push(req);
            }
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0][2], Bytes::from("hello"));
    }

    #[test]
    fn errors() {
        assert_eq!(decode_all(b"*x\r\n").unwrap_err().0, "invalid multibulk length");
        assert_eq!(decode_all(b"*3000000000\r\n").unwrap_err().0, "invalid multibulk length");
        assert_eq!(decode_all(b"*1\r\n+x\r\n").unwrap_err().0, "expected '$', got '+'");
        assert_eq!(decode_all(b"*1\r\n$-1\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(decode_all(b"*1\r\n$600000000\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(decode_all(b"ECHO \"abc\n").unwrap_err().0, "unbalanced quotes in request");
        assert_eq!(decode_all(&vec![b'a'; INLINE_MAX + 1]).unwrap_err().0, "too big inline request");
        let mut long = b"*".to_vec();
        long.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(decode_all(&long).unwrap_err().0, "too big mbulk count string");
        let unauth = Limits { unauthenticated: true, ..LIMITS };
        let mut d = Decoder::default();
        assert_eq!(
            d.decode(&mut BytesMut::from(&b"*11\r\n"[..]), unauth).unwrap_err().0,
            "unauthenticated multibulk length"
        );
    }

    #[test]
    fn huge_declared_length_reserves_little() {
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(&b"*1\r\n$536870912\r\nabc"[..]);
        assert!(d.decode(&mut buf, LIMITS).unwrap().is_none());
        assert!(buf.capacity() < 4 << 20);
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
}

//! Request decoding: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline commands (`PING\r\n`, as
//! typed into telnet), with Redis's limits and error texts.
//!
//! The decoder is incremental: a half-received request keeps the arguments already complete, so a request that
//! arrives one byte at a time costs linear work, and a huge declared length reserves nothing until its bytes arrive.
//! Arguments are `Bytes` split off the read buffer: no copy between the socket and the command.

use crate::text::{is_c_space, parse_i64, split_args};
use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request, or header line of a multibulk request, Redis accepts without a newline (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;
/// Above this many elements an unauthenticated client may not send (Redis 7.4: 10). Later, authenticated: i32 range.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Largest bulk an unauthenticated client may send (Redis 7.4: 16 KiB).
const UNAUTH_MAX_BULK: i64 = 16 * 1024;
/// Query buffer ceiling for unauthenticated clients, whatever client-query-buffer-limit says (Redis 7.4: 1 MiB).
pub const UNAUTH_MAX_QUERY_BUFFER: u64 = 1024 * 1024;
/// Most requests decoded before they run (the connection then runs them and decodes on). It bounds what a
/// connection keeps for its pipelines, which grows with a pass and is reused by the next: the argument vectors
/// (with every request of a pass recycled, the hot path allocates no vector per command), the calls batched per
/// shard, the reply order. So an idle connection keeps little after a deep pipeline (7 KiB after 256 requests in one
/// write; Redis 7.0 keeps 18) with no reallocation per read, which was measured to strew holes among the list
/// nodes a pipe load builds. Passes of 32 cost nothing measurable against 256 at `-P 256`.
pub const PASS_REQUESTS: usize = 32;

/// The connection keeps at least this much room free before each read, so the decoder grows the buffer only for
/// bigger bulks. (Growing it for every request cut off by a read would copy the buffer while the requests decoded
/// before it still share it, and so allocate a new one per read.)
pub const SMALL_BULK: usize = 4096;

/// Arguments of a request in progress are copied out of the read buffer (`Decoder::unpin`) up to this many bytes.
const UNPIN_MAX_BYTES: usize = 4096;

/// Never reserve more than this many argument slots before the arguments arrive.
const MAX_PREALLOC_ARGS: usize = 1024;

/// What the decoder enforces; the connection fills it from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub proto_max_bulk_len: u64,
    /// client-query-buffer-limit (or [`UNAUTH_MAX_QUERY_BUFFER`] before AUTH): a bulk argument larger than this
    /// closes the connection, as its bytes would all sit in Redis's query buffer at once.
    pub query_buffer_limit: u64,
    /// True while the server has a password and the client has not authenticated.
    pub unauthenticated: bool,
}

/// Why a request cannot be decoded. Every variant but [`ProtocolError::QueryBufferLimit`] is answered with
/// `-ERR Protocol error: <condition>` before the connection closes; that one closes it silently, as Redis does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInline,
    TooBigMultibulkCount,
    TooBigBulkCount,
    UnbalancedQuotes,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    InvalidBulkLength,
    UnauthenticatedBulkLength,
    /// The byte found where a `$` should start the next bulk; sent back raw, as Redis's `%c` does.
    ExpectedDollar(u8),
    QueryBufferLimit,
}

impl ProtocolError {
    /// The error reply, without its `-` and CRLF; `None` when the connection closes without a reply.
    pub fn reply_text(self) -> Option<Vec<u8>> {
        let condition: &str = match self {
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length",
            ProtocolError::ExpectedDollar(got) => {
                let mut text = b"ERR Protocol error: expected '$', got '".to_vec();
                text.extend_from_slice(&[got, b'\'']);
                return Some(text);
            }
            ProtocolError::QueryBufferLimit => return None,
        };
        Some(format!("ERR Protocol error: {condition}").into_bytes())
    }
}

/// Decoder state carried between reads.
#[derive(Default, Debug)]
pub struct Decoder {
    /// Arguments still expected for the multibulk request in progress (0 = none in progress).
    remaining: usize,
    /// Length of the bulk whose `$<len>` line has been consumed but whose payload has not fully arrived.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
    /// Total length of `args`, kept as they arrive (Redis's argv-mem; not part of the query buffer).
    args_bytes: usize,
    /// Emptied argument vectors handed back after their commands ran, reused for the next requests.
    spare: Vec<Vec<Bytes>>,
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
                let Some(end) = header_line(buf, ProtocolError::TooBigMultibulkCount)? else {
                    return Ok(None);
                };
                let count = parse_i64(&buf[1..end]).ok_or(ProtocolError::InvalidMultibulkLength)?;
                if count > i32::MAX as i64 {
                    return Err(ProtocolError::InvalidMultibulkLength);
                }
                if count > UNAUTH_MAX_MULTIBULK && limits.unauthenticated {
                    return Err(ProtocolError::UnauthenticatedMultibulkLength);
                }
                buf.advance(end + 2);
                if count <= 0 {
                    continue;
                }
                self.remaining = count as usize;
                let want = self.remaining.min(MAX_PREALLOC_ARGS);
                self.args = match self.spare.pop() {
                    Some(mut v) => {
                        v.reserve(want);
                        v
                    }
                    None => Vec::with_capacity(want),
                };
            }
            while self.remaining > 0 {
                let len = match self.bulk_len {
                    Some(len) => len,
                    None => {
                        let Some(end) = header_line(buf, ProtocolError::TooBigBulkCount)? else {
                            return Ok(None);
                        };
                        if buf[0] != b'$' {
                            return Err(ProtocolError::ExpectedDollar(buf[0]));
                        }
                        let len = parse_i64(&buf[1..end]).ok_or(ProtocolError::InvalidBulkLength)?;
                        if len < 0 || len as u64 > limits.proto_max_bulk_len {
                            return Err(ProtocolError::InvalidBulkLength);
                        }
                        if len > UNAUTH_MAX_BULK && limits.unauthenticated {
                            return Err(ProtocolError::UnauthenticatedBulkLength);
                        }
                        buf.advance(end + 2);
                        self.bulk_len = Some(len as usize);
                        len as usize
                    }
                };
                // Redis reads a big bulk into its query buffer whole, and closes the client once that buffer
                // passes the limit, even if the bulk then completes.
                if buf.len().min(len + 2) as u64 > limits.query_buffer_limit {
                    return Err(ProtocolError::QueryBufferLimit);
                }
                if buf.len() < len + 2 {
                    if len + 2 > SMALL_BULK {
                        // Let the buffer grow towards the payload, but never reserve a hostile declared length up
                        // front.
                        self.unpin();
                        buf.reserve((len + 2 - buf.len()).min(1 << 20));
                    }
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

    /// Copies the arguments already split off a request still arriving out of the read buffer, when they are
    /// small. A streaming client's reads nearly always end mid-request, and those few bytes would otherwise pin
    /// the whole buffer, so that every read would need a fresh one; replacing read buffers among long-lived
    /// allocations was measured to leave holes worth ~1.5 bytes per stored 32-byte list element.
    pub fn unpin(&mut self) {
        if self.args_bytes <= UNPIN_MAX_BYTES {
            for arg in &mut self.args {
                *arg = Bytes::copy_from_slice(arg);
            }
        }
    }

    /// Takes back an emptied argument vector for reuse (bounded, so a burst does not pin memory).
    pub fn recycle(&mut self, args: Vec<Bytes>) {
        if self.spare.len() < PASS_REQUESTS && args.is_empty() {
            self.spare.push(args);
        }
    }

    /// Exchanges the emptied argument vectors kept for reuse with `spare`: they travel with the read buffer a
    /// connection borrows, so that an idle connection keeps none (see conn.rs).
    pub fn swap_spare(&mut self, spare: &mut Vec<Vec<Bytes>>) {
        std::mem::swap(&mut self.spare, spare);
    }

    /// Bytes held by the arguments of a partly received request (Redis's argv-mem).
    pub fn buffered(&self) -> usize {
        self.args_bytes
    }
}

/// Copies arguments split off a read buffer into one allocation of their own. For requests kept after the read
/// that brought them (a blocked command and the requests behind it): a connection holds a read buffer only while
/// it reads and runs requests (see conn.rs), and these would pin it for as long as they wait.
pub fn detach(args: &mut [Bytes]) {
    let mut all = BytesMut::with_capacity(args.iter().map(|a| a.len()).sum());
    for a in args.iter() {
        all.extend_from_slice(a);
    }
    let mut all = all.freeze();
    for a in args.iter_mut() {
        *a = all.split_to(a.len());
    }
}

/// Where Redis's `strchr(querybuf, needle)` finds `needle`: Redis reads its query buffer as a C string there, so a
/// NUL byte before the needle hides it (the request then waits for more bytes, up to the 64 KiB line limit).
fn c_strchr(buf: &[u8], needle: u8) -> Option<usize> {
    let at = buf.iter().position(|&b| b == needle || b == 0)?;
    (buf[at] == needle).then_some(at)
}

/// Finds the end of a `*<n>` or `$<n>` line: its `\r`, which must be followed by one more byte (Redis skips that
/// byte without checking it is `\n`). `None` until the line is complete.
fn header_line(buf: &[u8], too_big: ProtocolError) -> Result<Option<usize>, ProtocolError> {
    match c_strchr(buf, b'\r') {
        Some(end) if end + 2 <= buf.len() => Ok(Some(end)),
        Some(_) => Ok(None),
        None if buf.len() > INLINE_MAX => Err(too_big),
        None => Ok(None),
    }
}

/// One inline request: a line split into words with Redis's quoting rules.
fn decode_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = c_strchr(buf, b'\n') else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1).freeze();
    let end = if nl > 0 && line[nl - 1] == b'\r' { nl - 1 } else { nl };
    let text = &line[..end];
    if text.iter().any(|&c| matches!(c, b'"' | b'\'' | 0)) {
        let args = split_args(text).ok_or(ProtocolError::UnbalancedQuotes)?;
        return Ok(Some(args.into_iter().map(Bytes::from).collect()));
    }
    // Plain words (what redis-benchmark and most typed commands send): the arguments are slices of the line, as
    // multibulk arguments are slices of the buffer, split exactly where `split_args` would split them.
    let mut args = Vec::new();
    let mut i = 0;
    while i < end {
        while i < end && is_c_space(line[i]) {
            i += 1;
        }
        let start = i;
        // A word ends where `split_args` ends one: at a space, tab, CR or LF (not at a vertical tab or form feed,
        // which only leading blanks skip).
        while i < end && !matches!(line[i], b' ' | b'\n' | b'\r' | b'\t') {
            i += 1;
        }
        if start < i {
            args.push(line.slice(start..i));
        }
    }
    Ok(Some(args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolError::*;

    const LIMITS: Limits =
        Limits { proto_max_bulk_len: 512 * 1024 * 1024, query_buffer_limit: 1 << 30, unauthenticated: false };

    #[test]
    fn plain_inline_words_split_as_split_args_does() {
        // Lines of plain words take a zero-copy path; it must split exactly where `split_args` does.
        let alphabet = [b'a', b'b', b' ', b' ', b'\t', b'\r', 0x0b, 0x0c, b'\\'];
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let len = (rng % 12) as usize;
            let line: Vec<u8> = (0..len).map(|i| alphabet[((rng >> (4 * i + 8)) % 9) as usize]).collect();
            let mut buf = BytesMut::from(&line[..]);
            buf.extend_from_slice(b"\n");
            let got = decode_inline(&mut buf).expect("no quotes").expect("a whole line");
            let end = if line.last() == Some(&b'\r') { len - 1 } else { len };
            assert_eq!(got, split_args(&line[..end]).unwrap(), "{line:?}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn unpinned_buffer_is_reused_in_place() {
        // A read that ends inside a request: the decoded arguments of that request must not keep the buffer
        // shared, or the next reserve would allocate a new buffer instead of sliding the leftover to the front.
        let mut d = Decoder::default();
        let mut buf = BytesMut::with_capacity(256);
        buf.extend_from_slice(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$3\r\nab");
        let base = buf.as_ptr();
        assert_eq!(d.decode(&mut buf, LIMITS), Ok(None));
        d.unpin();
        buf.reserve(256 - buf.len());
        assert_eq!(buf.as_ptr(), base, "buffer was replaced");
        buf.extend_from_slice(b"c\r\n");
        let req = d.decode(&mut buf, LIMITS).unwrap().unwrap();
        assert_eq!(req, vec![Bytes::from("RPUSH"), Bytes::from("k"), Bytes::from("abc")]);
    }

    fn decode_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        decode_with(input, LIMITS)
    }

    fn decode_with(input: &[u8], limits: Limits) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(req) = d.decode(&mut buf, limits)? {
            out.push(req);
        }
        Ok(out)
    }

    fn words(reqs: &[Vec<Bytes>]) -> Vec<Vec<&[u8]>> {
        reqs.iter().map(|r| r.iter().map(|a| &a[..]).collect()).collect()
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
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\nECHO x\r\n";
        let mut d = Decoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(req) = d.decode(&mut buf, LIMITS).unwrap() {
                out.push(req);
            }
        }
        assert_eq!(words(&out), vec![vec![&b"SET"[..], b"k", b"hello"], vec![b"PING"], vec![b"ECHO", b"x"]]);
    }

    #[test]
    fn errors() {
        assert_eq!(decode_all(b"*x\r\n").unwrap_err(), InvalidMultibulkLength);
        assert_eq!(decode_all(b"*3000000000\r\n").unwrap_err(), InvalidMultibulkLength);
        assert_eq!(decode_all(b"*1\r\n+x\r\n").unwrap_err(), ExpectedDollar(b'+'));
        assert_eq!(decode_all(b"*1\r\n\r\n").unwrap_err(), ExpectedDollar(b'\r'));
        assert_eq!(decode_all(b"*1\r\n$-1\r\n").unwrap_err(), InvalidBulkLength);
        assert_eq!(decode_all(b"*1\r\n$600000000\r\n").unwrap_err(), InvalidBulkLength);
        assert_eq!(decode_all(b"ECHO \"abc\n").unwrap_err(), UnbalancedQuotes);
        assert_eq!(decode_all(b"ECHO \"a\"b\n").unwrap_err(), UnbalancedQuotes);
        assert_eq!(decode_all(&vec![b'a'; INLINE_MAX + 1]).unwrap_err(), TooBigInline);
        let mut long = b"*".to_vec();
        long.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(decode_all(&long).unwrap_err(), TooBigMultibulkCount);
        let mut long = b"*1\r\n$".to_vec();
        long.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(decode_all(&long).unwrap_err(), TooBigBulkCount);
        let unauth = Limits { unauthenticated: true, ..LIMITS };
        assert_eq!(decode_with(b"*10\r\n", unauth).unwrap(), Vec::<Vec<Bytes>>::new());
        assert_eq!(decode_with(b"*11\r\n", unauth).unwrap_err(), UnauthenticatedMultibulkLength);
        assert_eq!(decode_with(b"*1\r\n$16384\r\n", unauth).unwrap(), Vec::<Vec<Bytes>>::new());
        assert_eq!(decode_with(b"*1\r\n$16385\r\n", unauth).unwrap_err(), UnauthenticatedBulkLength);
        assert_eq!(ExpectedDollar(0x80).reply_text().unwrap(), b"ERR Protocol error: expected '$', got '\x80'");
        assert_eq!(QueryBufferLimit.reply_text(), None);
    }

    #[test]
    fn waits_for_a_whole_line_before_judging_it() {
        // Redis looks at a bulk header only once its line is complete.
        assert!(decode_all(b"*1\r\nx").unwrap().is_empty());
        assert!(decode_all(b"*1\r\n$3\r").unwrap().is_empty());
    }

    #[test]
    fn nul_hides_the_end_of_line_as_in_redis() {
        // Redis finds line ends with strchr, which stops at a NUL byte: such a request waits for more bytes.
        for input in [&b"PING\0\r\n"[..], b"*1\0\r\n$4\r\nPING\r\n", b"*1\r\n$4\0\r\nPING\r\n", b"*1\r\n\0\r\n"] {
            assert!(decode_all(input).unwrap().is_empty(), "{input:?}");
        }
        let mut nul_line = b"PING\0".to_vec();
        nul_line.extend(vec![b'\n'; INLINE_MAX]);
        assert_eq!(decode_all(&nul_line).unwrap_err(), TooBigInline);
        // Inside a bulk, NUL is data.
        assert_eq!(words(&decode_all(b"*1\r\n$3\r\na\0b\r\n").unwrap()), vec![vec![&b"a\0b"[..]]]);
    }

    #[test]
    fn query_buffer_limit_counts_the_bulk_in_progress() {
        let tight = Limits { query_buffer_limit: 1024, ..LIMITS };
        let mut big = b"*1\r\n$1023\r\n".to_vec();
        big.extend(vec![b'x'; 1023]);
        big.extend_from_slice(b"\r\n");
        assert_eq!(decode_with(&big, tight).unwrap_err(), QueryBufferLimit);
        assert_eq!(decode_with(&big[..1000], tight).unwrap(), Vec::<Vec<Bytes>>::new());
        let mut fits = b"*1\r\n$1022\r\n".to_vec();
        fits.extend(vec![b'x'; 1022]);
        fits.extend_from_slice(b"\r\n");
        assert_eq!(decode_with(&fits, tight).unwrap().len(), 1);
    }

    #[test]
    fn huge_declared_length_reserves_little() {
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(&b"*1\r\n$536870912\r\nabc"[..]);
        assert!(d.decode(&mut buf, LIMITS).unwrap().is_none());
        assert!(buf.capacity() < 4 << 20);
    }
}

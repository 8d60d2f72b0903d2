//! Redis-style glob matching (`KEYS`, `SCAN MATCH`, `PSUBSCRIBE`, `CONFIG GET`).
//!
//! Clients send patterns that were written against real Redis, so the
//! accepted syntax has to be exactly Redis's `stringmatchlen`, corner cases
//! included: a `[` with no closing `]` ends the class at the end of the
//! pattern, a trailing `\` is a literal backslash, ranges may be reversed
//! (`[z-a]`), a range's end may swallow the `]` (`[a-]` is the range `]`..`a`
//! and the class runs on), an escaped byte inside a class is compared
//! case-sensitively even in `nocase` mode, and an empty string never matches
//! a non-empty pattern (not even `*`).
//!
//! The algorithm is our own: a single left-to-right scan that remembers only
//! the most recent `*` and, on a mismatch, lets that star swallow one more
//! byte. Every token other than `*` consumes exactly one byte, so earlier
//! stars never need revisiting and the worst case is O(pattern x string)
//! instead of the exponential blow-up of naive recursion on patterns like
//! `*a*a*a*a*a*b`. Redis bounds its recursion at 1000 nested stars; we
//! reproduce that observable limit (see [`MAX_STAR_GROUPS`]) so that the same
//! pattern answers the same way on both servers.

/// Redis gives up (answers "no match") once a match has to pass more than this
/// many `*` groups that are followed by more pattern: its recursive matcher
/// refuses to nest deeper. We are iterative and would not need the limit, but
/// matching differently from Redis on such patterns would be a compatibility
/// bug, so it is reproduced. A trailing star group does not count against it.
pub const MAX_STAR_GROUPS: usize = 1000;

/// Returns whether `string` matches the glob `pattern`, with Redis's
/// `stringmatchlen` semantics.
///
/// * `*` any run of bytes (including none), `?` any one byte;
/// * `[abc]`, `[^abc]`, `[a-z]` (ends may come in either order), `[\]]`;
/// * `\x` the byte `x` literally, inside or outside a class;
/// * `nocase` folds ASCII letters only, like the C locale's `tolower`.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    // Redis's matcher loops only while both inputs are non-empty, so an empty
    // string matches only the empty pattern; `*` does not match "".
    if string.is_empty() {
        return pattern.is_empty();
    }
    let (plen, slen) = (pattern.len(), string.len());
    let (mut p, mut s) = (0usize, 0usize);
    // Position in the pattern just after the latest star group, and the
    // string position that star should next be tried from.
    let mut resume: Option<(usize, usize)> = None;
    let mut star_groups = 0usize;

    while s < slen {
        if p < plen && pattern[p] == b'*' {
            while p < plen && pattern[p] == b'*' {
                p += 1;
            }
            if p == plen {
                // A trailing star swallows the rest of the string.
                return true;
            }
            star_groups += 1;
            if star_groups > MAX_STAR_GROUPS {
                return false;
            }
            resume = Some((p, s));
            continue;
        }
        if p < plen {
            let (ok, next) = match_one(pattern, p, string[s], nocase);
            if ok {
                p = next;
                s += 1;
                continue;
            }
        }
        // Mismatch, or pattern exhausted with string left over: let the last
        // star absorb one more byte and retry the rest of the pattern.
        match resume {
            Some((after_star, from)) => {
                p = after_star;
                s = from + 1;
                resume = Some((after_star, s));
            }
            None => return false,
        }
    }
    // String consumed: only stars may remain in the pattern.
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Matches one non-star token starting at `pattern[p]` against the byte `c`.
/// Returns whether it matched and where the next token starts.
fn match_one(pattern: &[u8], p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let plen = pattern.len();
    match pattern[p] {
        b'?' => (true, p + 1),
        b'[' => match_class(pattern, p + 1, c, nocase),
        // An escape needs a byte after it; a lone trailing `\` is literal.
        b'\\' if p + 1 < plen => (eq(pattern[p + 1], c, nocase), p + 2),
        b => (eq(b, c, nocase), p + 1),
    }
}

/// Matches a bracket class whose body starts at `pattern[q]` (just after the
/// `[`). The class ends after the first unescaped `]`, or at the end of the
/// pattern when there is none.
fn match_class(pattern: &[u8], mut q: usize, c: u8, nocase: bool) -> (bool, usize) {
    let plen = pattern.len();
    let negate = q < plen && pattern[q] == b'^';
    if negate {
        q += 1;
    }
    let mut hit = false;
    loop {
        if q >= plen {
            // Unterminated class: what was collected so far is the class.
            break;
        }
        let b = pattern[q];
        if b == b'\\' && q + 1 < plen {
            // Escaped byte: compared exactly, even in nocase mode (as Redis).
            hit |= pattern[q + 1] == c;
            q += 2;
        } else if b == b']' {
            q += 1;
            break;
        } else if q + 2 < plen && pattern[q + 1] == b'-' {
            // Range. The end byte is taken as-is, even `]` or `\`. Redis
            // orders the ends before folding case, so with nocase a range
            // like `[m-N]` folds to the empty range `n`..`m`; we do the same.
            let (mut lo, mut hi) = (b, pattern[q + 2]);
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            let mut x = c;
            if nocase {
                lo = lo.to_ascii_lowercase();
                hi = hi.to_ascii_lowercase();
                x = x.to_ascii_lowercase();
            }
            hit |= lo <= x && x <= hi;
            q += 3;
        } else {
            hit |= eq(b, c, nocase);
            q += 1;
        }
    }
    (hit != negate, q)
}

#[inline]
fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn basics() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("user:*:name", "user:1000:name"));
        assert!(!m("user:*:name", "user:1000:age"));
        assert!(m("a*", "a"));
        assert!(m("*a", "bbba"));
        assert!(!m("*a", "bbbab"));
    }

    #[test]
    fn empty_string_matches_only_empty_pattern() {
        // Verified: `KEYS **` on redis-server does not return the key "".
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
        assert!(m("", ""));
    }

    #[test]
    fn escapes_and_odd_brackets() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\", "a\\")); // trailing backslash is literal
        assert!(m("[abc", "b")); // unterminated class
        assert!(!m("[abc", "bc"));
        assert!(!m("a[", "a"));
        assert!(!m("a[", "a["));
        assert!(m("[^", "x"));
        assert!(m("[c-a]", "b")); // reversed range
        assert!(m("[a-]", "^")); // range `]`..`a`
        assert!(m("[\\]]", "]"));
        assert!(!m("[]]", "]"));
        assert!(!m("[]]", "]]"));
    }

    #[test]
    fn nocase() {
        assert!(mi("HELLO", "hello"));
        assert!(mi("h[A-Z]llo", "hello"));
        assert!(mi("MaxMemory-Polic?", "maxmemory-policy"));
        // Verified with CONFIG GET (which matches with nocase) on redis-server:
        assert!(mi("[M-n]axmemory", "maxmemory"));
        assert!(!mi("[m-N]axmemory", "maxmemory"));
        assert!(!mi("[N-m]axmemory", "maxmemory"));
        assert!(mi("[M]axmemory", "maxmemory"));
        assert!(!mi("[\\M]axmemory", "maxmemory")); // escaped: exact compare
        assert!(mi("maxmemory-[P]olicy", "maxmemory-policy"));
        assert!(mi("\\Maxmemory-polic*", "maxmemory-policy")); // escaped outside a class folds
        assert!(!mi("[\\M]axmemory-polic*", "maxmemory-policy"));
        // Only ASCII folds.
        assert!(!mi("\u{e9}", "\u{c9}"));
        assert!(!m("HELLO", "hello"));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let s = vec![b'a'; 100_000];
        let p = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let t = std::time::Instant::now();
        assert!(!glob_match(p, &s, false));
        let mut s2 = s.clone();
        s2.push(b'b');
        assert!(glob_match(p, &s2, false));
        let p3: Vec<u8> = b"*?".repeat(500).into_iter().chain(*b"b").collect();
        assert!(!glob_match(&p3, &s[..5000], false));
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn star_group_limit_matches_redis() {
        // Verified with KEYS against redis-server 7.0.15 and the key
        // "a" x 1100 + "b": 999 and 1000 "*a" groups + "*b" -> 999 matches,
        // 1000 does not; with a trailing "*" instead, 1000 groups still match
        // but 1001 do not.
        let key: Vec<u8> = [b'a'; 1100].into_iter().chain([b'b']).collect();
        let with_b = |n: usize| -> Vec<u8> { b"*a".repeat(n).into_iter().chain(*b"*b").collect() };
        let trailing = |n: usize| -> Vec<u8> { b"*a".repeat(n).into_iter().chain(*b"*").collect() };
        assert!(glob_match(&with_b(999), &key, false));
        assert!(!glob_match(&with_b(1000), &key, false));
        assert!(glob_match(&trailing(999), &key, false));
        assert!(glob_match(&trailing(1000), &key, false));
        assert!(!glob_match(&trailing(1001), &key, false));
        assert!(!glob_match(&trailing(1002), &key, false));
    }

    #[test]
    fn agrees_with_redis_keys() {
        for (pattern, expected) in REDIS_KEYS_RESULTS {
            let got: Vec<&[u8]> = KEYS_UNDER_TEST.iter().copied().filter(|k| glob_match(pattern, k, false)).collect();
            assert_eq!(&got, expected, "pattern {:?}", String::from_utf8_lossy(pattern));
        }
    }

    // Generated by running `KEYS pattern` for each pattern below against a
    // redis-server 7.0.15 holding exactly these keys (keys listed in this
    // order; `KEYS *` itself is special-cased by Redis, so `**` stands in).
    const KEYS_UNDER_TEST: &[&[u8]] = &[
        b"",
        b"a",
        b"b",
        b"c",
        b"d",
        b"ab",
        b"abc",
        b"aXc",
        b"axc",
        b"a-c",
        b"a]c",
        b"a\\c",
        b"a^c",
        b"A",
        b"ABC",
        b"[",
        b"]",
        b"*",
        b"?",
        b"\\",
        b"a*c",
        b"a?c",
        b"hello",
        b"hallo",
        b"hxllo",
        b"hllo",
        b"heeeello",
        b"-",
        b"^",
        b"x",
        b"ba",
        b"Z",
        b"z",
        b"m",
        b"a[c",
        b"abcabc",
        b"aaa",
        b"aab",
        b"\xff",
        b"\x80a",
        b"ac",
        b"bc",
        b"[a",
        b"a\\",
        b"abc\\",
    ];
    /// (pattern, keys matched by `KEYS pattern` on redis-server 7.0.15)
    const REDIS_KEYS_RESULTS: &[(&[u8], &[&[u8]])] = &[
        (
            b"**",
            &[
                b"a",
                b"b",
                b"c",
                b"d",
                b"ab",
                b"abc",
                b"aXc",
                b"axc",
                b"a-c",
                b"a]c",
                b"a\\c",
                b"a^c",
                b"A",
                b"ABC",
                b"[",
                b"]",
                b"*",
                b"?",
                b"\\",
                b"a*c",
                b"a?c",
                b"hello",
                b"hallo",
                b"hxllo",
                b"hllo",
                b"heeeello",
                b"-",
                b"^",
                b"x",
                b"ba",
                b"Z",
                b"z",
                b"m",
                b"a[c",
                b"abcabc",
                b"aaa",
                b"aab",
                b"\xff",
                b"\x80a",
                b"ac",
                b"bc",
                b"[a",
                b"a\\",
                b"abc\\",
            ],
        ),
        (
            b"*?",
            &[
                b"a",
                b"b",
                b"c",
                b"d",
                b"ab",
                b"abc",
                b"aXc",
                b"axc",
                b"a-c",
                b"a]c",
                b"a\\c",
                b"a^c",
                b"A",
                b"ABC",
                b"[",
                b"]",
                b"*",
                b"?",
                b"\\",
                b"a*c",
                b"a?c",
                b"hello",
                b"hallo",
                b"hxllo",
                b"hllo",
                b"heeeello",
                b"-",
                b"^",
                b"x",
                b"ba",
                b"Z",
                b"z",
                b"m",
                b"a[c",
                b"abcabc",
                b"aaa",
                b"aab",
                b"\xff",
                b"\x80a",
                b"ac",
                b"bc",
                b"[a",
                b"a\\",
                b"abc\\",
            ],
        ),
        (
            b"?*",
            &[
                b"a",
                b"b",
                b"c",
                b"d",
                b"ab",
                b"abc",
                b"aXc",
                b"axc",
                b"a-c",
                b"a]c",
                b"a\\c",
                b"a^c",
                b"A",
                b"ABC",
                b"[",
                b"]",
                b"*",
                b"?",
                b"\\",
                b"a*c",
                b"a?c",
                b"hello",
                b"hallo",
                b"hxllo",
                b"hllo",
                b"heeeello",
                b"-",
                b"^",
                b"x",
                b"ba",
                b"Z",
                b"z",
                b"m",
                b"a[c",
                b"abcabc",
                b"aaa",
                b"aab",
                b"\xff",
                b"\x80a",
                b"ac",
                b"bc",
                b"[a",
                b"a\\",
                b"abc\\",
            ],
        ),
        (
            b"?",
            &[b"a", b"b", b"c", b"d", b"A", b"[", b"]", b"*", b"?", b"\\", b"-", b"^", b"x", b"Z", b"z", b"m", b"\xff"],
        ),
        (b"??", &[b"ab", b"ba", b"\x80a", b"ac", b"bc", b"[a", b"a\\"]),
        (b"a?c", &[b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"a[c"]),
        (
            b"a*",
            &[
                b"a", b"ab", b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"a[c",
                b"abcabc", b"aaa", b"aab", b"ac", b"a\\", b"abc\\",
            ],
        ),
        (
            b"*c",
            &[
                b"c", b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"a[c", b"abcabc",
                b"ac", b"bc",
            ],
        ),
        (b"a*c", &[b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"a[c", b"abcabc", b"ac"]),
        (
            b"*a*",
            &[
                b"a", b"ab", b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"hallo", b"ba",
                b"a[c", b"abcabc", b"aaa", b"aab", b"\x80a", b"ac", b"[a", b"a\\", b"abc\\",
            ],
        ),
        (b"a*b*c", &[b"abc", b"abcabc"]),
        (b"[abc]", &[b"a", b"b", b"c"]),
        (
            b"[^a]",
            &[b"b", b"c", b"d", b"A", b"[", b"]", b"*", b"?", b"\\", b"-", b"^", b"x", b"Z", b"z", b"m", b"\xff"],
        ),
        (b"[a-c]", &[b"a", b"b", b"c"]),
        (b"[c-a]", &[b"a", b"b", b"c"]),
        (b"[a-]", &[b"a", b"]", b"^"]),
        (b"[a-]c", &[b"a", b"c", b"]", b"^"]),
        (b"a[a-]c", &[b"ac"]),
        (b"[abc", &[b"a", b"b", b"c"]),
        (b"[a", &[b"a"]),
        (b"a[", &[]),
        (b"\\", &[b"\\"]),
        (b"a\\", &[b"a\\"]),
        (b"\\*", &[b"*"]),
        (b"\\?", &[b"?"]),
        (b"\\a", &[b"a"]),
        (b"a\\c", &[b"ac"]),
        (b"[\\]]", &[b"]"]),
        (b"[\\^]", &[b"^"]),
        (b"[]]", &[]),
        (b"[]a]", &[]),
        (b"[]", &[]),
        (
            b"[^]",
            &[b"a", b"b", b"c", b"d", b"A", b"[", b"]", b"*", b"?", b"\\", b"-", b"^", b"x", b"Z", b"z", b"m", b"\xff"],
        ),
        (b"a[]c", &[]),
        (b"a[^]c", &[b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"a[c"]),
        (b"h?llo", &[b"hello", b"hallo", b"hxllo"]),
        (b"h*llo", &[b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello"]),
        (b"h[ae]llo", &[b"hello", b"hallo"]),
        (b"h[^e]llo", &[b"hallo", b"hxllo"]),
        (b"h[a-b]llo", &[b"hallo"]),
        (b"[*]", &[b"*"]),
        (b"[?]", &[b"?"]),
        (b"[-]", &[b"-"]),
        (b"[a-c-e]", &[b"a", b"b", b"c", b"-"]),
        (b"[\\-]", &[b"-"]),
        (b"abc\\", &[b"abc\\"]),
        (b"[a\\", &[b"a", b"\\"]),
        (
            b"[^",
            &[b"a", b"b", b"c", b"d", b"A", b"[", b"]", b"*", b"?", b"\\", b"-", b"^", b"x", b"Z", b"z", b"m", b"\xff"],
        ),
        (b"[", &[]),
        (b"]", &[b"]"]),
        (b"[[]", &[b"["]),
        (b"\\[", &[b"["]),
        (b"a[\\", &[b"a\\"]),
        (b"*\\", &[b"\\", b"a\\", b"abc\\"]),
        (b"[^a-c]", &[b"d", b"A", b"[", b"]", b"*", b"?", b"\\", b"-", b"^", b"x", b"Z", b"z", b"m", b"\xff"]),
        (b"[a-\\]", &[b"a", b"]", b"\\", b"^"]),
        (b"[Z-a]", &[b"a", b"[", b"]", b"\\", b"^", b"Z"]),
        (b"[a-Z]", &[b"a", b"[", b"]", b"\\", b"^", b"Z"]),
        (b"[\\a-c]", &[b"a", b"c", b"-"]),
        (b"a[x-X]c", &[b"abc", b"aXc", b"axc", b"a]c", b"a\\c", b"a^c", b"a[c"]),
        (b"*b", &[b"b", b"ab", b"aab"]),
        (b"*bc", &[b"abc", b"abcabc", b"bc"]),
        (b"ab*", &[b"ab", b"abc", b"abcabc", b"abc\\"]),
        (b"*a*b*c*", &[b"abc", b"abcabc", b"abc\\"]),
        (b"[\xff]", &[b"\xff"]),
        (b"[\x80-\xff]*", &[b"\xff", b"\x80a"]),
        (b"?a", &[b"ba", b"\x80a", b"[a"]),
        (
            b"[a]*",
            &[
                b"a", b"ab", b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"a[c",
                b"abcabc", b"aaa", b"aab", b"ac", b"a\\", b"abc\\",
            ],
        ),
        (b"*[", &[]),
        (b"a[bc", &[b"ab", b"ac"]),
        (b"a[^bc", &[b"a\\"]),
        (
            b"***c",
            &[
                b"c", b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"a[c", b"abcabc",
                b"ac", b"bc",
            ],
        ),
        (b"a**c", &[b"abc", b"aXc", b"axc", b"a-c", b"a]c", b"a\\c", b"a^c", b"a*c", b"a?c", b"a[c", b"abcabc", b"ac"]),
        (
            b"[^^]",
            &[b"a", b"b", b"c", b"d", b"A", b"[", b"]", b"*", b"?", b"\\", b"-", b"x", b"Z", b"z", b"m", b"\xff"],
        ),
        (b"[a^]", &[b"a", b"^"]),
        (b"[\\", &[b"\\"]),
        (b"\\\\", &[b"\\"]),
        (b"a\\\\c", &[b"a\\c"]),
        (b"a[\\\\]c", &[b"a\\c"]),
    ];
}

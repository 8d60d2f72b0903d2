//! The request decoder against arbitrary bytes, cut into reads at fuzzer-chosen points, under both kinds of
//! limits: it must never panic, never give back more bytes than it was fed, keep its memory bounded whatever the
//! declared lengths, and decode exactly the same requests (and fail the same way) however the input is cut.
//!
//! Input layout: one flags byte (bit 0: unauthenticated; bit 1: tiny proto-max-bulk-len; bit 2: tiny query
//! buffer limit), one byte giving the number of cuts (0..=15), that many cut bytes (each a chunk length), then
//! the wire bytes.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use rill::proto::request::INLINE_MAX;
use rill::proto::{Decoder, Limits, ProtocolError};

/// What feeding a whole input produced: the requests, then the error that stopped it, if any.
type Outcome = (Vec<Vec<Bytes>>, Option<ProtocolError>);

fn feed(chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    let mut fed = 0usize;
    let mut arg_bytes = 0usize;
    for chunk in chunks {
        // As the connection does before a read: copy a partial request's arguments out, then make room.
        decoder.unpin();
        buf.reserve(chunk.len());
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        loop {
            let before = buf.len();
            let result = decoder.decode(&mut buf, limits);
            assert!(buf.len() <= before, "the decoder grew its input");
            match result {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "empty requests are skipped, never returned");
                    arg_bytes += args.iter().map(|a| a.len()).sum::<usize>();
                    requests.push(args);
                }
                Ok(None) => break,
                Err(e) => return (requests, Some(e)),
            }
            // Arguments are cut out of what was consumed: never more than that.
            assert!(arg_bytes <= fed - buf.len(), "arguments hold more bytes than were consumed");
        }
        assert!(buf.len() <= fed);
        // A declared length reserves at most about a megabyte ahead of the bytes that arrived.
        assert!(buf.capacity() <= buf.len() + (8 << 20), "capacity {} for {} bytes", buf.capacity(), buf.len());
    }
    (requests, None)
}

fuzz_target!(|input: &[u8]| {
    let [flags, ncuts, rest @ ..] = input else { return };
    let ncuts = (*ncuts as usize % 16).min(rest.len());
    let (cuts, data) = rest.split_at(ncuts);
    let limits = Limits {
        proto_max_bulk_len: if flags & 2 != 0 { 16 } else { 512 << 20 },
        query_buffer_limit: if flags & 4 != 0 { 64 } else { 1 << 30 },
        unauthenticated: flags & 1 != 0,
    };
    let mut chunks = Vec::new();
    let mut at = 0;
    for &cut in cuts {
        let end = (at + cut as usize).min(data.len());
        chunks.push(&data[at..end]);
        at = end;
    }
    chunks.push(&data[at..]);
    let whole = feed(&[data], limits);
    let split = feed(&chunks, limits);
    // The 64 KiB line checks look at what has arrived so far, so only shorter inputs must agree exactly.
    if data.len() <= INLINE_MAX {
        assert_eq!(whole, split, "the same bytes decoded differently when cut at {cuts:?}");
    }
});

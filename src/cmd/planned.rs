//! Commands rill lists in its command table but has no code for yet: Pub/Sub and streams. COMMAND does not show
//! them (only commands with code are shown); their lines move to their own family file, next to their handlers,
//! when they are implemented.

use super::spec::*;

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("docs/planned.txt"),
    specs: &[
        listed("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("publish", 3, PUBSUB | LOADING | STALE | FAST, NO_KEYS),
        listed("pubsub", -2, NO_FLAGS, NO_KEYS),
        listed("pubsub|channels", -2, PUBSUB | LOADING | STALE, NO_KEYS),
        listed("pubsub|numsub", -2, PUBSUB | LOADING | STALE, NO_KEYS),
        listed("pubsub|numpat", 2, PUBSUB | LOADING | STALE, NO_KEYS),
        listed("pubsub|shardchannels", -2, PUBSUB | LOADING | STALE, NO_KEYS),
        listed("pubsub|shardnumsub", -2, PUBSUB | LOADING | STALE, NO_KEYS),
        listed("ssubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, channels(1, -1)),
        listed("sunsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, channels(1, -1)),
        listed("spublish", 3, PUBSUB | LOADING | STALE | FAST, channels(1, 1)),
        listed("xadd", -5, WRITE | DENYOOM | FAST, key(1)),
        listed("xlen", 2, READONLY | FAST, key(1)),
        listed("xrange", -4, READONLY, key(1)),
        listed("xrevrange", -4, READONLY, key(1)),
        listed("xdel", -3, WRITE | FAST, key(1)),
        listed("xtrim", -4, WRITE, key(1)),
        listed("xread", -4, READONLY | BLOCKING, streams(1)),
        listed("xreadgroup", -7, WRITE | BLOCKING, streams(4)),
        listed("xgroup", -2, NO_FLAGS, NO_KEYS),
        listed("xgroup|create", -5, WRITE | DENYOOM, key(2)),
        listed("xgroup|createconsumer", 5, WRITE | DENYOOM, key(2)),
        listed("xgroup|delconsumer", 5, WRITE, key(2)),
        listed("xgroup|destroy", 4, WRITE, key(2)),
        listed("xgroup|setid", -5, WRITE, key(2)),
        listed("xack", -4, WRITE | FAST, key(1)),
        listed("xpending", -3, READONLY, key(1)),
        listed("xclaim", -6, WRITE | FAST, key(1)),
        listed("xautoclaim", -6, WRITE | FAST, key(1)),
        listed("xinfo", -2, NO_FLAGS, NO_KEYS),
        listed("xinfo|stream", -3, READONLY, key(2)),
        listed("xinfo|groups", 3, READONLY, key(2)),
        listed("xinfo|consumers", 4, READONLY, key(2)),
        listed("xsetid", -3, WRITE | DENYOOM | FAST, key(1)),
    ],
};

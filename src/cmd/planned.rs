//! Commands rill lists in its command table but has no code for yet: Pub/Sub. COMMAND does not show
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
    ],
};

//! A connection that follows its keys. The session notes which shard each of its keyed commands runs on; when
//! they keep landing on one other shard (a worker looping on `BRPOP` of one queue, a producer pushing to one
//! list), the connection moves to that shard's thread (`conn`), so its commands stop crossing threads. It moves
//! only at rest (nothing in flight, not blocked, every reply written) and takes the session's state along
//! (`Portable`): database, protocol, authentication, reply mode, a transaction being queued, watched keys.

use super::Session;
use crate::cmd::client::ReplyMode;
use crate::cmd::multi::{Multi, Watch};
use crate::shard::blocking::Block;
use crate::shard::clients::ClientInfo;
use crate::shard::Shard;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// Consecutive keyed commands on one other shard before the connection moves there. The count doubles with each
/// move (up to `MOVE_AFTER << MAX_DOUBLINGS`), so a client whose keys are spread over the shards settles on one
/// instead of moving back and forth.
const MOVE_AFTER: u32 = 8;
const MAX_DOUBLINGS: u32 = 8;

/// Where the session's keyed commands have been running lately.
#[derive(Default)]
pub(super) struct Pull {
    /// The other shard the last keyed commands ran on, and how many in a row.
    shard: usize,
    runs: u32,
    /// Moves this connection has made.
    moves: u32,
}

/// A session's state on its way to another shard's thread: everything but the handles of the thread it leaves.
pub struct Portable {
    db: usize,
    resp3: bool,
    authenticated: bool,
    reply_mode: ReplyMode,
    no_touch: bool,
    multi: Option<Multi>,
    watch: Option<Watch>,
    blocker: Option<Arc<Block>>,
    moves: u32,
}

impl Session {
    /// Notes that a keyed command runs on `target`.
    #[inline]
    pub(crate) fn pulled_to(&mut self, target: usize) {
        let pull = &mut self.pull;
        if target == self.local {
            pull.runs = 0;
        } else if target == pull.shard {
            pull.runs = pull.runs.saturating_add(1);
        } else {
            pull.shard = target;
            pull.runs = 1;
        }
    }

    /// Notes a command whose keys span shards: nowhere in particular.
    pub(super) fn pulled_apart(&mut self) {
        self.pull.runs = 0;
    }

    /// The shard this connection should move to now, if any: its keyed commands keep landing there, and it is at
    /// rest.
    pub fn wants_to_move(&self) -> Option<usize> {
        let pull = &self.pull;
        let enough = pull.runs >= MOVE_AFTER << pull.moves.min(MAX_DOUBLINGS);
        (enough && pull.shard != self.local && self.at_rest()).then_some(pull.shard)
    }

    /// Nothing in flight: no batch out, no request queued, not blocked, no retry awaited, every reply written.
    fn at_rest(&self) -> bool {
        self.blocked.is_none()
            && self.queue.is_empty()
            && self.order.is_empty()
            && self.retries.is_empty()
            && self.out.is_empty()
            && !self.close
    }

    /// Packs the session for its move.
    pub fn into_portable(mut self) -> Portable {
        debug_assert!(self.at_rest());
        Portable {
            db: self.db,
            resp3: self.resp3,
            authenticated: self.authenticated,
            reply_mode: self.reply_mode,
            no_touch: self.no_touch,
            multi: self.multi.take(),
            watch: self.watch.take(),
            // Taken, so that dropping the session here does not close it.
            blocker: self.blocker.take(),
            moves: self.pull.moves,
        }
    }

    /// The session again, on the thread of `shard`.
    pub fn from_portable(p: Portable, shard: Rc<RefCell<Shard>>, info: Rc<RefCell<ClientInfo>>) -> Session {
        let mut s = Session::new(shard, info, p.authenticated);
        s.db = p.db;
        s.resp3 = p.resp3;
        s.reply_mode = p.reply_mode;
        s.no_touch = p.no_touch;
        s.multi = p.multi;
        s.watch = p.watch;
        s.blocker = p.blocker;
        s.pull.moves = p.moves + 1;
        s
    }
}

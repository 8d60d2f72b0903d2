//! rill: a Redis-compatible server for short-lived messages. See docs/ARCHITECTURE.md for the map.
//!
//! Layers, top to bottom (imports flow downwards only; `tests/layers.rs` checks it): `server` (start-up) → `conn`
//! (sockets) → `cmd` (command families, the registry, sessions) → `shard` and `shared` (the runtime: threads,
//! mailboxes, key locks, blocking, the write path, the multi-shard coordinators, and the `Op`/`Call`/`Ctx` it runs
//! commands through) → `db` (data structures); `proto`, `config` and `glob` sit at the bottom beside `db`, and
//! `text` (Redis's integer parsing and quoting, which they share) below them all.

pub mod cmd;
pub mod config;
pub mod conn;
pub mod db;
pub mod glob;
pub mod proto;
pub mod server;
pub mod shard;
pub mod shared;
pub mod text;

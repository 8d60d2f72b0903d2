//! The wire: RESP request decoding with Redis's limits, reply encoding for RESP2 and RESP3, and every error text a
//! client can see.

pub mod errors;
pub mod reply;
pub mod request;

pub use reply::Out;
pub use request::{Decoder, Limits, ProtocolError};

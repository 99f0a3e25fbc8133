//! The library's integration tests, one binary: every module here used
//! to be a binary of its own, each linking the library, SQLite, rustls
//! and the PostgreSQL client again (and starting its own throwaway
//! cluster). `memory.rs` stays apart: it counts the heap with a global
//! allocator, which would count every other test running beside it.

mod backends;
mod cases;
mod compat;
mod hostile;
mod layers;
#[cfg(feature = "postgres")]
mod postgres_connect;
#[cfg(feature = "postgres")]
mod postgres_store;
mod python_interop;
mod schema;
mod sdk_stores;
mod simulation;
mod stats_crosscheck;
mod store;
mod store_text;
mod suite;

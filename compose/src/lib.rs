//! The Docker Compose stack in this directory (`docker-compose.yml`, `Dockerfile`).
//!
//! This crate exists for its tests: `tests/compose_file.rs` checks the compose file
//! statically against the services' real configuration types, because the stack cannot
//! run where the tests run (no Docker engine on our machines or in CI).
#![forbid(unsafe_code)]

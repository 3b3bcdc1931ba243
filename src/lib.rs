//! The examples, behaviour tests and guides of fauxtp live in this package.
//!
//! This library exists so that every Rust snippet of the guides in `docs/`
//! is compiled and run by `cargo test` as a doc test: a guide whose example
//! stops working fails the build.

#[doc = include_str!("../README.md")]
pub mod readme {}

#[doc = include_str!("../docs/getting-started.md")]
pub mod getting_started {}

#[doc = include_str!("../docs/processes.md")]
pub mod processes {}

#[doc = include_str!("../docs/genserver.md")]
pub mod genserver {}

#[doc = include_str!("../docs/statem.md")]
pub mod statem {}

#[doc = include_str!("../docs/messaging.md")]
pub mod messaging {}

#[doc = include_str!("../docs/supervision.md")]
pub mod supervision {}

#[doc = include_str!("../docs/registry.md")]
pub mod registry {}

#[doc = include_str!("../docs/registry-keys.md")]
pub mod registry_keys {}

#[doc = include_str!("../docs/pg.md")]
pub mod pg {}

#[doc = include_str!("../docs/testing.md")]
pub mod testing {}

#[doc = include_str!("../docs/examples.md")]
pub mod examples {}

#[doc = include_str!("../docs/primitives.md")]
pub mod primitives {}

#[doc = include_str!("../docs/observability.md")]
pub mod observability {}

#[doc = include_str!("../docs/observer.md")]
pub mod observer {}

#[doc = include_str!("../docs/troubleshooting.md")]
pub mod troubleshooting {}

#[doc = include_str!("../docs/distribution.md")]
pub mod distribution {}

#[doc = include_str!("../docs/comparison.md")]
pub mod comparison {}

#[doc = include_str!("../docs/performance.md")]
pub mod performance {}

#[doc = include_str!("../docs/design-notes.md")]
pub mod design_notes {}

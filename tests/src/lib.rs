//! Scenario, interop and browser tests for every runtime. The scenarios arrive with the runtime issues; the sans-IO protocol tests live in `core/tests`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

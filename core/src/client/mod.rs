//! The client state machine.

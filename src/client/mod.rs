//! The async Engine.IO client.

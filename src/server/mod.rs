//! The async Engine.IO server.

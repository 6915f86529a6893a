//! Shared by the simulation tests: random flows as IR, and a simulated runtime that checks
//! the engine's invariants after every input.

pub mod echo;
pub mod flows;
pub mod sim;

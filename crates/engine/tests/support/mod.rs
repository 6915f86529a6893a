//! Shared by the simulation tests: random flows as IR (and as ASL text), and a simulated
//! runtime that checks the engine's invariants after every input.

pub mod asl;
pub mod echo;
pub mod flows;
pub mod sim;

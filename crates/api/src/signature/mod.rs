//! Request signing schemes the dialects verify.

pub mod alibaba;

//! Definition languages.

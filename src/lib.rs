//! forewarn: a public status page and proactive outage notifier.
//!
//! The flow: [`config`] → [`monitor`] (scheduler, [`probe`], tracker) → [`journal`]
//! (append + fsync) → [`status`] (the view folded from the journal).

pub mod cluster;
pub mod commands;
pub mod config;
pub mod demo;
pub mod files;
pub mod journal;
pub mod monitor;
pub mod notify;
pub mod present;
pub mod probe;
pub mod rollup;
pub mod serve;
pub mod site;
pub mod status;
pub mod upstream;
pub mod vocab;

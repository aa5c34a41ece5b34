//! Watching components: the scheduler runs probes, trackers confirm status changes,
//! and the daemon records them in the journal.

pub mod alerts;
pub mod daemon;
pub mod declared;
pub mod heartbeat;
pub mod incidents;
pub mod maintenance;
pub mod metrics;
pub mod promises;
pub mod quorum;
pub mod scheduler;
pub mod snapshot;
pub mod tracker;
pub mod upstreams;
pub mod visibility;
pub mod watch;

pub use daemon::{Prepared, RunOptions, prepare};

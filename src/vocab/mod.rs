//! The words every layer shares, at the bottom of the house: how a component is doing,
//! how bad an incident is, where its repair stands (`statuses`), and what an incident
//! update and a maintenance window say (`facts`). It imports nothing of the crate.

mod facts;
mod statuses;

pub use facts::{IncidentUpdate, MaintenanceWindow};
pub use statuses::{ComponentStatus, Impact, IncidentStatus};

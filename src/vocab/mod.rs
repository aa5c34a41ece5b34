//! The words every layer shares, at the bottom of the house: how a component is doing,
//! how bad an incident is, where its repair stands (`statuses`), and what an incident
//! update and a maintenance window say (`facts`), what a vendor's status page says
//! (`vendors`), and the ways people are reached
//! (`channels`). It imports nothing of the crate.

mod channels;
mod facts;
mod statuses;
mod vendors;

pub use channels::{Channel, Medium, Role, WebhookFormat};
pub use facts::{IncidentUpdate, MaintenanceWindow};
pub use statuses::{ComponentStatus, Impact, IncidentStatus};
pub use vendors::{VendorIncident, VendorReading};

//! Planned maintenance as the view knows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::journal::MaintenanceWindow;

/// Where a maintenance window stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceState {
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}

impl MaintenanceState {
    pub fn is_over(self) -> bool {
        matches!(
            self,
            MaintenanceState::Completed | MaintenanceState::Cancelled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Maintenance {
    pub id: String,
    #[serde(flatten)]
    pub window: MaintenanceWindow,
    pub state: MaintenanceState,
    /// When it was first announced.
    pub scheduled_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Reminders sent, as seconds before the start.
    pub reminders_sent: Vec<u64>,
}

impl Maintenance {
    pub fn is_active(&self) -> bool {
        self.state == MaintenanceState::InProgress
    }

    pub fn covers(&self, component: &str) -> bool {
        self.window.components.iter().any(|c| c == component)
    }
}

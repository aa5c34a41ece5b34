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
    /// How many times the announcement changed after it was first made (its window,
    /// words or components, or a cancellation): a calendar's `SEQUENCE`.
    #[serde(default)]
    pub revision: u32,
    /// When it last changed, or else when it was announced.
    #[serde(default)]
    pub revised_at: Option<DateTime<Utc>>,
    /// When it was first announced; `scheduled_at` moves with a new start (reminders
    /// are due again), this never does.
    #[serde(default)]
    pub announced_at: Option<DateTime<Utc>>,
}

impl Maintenance {
    pub fn is_active(&self) -> bool {
        self.state == MaintenanceState::InProgress
    }

    /// When it was first announced.
    pub fn first_announced(&self) -> DateTime<Utc> {
        self.announced_at.unwrap_or(self.scheduled_at)
    }

    /// When the announcement last changed.
    pub fn last_revised(&self) -> DateTime<Utc> {
        self.revised_at.unwrap_or(self.scheduled_at)
    }

    pub fn covers(&self, component: &str) -> bool {
        self.window.components.iter().any(|c| c == component)
    }
}

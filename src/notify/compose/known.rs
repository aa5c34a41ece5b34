//! The fixed words a composed notice holds, read back from a snapshot; a word this
//! release does not know makes the snapshot unusable (and the journal is replayed).

use serde::de::Error;
use serde::{Deserialize, Deserializer};

const KINDS: &[&str] = &[
    "component.status_changed",
    "component.visibility",
    "incident.opened",
    "incident.updated",
    "incident.update_edited",
    "incident.changed",
    "incident.resolved",
    "maintenance.scheduled",
    "maintenance.changed",
    "maintenance.reminder",
    "maintenance.started",
    "maintenance.completed",
    "maintenance.cancelled",
    "subscriber.pending",
    "operator.alert",
    "upstream.changed",
];
const STEPS: &[&str] = &[
    "scheduled",
    "rescheduled",
    "reminder",
    "started",
    "completed",
    "cancelled",
];

fn one_of<'de, D: Deserializer<'de>>(
    d: D,
    words: &[&'static str],
) -> Result<&'static str, D::Error> {
    let text = String::deserialize(d)?;
    words
        .iter()
        .find(|w| **w == text)
        .copied()
        .ok_or_else(|| D::Error::custom(format!("unknown word \"{text}\"")))
}

pub fn kind<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    one_of(d, KINDS)
}

pub fn step<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    one_of(d, STEPS)
}

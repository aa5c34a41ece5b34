//! Telling subscribers: what a notice says ([`notice`]), composed once per event.

pub mod notice;

pub use notice::Notice;

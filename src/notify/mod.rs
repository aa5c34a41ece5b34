//! Telling subscribers. A journal event becomes a notice once ([`compose`]); the
//! subscribers in force at that point of the journal ([`audience`]) make the deliveries
//! owed ([`outbox`]), which [`dispatch`] attempts over email ([`email`], [`send`]) and
//! webhooks ([`webhook`]), recording every outcome back in the journal.

pub mod alert;
pub mod asks;
pub mod audience;
pub mod compose;
pub mod dispatch;
pub mod email;
pub mod fold;
pub mod notice;
pub mod outbox;
pub mod requests;
pub mod self_service;
pub mod send;
pub mod token;
pub mod webhook;

pub use notice::Notice;

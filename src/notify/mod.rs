//! Telling subscribers. A journal event becomes a notice once ([`compose`]); the
//! subscribers in force at that point of the journal ([`audience`]) make the deliveries
//! owed ([`outbox`]), folded in one order ([`fold`]), which [`dispatch`] attempts over
//! each [`channels`] (email, Standard Webhooks, Slack, Discord, Teams) through
//! [`send`], recording every outcome back in the journal. What subscribers do for
//! themselves is [`self_service`].

pub mod alert;
pub mod asks;
pub mod audience;
pub mod channels;
pub mod compose;
pub mod dispatch;
pub mod fold;
pub mod notice;
pub mod outbox;
pub mod requests;
pub mod self_service;
pub mod send;
pub mod token;

pub use notice::Notice;

//! How forewarn shows what it knows, shared by the status site and the notices so that
//! neither imports the other: the Statuspage-shaped JSON (`api`), the links customers
//! follow (`links`), the text helpers (Markdown, times, durations, `mailto:`), and
//! loading templates an operator may replace (`templates`).

pub mod api;
pub mod links;
pub mod templates;
pub mod text;

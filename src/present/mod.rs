//! How forewarn shows what it knows, shared by the status site and the notices so that
//! neither imports the other: the Statuspage-shaped JSON (`api`), the links customers
//! follow (`links`), and the text helpers (Markdown, times, durations, `mailto:`).

pub mod api;
pub mod links;
pub mod text;

//! Links customers follow: an incident's page on the status site, and a phone number
//! as a `tel:` link. Pages, feeds, the API and notices all build them here.

use crate::config::Config;

/// The permanent page of an incident.
pub fn incident_url(config: &Config, reference: &str) -> String {
    config.site_url(&format!("incidents/{reference}.html"))
}

/// A `tel:` link for a number written for people: "+44 (0)20 7946 0958 ext. 12" dials
/// +442079460958 (the national "(0)" and any extension left out).
pub fn tel(phone: &str) -> String {
    let number = phone
        .split(|c: char| c.is_ascii_alphabetic() || c == ',' || c == ';')
        .next()
        .unwrap_or("");
    let number = if number.trim_start().starts_with('+') {
        number.replace("(0)", "")
    } else {
        number.to_owned()
    };
    let digits: String = number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    format!("tel:{digits}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn phone_links_dial_what_people_would_dial() {
        assert_eq!(super::tel("+44 (0)20 7946 0958"), "tel:+442079460958");
        assert_eq!(super::tel("+1 555 0100 ext. 12"), "tel:+15550100");
        assert_eq!(super::tel("01 23 45 67 89"), "tel:0123456789");
    }
}

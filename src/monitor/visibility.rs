//! Which components customers may hear of, brought from the configuration into the
//! journal (`component.visibility`), so that who is told what is decided by the journal
//! alone and every replay tells the same people. Pure.

use crate::config::Config;
use crate::journal::Event;
use crate::status::StatusView;

/// The events that make the journal's public components match the configuration.
pub fn events(config: &Config, view: &StatusView) -> Vec<Event> {
    config
        .components
        .iter()
        .filter(|c| c.public != view.is_public(&c.id))
        .map(|c| Event::ComponentVisibility {
            component: c.id.clone(),
            public: c.public,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Record;

    #[test]
    fn only_changes_are_recorded_and_they_fold_back() {
        let mut config = crate::config::tests::minimal();
        let mut view = StatusView::default();
        assert!(events(&config, &view).is_empty(), "public is the default");
        config.components[0].public = false;
        let made_private = events(&config, &view);
        assert_eq!(made_private.len(), 1);
        view.apply(&Record {
            seq: 1,
            at: "2026-11-22T10:00:00Z".parse().unwrap(),
            more: false,
            event: made_private[0].clone(),
        });
        assert!(!view.is_public(&config.components[0].id));
        assert!(events(&config, &view).is_empty(), "recorded once");
        config.components[0].public = true;
        assert!(matches!(
            &events(&config, &view)[..],
            [Event::ComponentVisibility { public: true, .. }]
        ));
    }
}

use super::*;

fn check(src: &str) -> Result<Subscribers, Diagnostics> {
    let mut config = crate::config::tests::minimal();
    let mut private = config.components[0].clone();
    private.id = "queue".into();
    private.public = false;
    config.components.push(private);
    Subscribers::parse(Path::new("subscribers.toml"), src, &config, &|name| {
        (name == "HOOK").then(|| "https://hooks.example.com/x".to_owned())
    })
}

fn problems(src: &str) -> Vec<String> {
    match check(src) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn operators_are_email_or_webhook_and_keys_of_the_other_kind_are_refused() {
    let ok = check("[[operator]]\naddress = \"OnCall@Example.com\"\ncomponents = [\"queue\"]\n")
        .expect("valid");
    assert!(ok.list[0].operator);
    assert_eq!(ok.list[0].key, "operator:email:oncall@example.com");
    let p = problems("[[operator]]\naddress = \"oncall@example.com\"\nformat = \"slack\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with(
            "subscribers.toml:3:10: operator #1 (line 1): format: is for webhook operators"
        ),
        "{p:?}"
    );
    let p = problems("[[operator]]\nurl_env = \"HOOK\"\nformat = \"slack\"\ntimezone = \"UTC\"\n");
    assert!(
        p.iter().any(|l| l.starts_with(
            "subscribers.toml:4:12: operator #1 (line 1): timezone: is for email operators"
        )),
        "{p:?}"
    );
}

#[test]
fn customers_cannot_choose_a_component_kept_from_them() {
    let p = problems("[[email]]\naddress = \"a@example.com\"\ncomponents = [\"queue\"]\n");
    assert!(
        p.iter()
            .any(|l| l.contains("components: \"queue\" is kept from customers (public = false)")),
        "{p:?}"
    );
}

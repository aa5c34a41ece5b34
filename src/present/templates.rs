//! Templates built into the binary, each replaceable by a file of the same name in the
//! folder `[site] templates` names: the pages' and the emails' registries load through
//! here.

use std::path::Path;

use anyhow::Context;
use handlebars::Handlebars;

/// Register `builtin` as `name`, or the operator's `file` from `overrides` when it is
/// there; a broken template says which file it is.
pub fn register(
    hb: &mut Handlebars<'static>,
    name: &str,
    (file, builtin): (&str, &str),
    overrides: Option<&Path>,
) -> anyhow::Result<()> {
    let custom = overrides.map(|d| d.join(file)).filter(|p| p.is_file());
    let text = match &custom {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        None => builtin.to_owned(),
    };
    hb.register_template_string(name, text)
        .with_context(|| match &custom {
            Some(p) => format!("{} is not a valid template", p.display()),
            None => format!("the built-in template {file} is not valid"),
        })
}

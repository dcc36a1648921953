//! Print the client settings a chapter is about, as librdkafka will use them.
//!
//! `ClientConfig::get` only knows what *we* set. librdkafka's defaults change
//! between versions (and rust-rdkafka's docs list some outdated ones), so we ask
//! librdkafka itself: a native config answers with the effective value, ours or
//! its default.

use rdkafka::ClientConfig;

use crate::SupportError;

/// One effective setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: String,
    /// `true` when the chapter set it explicitly, `false` for librdkafka's default.
    pub explicit: bool,
}

/// The effective values of `keys` for `config`. Fails on an unknown key or an
/// invalid value, naming it.
pub fn effective(config: &ClientConfig, keys: &[&str]) -> Result<Vec<Setting>, SupportError> {
    let native = config
        .create_native_config()
        .map_err(SupportError::Config)?;
    keys.iter()
        .map(|key| {
            let value = native.get(key).map_err(SupportError::Config)?;
            Ok(Setting {
                key: (*key).to_string(),
                value,
                explicit: config.get(key).is_some(),
            })
        })
        .collect()
}

/// Prints `title` and the effective values of `keys`, marking which ones the
/// chapter chose and which are librdkafka's defaults.
pub fn print_effective(
    title: &str,
    config: &ClientConfig,
    keys: &[&str],
) -> Result<(), SupportError> {
    let settings = effective(config, keys)?;
    let key_width = settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
    let value_width = settings
        .iter()
        .map(|s| s.value.chars().count())
        .max()
        .unwrap_or(0);
    println!("{title}");
    for s in &settings {
        let origin = if s.explicit {
            "set by this chapter"
        } else {
            "librdkafka default"
        };
        println!(
            "  {:<key_width$} = {:<value_width$}   ({origin})",
            s.key, s.value
        );
    }
    Ok(())
}

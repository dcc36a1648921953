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
            // A topic-level property (acks, partitioner, …) is only known to a
            // global config once some topic-level property was set on it;
            // otherwise ask a fresh topic config for librdkafka's default.
            let value = match native.get(key) {
                Ok(value) => value,
                Err(error) => topic_default(key).ok_or(SupportError::Config(error))?,
            };
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

/// librdkafka's default for a topic-level property, from a fresh topic config.
#[allow(unsafe_code)]
fn topic_default(key: &str) -> Option<String> {
    use rdkafka::bindings as rd;
    use std::ffi::{CStr, CString, c_char};

    let name = CString::new(key).ok()?;
    // SAFETY: the topic config is created, read with a buffer of the size
    // librdkafka asked for, and destroyed here; no pointer escapes.
    unsafe {
        let conf = rd::rd_kafka_topic_conf_new();
        let mut size: usize = 0;
        let mut value = None;
        if rd::rd_kafka_topic_conf_get(conf, name.as_ptr(), std::ptr::null_mut(), &mut size)
            == rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK
        {
            let mut buffer = vec![0u8; size.max(1)];
            if rd::rd_kafka_topic_conf_get(
                conf,
                name.as_ptr(),
                buffer.as_mut_ptr().cast::<c_char>(),
                &mut size,
            ) == rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK
            {
                value = CStr::from_bytes_until_nul(&buffer)
                    .ok()
                    .map(|s| s.to_string_lossy().into_owned());
            }
        }
        rd::rd_kafka_topic_conf_destroy(conf);
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_level_defaults_are_found_without_any_topic_setting() {
        let settings =
            effective(&ClientConfig::new(), &["acks", "partitioner", "linger.ms"]).unwrap();
        let values: Vec<&str> = settings.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(values, vec!["-1", "consistent_random", "5"]);
        assert!(settings.iter().all(|s| !s.explicit));
    }

    #[test]
    fn an_unknown_setting_is_an_error_naming_it() {
        let error = effective(&ClientConfig::new(), &["no.such.setting"]).unwrap_err();
        assert!(error.to_string().contains("no.such.setting"), "{error}");
    }
}

//! Options the host page passes to `mount`.

use wasm_bindgen::JsValue;

/// API base used when the host page passes none.
pub const DEFAULT_API_BASE: &str = "/callscope/api";

/// Colour scheme of the widget; the host page can still override every colour
/// through the `--callscope-*` custom properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl Theme {
    /// Parses the `theme` option.
    pub fn parse(value: &str) -> Result<Theme, OptionsError> {
        match value {
            "light" => Ok(Theme::Light),
            "dark" => Ok(Theme::Dark),
            other => Err(OptionsError::UnknownTheme(other.to_owned())),
        }
    }

    /// Class added to the widget's root element.
    pub fn class(self) -> &'static str {
        match self {
            Theme::Light => "callscope--light",
            Theme::Dark => "callscope--dark",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("callscope mount option `theme` is \"{0}\"; use \"light\" or \"dark\"")]
    UnknownTheme(String),

    #[error("callscope mount option `{0}` must be a string")]
    NotAString(&'static str),

    #[error("callscope mount options must be an object such as {{ apiBase: '/callscope/api' }}")]
    NotAnObject,
}

/// Parsed `mount` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Path of the callscope JSON API, such as `/callscope/api`.
    pub api_base: String,
    pub theme: Theme,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self { api_base: DEFAULT_API_BASE.to_owned(), theme: Theme::default() }
    }
}

impl MountOptions {
    /// Reads `{ apiBase?, theme? }`; `undefined` and `null` give the defaults.
    pub fn from_js(value: &JsValue) -> Result<MountOptions, OptionsError> {
        if value.is_undefined() || value.is_null() {
            return Ok(MountOptions::default());
        }
        if !value.is_object() {
            return Err(OptionsError::NotAnObject);
        }

        let api_base = optional_string(value, "apiBase")?;
        let theme = optional_string(value, "theme")?;
        MountOptions::from_parts(api_base.as_deref(), theme.as_deref())
    }

    /// Builds options from already extracted values, applying the defaults.
    pub fn from_parts(api_base: Option<&str>, theme: Option<&str>) -> Result<MountOptions, OptionsError> {
        let api_base = api_base.unwrap_or(DEFAULT_API_BASE).to_owned();
        let theme = match theme {
            Some(name) => Theme::parse(name)?,
            None => Theme::default(),
        };
        Ok(MountOptions { api_base, theme })
    }
}

fn optional_string(object: &JsValue, key: &'static str) -> Result<Option<String>, OptionsError> {
    let value = js_sys::Reflect::get(object, &JsValue::from_str(key)).map_err(|_| OptionsError::NotAnObject)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or(OptionsError::NotAString(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_options() {
        assert_eq!(MountOptions::from_parts(None, None), Ok(MountOptions::default()));
        assert_eq!(MountOptions::default().api_base, "/callscope/api");
    }

    #[test]
    fn theme_dark() {
        let options = MountOptions::from_parts(Some("/x/api"), Some("dark")).unwrap();
        assert_eq!(options.theme, Theme::Dark);
        assert_eq!(options.api_base, "/x/api");
    }

    #[test]
    fn unknown_theme_rejected() {
        let error = MountOptions::from_parts(None, Some("blue")).unwrap_err();
        assert_eq!(error.to_string(), "callscope mount option `theme` is \"blue\"; use \"light\" or \"dark\"");
    }
}

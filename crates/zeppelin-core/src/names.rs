//! Rules for the names an app file gives: app and sub names become Kubernetes object names
//! and DNS labels; conf, secret and env keys become environment variable names.

/// Longest DNS-1123 label, and so the longest Kubernetes name Zeppelin generates.
pub const MAX_LABEL: usize = 63;

/// Longest job name: a `before` job's Kubernetes `Job` is `<job>-<hash>` and the `Job`s a
/// `CronJob` makes get a suffix too, and both must stay DNS labels.
pub const MAX_JOB_NAME: usize = 52;

/// Longest app name: room is left for the suffixes of app-wide objects (`<app>-revisions`).
pub const MAX_APP_NAME: usize = 50;

/// Why `name` is not a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63
/// characters), or `None` when it is.
pub fn dns_label_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    if name.len() > MAX_LABEL {
        return Some(format!(
            "it is {} characters long; at most {MAX_LABEL} are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "`{c}` is not allowed; use lower-case letters, digits and `-`"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("it must start and end with a letter or digit".to_owned());
    }
    None
}

/// Why `name` cannot be an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn env_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    match chars.next() {
        None => Some("it is empty".to_owned()),
        Some(c) if c.is_ascii_digit() => Some("it must not start with a digit".to_owned()),
        _ => name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map(|c| format!("`{c}` is not allowed in an environment variable name; use letters, digits and `_`")),
    }
}

/// A cleaned-up suggestion for a name that is not a valid environment variable name
/// (`LOG-LEVEL` → `LOG_LEVEL`, `2FA` → `_2FA`).
pub fn env_name_suggestion(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if cleaned.starts_with(|c: char| c.is_ascii_digit()) || cleaned.is_empty() {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

/// A cleaned-up suggestion for a name that is not a DNS-1123 label (`My_API` → `my-api`).
pub fn dns_label_suggestion(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' | '-' => c,
            _ => '-',
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    trimmed.chars().take(MAX_LABEL).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label_problem("shop"), None);
        assert_eq!(dns_label_problem("web-2"), None);
        assert_eq!(dns_label_problem("2fa"), None);
        assert!(dns_label_problem("Web").is_some());
        assert!(dns_label_problem("web_ui").is_some());
        assert!(dns_label_problem("-web").is_some());
        assert!(dns_label_problem("web-").is_some());
        assert!(dns_label_problem("").is_some());
        assert!(dns_label_problem(&"a".repeat(64)).is_some());
        assert_eq!(dns_label_problem(&"a".repeat(63)), None);
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name_problem("LOG_LEVEL"), None);
        assert_eq!(env_name_problem("_x1"), None);
        assert_eq!(env_name_suggestion("LOG-LEVEL"), "LOG_LEVEL");
        assert_eq!(env_name_suggestion("2FA"), "_2FA");
        assert!(env_name_problem("1X").is_some());
        assert!(env_name_problem("LOG-LEVEL").is_some());
        assert!(env_name_problem("").is_some());
    }

    #[test]
    fn suggestions_are_labels() {
        assert_eq!(dns_label_suggestion("My_API"), "my-api");
        assert_eq!(dns_label_problem(&dns_label_suggestion("__Web__")), None);
    }
}

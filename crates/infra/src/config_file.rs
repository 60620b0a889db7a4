//! The configuration file: reading `rdmabench.toml` for every `infra` command, and `rdmabench
//! init` writing a commented one, never over an existing file unless asked.

use std::path::Path;

use crate::config::{Cidr, ConfigError, StackConfig};
use crate::error::InfraError;
use crate::template;

/// Reads and validates the configuration file; a bad setting is reported with the file's name.
pub fn load(path: &Path) -> Result<StackConfig, InfraError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InfraError::context(
            format!(
                "cannot read {} (create one with `rdmabench init`, or pass --config)",
                path.display()
            ),
            e,
        )
    })?;
    StackConfig::from_toml(&text, &path.display().to_string()).map_err(|e| match e {
        ConfigError::Invalid { .. } => {
            InfraError::context(format!("invalid setting in {}", path.display()), e)
        }
        parse => parse.into(),
    })
}

/// What `rdmabench init` writes.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// Addresses allowed to reach the public Kubernetes API, e.g. `203.0.113.7/32`: the one
    /// setting without a safe default.
    pub public_cidrs: Vec<String>,
    /// Overwrite an existing file.
    pub force: bool,
}

/// `rdmabench init`: writes the commented configuration to `path` whole, refusing to replace an
/// existing file without `force`; `progress` hears what was written and what is left to set.
pub fn init(
    path: &Path,
    options: &InitOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(), InfraError> {
    for cidr in &options.public_cidrs {
        if Cidr::parse(cidr).is_none() {
            return Err(InfraError::Refused(format!(
                "--public-cidr {cidr}: not an IPv4 network in CIDR form such as 203.0.113.7/32"
            )));
        }
    }
    if path.exists() && !options.force {
        return Err(InfraError::Refused(format!(
            "{} already exists; keep it, or overwrite it with --force",
            path.display()
        )));
    }
    let text = template::render(&options.public_cidrs);
    rdmabench_results::write_atomically(path, text.as_bytes()).map_err(|e| {
        InfraError::context(
            format!("writing {} (does the directory exist?)", path.display()),
            e,
        )
    })?;
    progress(&format!("wrote {}", path.display()));
    if options.public_cidrs.is_empty() {
        progress("set cluster.public_access_cidrs (your address as a /32) before `rdmabench infra synth`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_a_loadable_file_and_refuses_to_overwrite_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rdmabench.toml");
        let options = InitOptions {
            public_cidrs: vec!["203.0.113.7/32".into()],
            force: false,
        };
        let mut lines = Vec::new();
        init(&path, &options, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, [format!("wrote {}", path.display())]);
        let config = load(&path).unwrap();
        assert_eq!(config.cluster.public_access_cidrs, ["203.0.113.7/32"]);

        std::fs::write(&path, "# mine\n").unwrap();
        let error = init(&path, &options, &mut |_| {}).unwrap_err();
        assert!(matches!(error, InfraError::Refused(_)), "{error}");
        assert!(error.to_string().contains("already exists"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");

        let forced = InitOptions {
            force: true,
            ..options
        };
        init(&path, &forced, &mut |_| {}).unwrap();
        assert!(load(&path).is_ok());
    }

    #[test]
    fn a_bad_cidr_or_setting_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rdmabench.toml");
        let options = InitOptions {
            public_cidrs: vec!["203.0.113.7".into()],
            force: false,
        };
        let error = init(&path, &options, &mut |_| {}).unwrap_err();
        assert!(error.to_string().starts_with("--public-cidr 203.0.113.7:"));
        assert!(!path.exists());

        // The template's one required setting, left unset.
        std::fs::write(&path, "name = \"bench\"\n").unwrap();
        let error = load(&path).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("invalid setting in {}", path.display())
        );
        let cause = std::error::Error::source(&error).unwrap().to_string();
        assert!(
            cause.starts_with("cluster.public_access_cidrs = []"),
            "{cause}"
        );
    }
}

//! Diagnostics: the errors and warnings Terraform shows, optionally pointing at an attribute.

use std::fmt;

use super::proto::tfplugin6 as pb;

/// One step into a value: an attribute, a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Attribute(String),
    Key(String),
    Index(i64),
}

/// Where in a configuration a diagnostic points, e.g. `endpoints.login` or `scopes["User.Read"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributePath(pub Vec<Step>);

impl AttributePath {
    pub fn root(name: &str) -> Self {
        AttributePath(vec![Step::Attribute(name.to_owned())])
    }

    pub fn attribute(mut self, name: &str) -> Self {
        self.0.push(Step::Attribute(name.to_owned()));
        self
    }

    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Step::Key(key.to_owned()));
        self
    }

    pub fn index(mut self, index: i64) -> Self {
        self.0.push(Step::Index(index));
        self
    }

    pub(crate) fn to_proto(&self) -> pb::AttributePath {
        use pb::attribute_path::step::Selector;
        pb::AttributePath {
            steps: self
                .0
                .iter()
                .map(|s| pb::attribute_path::Step {
                    selector: Some(match s {
                        Step::Attribute(n) => Selector::AttributeName(n.clone()),
                        Step::Key(k) => Selector::ElementKeyString(k.clone()),
                        Step::Index(i) => Selector::ElementKeyInt(*i),
                    }),
                })
                .collect(),
        }
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Attribute(n) if i == 0 => write!(f, "{n}")?,
                Step::Attribute(n) => write!(f, ".{n}")?,
                Step::Key(k) => write!(f, "[{k:?}]")?,
                Step::Index(idx) => write!(f, "[{idx}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub attribute: Option<AttributePath>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            attribute: None,
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            summary: summary.into(),
            detail: detail.into(),
            attribute: None,
        }
    }

    pub fn at(mut self, path: AttributePath) -> Self {
        self.attribute = Some(path);
        self
    }

    pub(crate) fn to_proto(&self) -> pb::Diagnostic {
        pb::Diagnostic {
            severity: match self.severity {
                Severity::Error => pb::diagnostic::Severity::Error,
                Severity::Warning => pb::diagnostic::Severity::Warning,
            } as i32,
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute: self.attribute.as_ref().map(AttributePath::to_proto),
        }
    }
}

/// The diagnostics of one operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::error(summary, detail));
    }

    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::warning(summary, detail));
    }

    pub fn attribute_error(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::error(summary, detail).at(path));
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// The value of `result`, or `None` with its diagnostics added: the early return of an operation,
    /// written `let x = diags.take(result)?;`.
    pub fn take<T>(&mut self, result: Result<T, impl Into<Diagnostics>>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problem) => {
                self.extend(problem.into());
                None
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub(crate) fn to_proto(&self) -> Vec<pb::Diagnostic> {
        self.0.iter().map(Diagnostic::to_proto).collect()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_terraform_addresses() {
        let path = AttributePath::root("endpoints").attribute("login");
        assert_eq!(path.to_string(), "endpoints.login");
        assert_eq!(AttributePath::root("scopes").index(2).to_string(), "scopes[2]");
        assert_eq!(
            AttributePath::root("tags").key("env").to_string(),
            "tags[\"env\"]"
        );
    }

    #[test]
    fn only_errors_count_as_errors() {
        let mut d = Diagnostics::new();
        d.warning("careful", "");
        assert!(!d.has_errors());
        d.attribute_error(AttributePath::root("x"), "bad", "");
        assert!(d.has_errors());
        assert_eq!(d.to_proto()[1].attribute.as_ref().unwrap().steps.len(), 1);
    }

    #[test]
    fn take_keeps_the_value_or_the_diagnostic() {
        fn operation(diags: &mut Diagnostics, outcome: Result<i64, Diagnostic>) -> Option<i64> {
            let value = diags.take(outcome)?;
            Some(value + 1)
        }
        let mut d = Diagnostics::new();
        assert_eq!(operation(&mut d, Ok(1)), Some(2));
        assert!(d.is_empty());
        assert_eq!(operation(&mut d, Err(Diagnostic::error("gone", "it went"))), None);
        assert_eq!(d.iter().map(|d| d.summary.as_str()).collect::<Vec<_>>(), ["gone"]);
    }
}
